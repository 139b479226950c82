"""The API token kept in the data dir, so scripts and restarts share one token.

``voxweb serve`` reuses the data dir's ``token`` file when it holds a usable token, and
writes a new one (0600) when it does not or when told ``--new-token``; ``--token T`` wins
over both. ``voxweb token`` prints it, ``voxweb token --rotate`` replaces it, ``voxweb url``
reads ``server.json`` to print the address of the running server.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

TOKEN_FILE = "token"
SERVER_FILE = "server.json"

# What voxweb makes (url-safe base64) and what --token may reasonably be; anything else in
# the file (an editor's leftovers, a truncated write) is not reused.
_USABLE = re.compile(r"^[A-Za-z0-9._~+/=-]{16,512}$")


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def token_path(data_dir: Path) -> Path:
    return Path(data_dir) / TOKEN_FILE


def read_token(data_dir: Path) -> str | None:
    """The token stored in ``data_dir``, or None when there is none or it is not usable."""
    path = token_path(data_dir)
    try:
        if not path.is_file():
            return None
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if _USABLE.match(text) else None


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (created 0600, never world-readable in between)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_token(data_dir: Path, token: str) -> Path:
    path = token_path(data_dir)
    write_private(path, token + "\n")
    return path


def running_server(data_dir: Path) -> dict | None:
    """What ``server.json`` says about the server using ``data_dir``, if it still runs."""
    try:
        info = json.loads((Path(data_dir) / SERVER_FILE).read_text())
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # left behind by a server that was killed
    except PermissionError:
        pass  # alive, but another user's
    return info
