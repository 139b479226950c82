"""A throw-away PostgreSQL cluster for tests, from the server binaries Debian installs.

``PostgresCluster(root).start()`` runs ``initdb`` and ``pg_ctl`` in ``root`` (as the ``postgres``
user when we are root: PostgreSQL refuses to run as root), listening on a free loopback port
and a unix socket in ``root``, with ``fsync=off`` (a test cluster need not survive a power
cut). ``create_database()`` makes a fresh database per test, empty or copied from a template
``make_template`` filled once (a tenth of a second); ``drop_database`` removes it, closing what
is still connected. Nothing here knows voxweb.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

_SERVER_USER = "postgres"


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin dir (``VOXWEB_PG_BINDIR`` wins)."""
    given = os.environ.get("VOXWEB_PG_BINDIR")
    if given:
        return Path(given) if (Path(given) / "initdb").is_file() else None
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """One PostgreSQL server in a temporary directory, reachable at ``127.0.0.1:port``.

    ``root`` must be reachable by the ``postgres`` user when we are root (not below a 0700
    directory such as pytest's ``tmp_path``): ``make_root`` makes one in the system temp dir.
    """

    def __init__(self, root: Path, bindir: Path) -> None:
        self.root = Path(root)
        self.bindir = bindir
        self.datadir = self.root / "pgdata"
        self.port = 0
        self._names = itertools.count(1)
        self._as_other_user = os.geteuid() == 0

    @staticmethod
    def make_root() -> Path:
        return Path(tempfile.mkdtemp(prefix="voxweb-pg-"))

    def _run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = list(cmd)
        if self._as_other_user:
            argv = ["runuser", "-u", _SERVER_USER, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr}")
        return done

    def start(self) -> PostgresCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_other_user:
            user = pwd.getpwnam(_SERVER_USER)
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            "postgres",
            "--auth=trust",  # loopback and a private socket dir only, torn down after the run
            "--encoding=UTF8",
            "--locale=C.UTF-8",  # not the C locale: the index must not rely on the cluster's
            "--no-sync",
        )
        self.port = _free_port()
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        try:
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
        except RuntimeError as exc:
            log = self.root / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{exc}\n{detail}") from exc
        return self

    def stop(self) -> None:
        if self.datadir.exists():
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop",
                check=False,
            )  # fmt: skip

    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(sql)

    def create_database(self, template: str = "template0") -> str:
        """A new database, empty or a copy of ``template``; returns its SQLAlchemy URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def make_template(self, name: str, fill: Callable[[str], None]) -> str:
        """A database ``fill(url)`` prepares once, to copy with ``create_database(name)``."""
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        fill(self.url(name))
        self._admin(f'ALTER DATABASE "{name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
        return name

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with contextlib.suppress(Exception):  # the cluster goes away at the end anyway
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
