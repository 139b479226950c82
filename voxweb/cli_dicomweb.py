"""``voxweb dicomweb``: the command that runs the DICOMweb service alone (many hosts).

Its flags are a subset of ``voxweb serve``'s with the same names and meanings (network,
security, data), plus ``--database-url``, ``--storage`` and ``--token-file``; the scene,
exec, static and Slicer options do not exist here. The service itself is
``voxweb.dicomweb_server``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from voxweb.config import ConfigError, Settings

BOOL = argparse.BooleanOptionalAction
_FLAGS_NOT_SETTINGS = ("func", "command", "config", "top_data_dir", "token_file")


def add_dicomweb_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dicomweb",
        help="run only the DICOMweb service (stateless; several hosts on one database)",
        description="Serve /dicom (QIDO-RS, WADO-RS, WADO-URI, STOW-RS, DELETE) and /healthz, "
        "nothing else, from a DICOM index (--database-url) and an instance folder (--storage). "
        "Hosts sharing both serve one database. Flags mean what they mean for `voxweb serve`; "
        "each can also be set in the --config TOML file or as VOXWEB_<NAME>.",
    )
    p.add_argument("--config", metavar="FILE", help="TOML settings file")
    data = p.add_argument_group("data")
    data.add_argument(
        "--database-url",
        metavar="URL",
        help="the DICOM index, e.g. postgresql+psycopg://voxweb@db/voxweb (default: SQLite "
        "in the data dir, for processes on one host only)",
    )
    data.add_argument(
        "--storage",
        metavar="DIR",
        help="folder of the instance files, shared by all hosts (default: <data-dir>/dicom/store)",
    )
    data.add_argument("--data-dir", metavar="DIR", help="token file and default database")
    data.add_argument("--dicom-delete", action=BOOL, help="allow DICOMweb DELETE (off: 405)")
    net = p.add_argument_group("network")
    net.add_argument("--host", help="address to bind (default 127.0.0.1)")
    net.add_argument("--port", type=int, help="port (default 2016)")
    net.add_argument(
        "--port-tries",
        type=int,
        help="ports to try from --port (default 1: a balancer expects the port it was given)",
    )
    net.add_argument("--certfile", help="TLS certificate (PEM) for HTTPS")
    net.add_argument("--keyfile", help="TLS private key (PEM) for HTTPS")
    net.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="another Host name this server answers to, e.g. the balancer's (repeatable)",
    )
    sec = p.add_argument_group("security")
    sec.add_argument(
        "--auth", choices=["token", "none"], help="token (default) or none (loopback only)"
    )
    sec.add_argument("--token", help="API token (all hosts behind one balancer share it)")
    sec.add_argument(
        "--token-file",
        metavar="FILE",
        help="read the API token from this file (e.g. a deployment secret)",
    )
    sec.add_argument(
        "--new-token", action=BOOL, help="make a new token instead of the data dir's token file"
    )
    sec.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow this browser origin, e.g. https://viewer.example.org (repeatable)",
    )
    sec.add_argument("--max-body-size", help="largest request body, e.g. 4G (default 4G)")
    sec.add_argument("--header-timeout", type=float, help="seconds to receive a header")
    sec.add_argument("--body-timeout", type=float, help="seconds a request body may stall")
    perf = p.add_argument_group("performance")
    perf.add_argument(
        "--ingest-processes",
        type=int,
        help="worker processes that store STOW-RS uploads (default: cores, at most 4, + 1)",
    )
    perf.add_argument("--memory-reuse-size", help="freed memory kept for reuse (0 = off)")
    perf.add_argument("--log-console", action=BOOL, help="print the access log to the console")
    p.set_defaults(func=run_dicomweb)


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
    from voxweb.server import PortUnavailableError, reuse_large_allocations

    settings = dicomweb_settings(args)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if settings.log_console else logging.WARNING)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(console)
    logging.getLogger("voxweb").setLevel(logging.INFO)
    if settings.memory_reuse_size:
        reuse_large_allocations(settings.memory_reuse_size)
    if settings.ingest_processes is None:
        from voxweb.dicom.workers import default_processes

        settings.ingest_processes = default_processes()
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
