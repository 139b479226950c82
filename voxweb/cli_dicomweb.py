"""``voxweb dicomweb``: settings and start of the DICOMweb service alone (many hosts).

Its flags (built in ``cli.py``) are ``voxweb serve``'s for the settings named in
``DICOMWEB_SETTINGS`` (network, security, database), plus ``--token-file``; the scene, exec,
static and Slicer options do not exist here. The service itself is
``voxweb.dicomweb_server``. Imports nothing from ``cli.py`` (which imports this).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from voxweb.config import ConfigError, Settings

# the Settings that make sense without a scene: `voxweb serve`'s flags of these names
DICOMWEB_SETTINGS = (
    "host",
    "port",
    "port_tries",
    "certfile",
    "keyfile",
    "allowed_host",
    "auth",
    "token",
    "new_token",
    "cors_origin",
    "max_body_size",
    "header_timeout",
    "body_timeout",
    "dicom_delete",
    "data_dir",
    "database_url",
    "storage",
    "ingest_processes",
    "memory_reuse_size",
    "log_console",
)
_FLAGS_NOT_SETTINGS = ("func", "command", "config", "top_data_dir", "token_file")


def dicomweb_settings(args: argparse.Namespace) -> Settings:
    """Settings from the flags given (over env and config), the service's own defaults, and
    the APIs it never serves switched off."""
    flags = {k: v for k, v in vars(args).items() if k not in _FLAGS_NOT_SETTINGS}
    flags["data_dir"] = flags.get("data_dir") or args.top_data_dir
    if args.token_file:
        try:
            flags["token"] = Path(args.token_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read token_file {args.token_file!r}: {exc}") from None
    flags.update(disable_slicer=True, disable_static=True, enable_exec=False, sample=[])
    settings = Settings.load(flags, config_file=args.config)
    if args.port_tries is None and settings.port_tries == Settings.port_tries:
        settings = dataclasses.replace(settings, port_tries=1).validate()
    return settings


def run_dicomweb(args: argparse.Namespace) -> int:
    from voxweb.dicomweb_server import DicomWebServer
    from voxweb.logring import RedactFilter
    from voxweb.server import PortUnavailableError
    from voxweb.startup import prepare_process, start_console

    settings = dicomweb_settings(args)
    console = start_console(settings)
    prepare_process(settings)
    try:
        server = DicomWebServer(settings)
    except ConfigError:
        raise
    except Exception as exc:  # the database or storage cannot be opened: say so, briefly
        print(f"voxweb: cannot open the DICOM database: {exc}", file=sys.stderr)
        return 1
    console.addFilter(RedactFilter(server.ctx.log.redact))
    try:
        server.run(announce=True)
    except PortUnavailableError as exc:
        print(f"voxweb: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
