"""The ``voxweb`` command: ``serve``, ``dicomweb``, ``token``, ``url`` (``dicom`` and ``db``
are ``cli_dicom.py``'s).

Flags only override what the user actually typed: every flag defaults to "not given", so
the config file and ``VOXWEB_*`` variables keep their say (see ``config.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from collections.abc import Sequence
from typing import Any

from voxweb import __version__
from voxweb.cli_dicom import add_db_commands, add_dicom_commands, data_dir_of, index_problem
from voxweb.cli_dicomweb import DICOMWEB_SETTINGS
from voxweb.config import ConfigError, Settings
from voxweb.datadir import use_private_umask

BOOL = argparse.BooleanOptionalAction


GROUPS = ("network", "security", "APIs", "files", "rendering", "performance", "other")


def _size_text(n: int) -> str:
    for unit, shift in (("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def _help_of(field: dataclasses.Field) -> str:
    """The field's help, with its default appended (written once, in Settings)."""
    text = field.metadata["help"]
    default = field.default
    if not field.metadata["show_default"] or default in (None, False, dataclasses.MISSING):
        return text
    if default is True:
        return f"{text} (default on)"
    if field.name.endswith("_size"):
        return f"{text} (default {_size_text(default)})"
    return (
        f"{text} (default {default:g})"
        if isinstance(default, float)
        else f"{text} (default {default})"
    )


def add_settings_options(
    parser: argparse.ArgumentParser, names: Sequence[str] | None = None
) -> None:
    """One option per Settings field that has a flag (or only ``names``), in help groups.

    Every option defaults to "not given" (None), so the config file and ``VOXWEB_*``
    variables keep their say; ``Settings`` holds the real defaults.
    """
    hints = typing.get_type_hints(Settings)
    fields = [f for f in dataclasses.fields(Settings) if f.metadata.get("flag")]
    if names is not None:
        fields = [f for f in fields if f.name in names]
    groups = {g: parser.add_argument_group(g) for g in GROUPS}
    for field in fields:
        hint = hints[field.name]
        args = [p for p in typing.get_args(hint) if p is not type(None)]
        target = args[0] if args and typing.get_origin(hint) is not typing.Literal else hint
        option: dict[str, Any] = {"help": _help_of(field), "default": None}
        metavar = field.metadata["metavar"] or ("SIZE" if field.name.endswith("_size") else None)
        if metavar:
            option["metavar"] = metavar
        if target is bool:
            option["action"] = BOOL
        elif typing.get_origin(hint) is list:
            option["action"] = "append"
        elif typing.get_origin(hint) is typing.Literal:
            option["choices"] = list(typing.get_args(hint))
        elif target in (int, float) and not field.name.endswith("_size"):
            option["type"] = target  # sizes stay text: "4G" is parsed by Settings
        flag = "--" + field.name.replace("_", "-")
        groups[field.metadata["group"]].add_argument(flag, **option)


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the server",
        description="Run voxweb. Every flag can also be set in the --config TOML file or as "
        "VOXWEB_<NAME> in the environment (flags win over env, env over the file).",
    )
    p.add_argument("--config", metavar="FILE", help="TOML settings file")
    add_settings_options(p)
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from voxweb.logring import RedactFilter
    from voxweb.scaleout.pool import WorkersFailedError
    from voxweb.server import PortUnavailableError, Server
    from voxweb.startup import prepare_process, start_console

    flags = {
        k: v
        for k, v in vars(args).items()
        if k not in ("func", "command", "config", "top_data_dir")
    }
    flags["data_dir"] = flags.get("data_dir") or args.top_data_dir
    settings = Settings.load(flags, config_file=args.config)
    console = start_console(settings)
    prepare_process(settings)
    problem = None if settings.disable_dicom else index_problem(settings)
    if problem:
        print(f"voxweb: {problem}", file=sys.stderr)
        return 2
    try:
        server = Server(settings)
        console.addFilter(RedactFilter(server.ctx.log.redact))
        server.run(announce=True)
    except PortUnavailableError as exc:
        print(f"voxweb: {exc}", file=sys.stderr)
        return 1
    except WorkersFailedError:
        return 1  # the reason is already on the console and in the log
    except KeyboardInterrupt:
        # Ctrl-C is how a server in a terminal is stopped: a clean end, not an error (130
        # made `make serve` print "Error 130"). SIGTERM still ends the process by the signal.
        return 0
    return 0


def _dicomweb_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dicomweb",
        help="run only the DICOMweb service (stateless; several hosts on one database)",
        description="Serve /dicom (QIDO-RS, WADO-RS, WADO-URI, STOW-RS, DELETE) and /healthz, "
        "nothing else, from a DICOM index (--database-url) and an instance folder (--storage). "
        "Hosts sharing both serve one database. Flags mean what they mean for `voxweb serve` "
        "(except --port-tries: 1 by default here, a balancer expects the port it was given); "
        "each can also be set in the --config TOML file or as VOXWEB_<NAME>.",
    )
    p.add_argument("--config", metavar="FILE", help="TOML settings file")
    p.add_argument(
        "--token-file",
        metavar="FILE",
        help="read the API token from this file (e.g. a deployment secret shared by all hosts)",
    )
    add_settings_options(p, DICOMWEB_SETTINGS)
    p.set_defaults(func=_dicomweb)


def _dicomweb(args: argparse.Namespace) -> int:
    from voxweb.cli_dicomweb import run_dicomweb

    return run_dicomweb(args)


def _tool_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR", help="the server's data dir (default: per-user)")
    p.add_argument("--config", metavar="FILE", help="TOML settings file (for data_dir)")


def _token_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "token",
        help="print the API token (or make a new one with --rotate)",
        description="Print the API token kept in the data dir's token file, for scripts: "
        'curl -H "Authorization: Bearer $(voxweb token)" http://127.0.0.1:2016/slicer/mrml. '
        "Makes one if there is none yet; `voxweb serve` uses it on its next start.",
    )
    _tool_options(p)
    p.add_argument(
        "--rotate",
        action="store_true",
        help="replace the token with a new one (refused while a server uses this data dir: "
        "restart it with --new-token instead)",
    )
    p.set_defaults(func=_token)


def _token(args: argparse.Namespace) -> int:
    from voxweb.datadir import make_private_dirs
    from voxweb.tokenfile import new_token, read_token, running_server, write_token

    data_dir = data_dir_of(args)
    token = read_token(data_dir)
    if args.rotate:
        info = running_server(data_dir)
        if info is not None:
            # A running server keeps the token it started with; a new file would make
            # `voxweb token` print a token that server refuses.
            print(
                f"voxweb: a server (pid {info.get('pid')}, {info.get('url')}) is using "
                f"{data_dir}; stop it and rotate again, or restart it with --new-token",
                file=sys.stderr,
            )
            return 1
        token = None
    if token is None:
        make_private_dirs(data_dir)
        token = new_token()
        path = write_token(data_dir, token)
        print(f"voxweb: wrote a new token to {path}", file=sys.stderr)
    print(token)
    return 0


def _url_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "url",
        help="print the address of the running server (with the token) to open in a browser",
    )
    _tool_options(p)
    p.set_defaults(func=_url)


def _url(args: argparse.Namespace) -> int:
    from voxweb.tokenfile import read_token, running_server

    data_dir = data_dir_of(args)
    info = running_server(data_dir)
    if info is None or not info.get("url"):
        print(f"voxweb: no server is running with the data dir {data_dir}", file=sys.stderr)
        return 1
    base = str(info["url"]).rstrip("/")
    token = read_token(data_dir) if info.get("auth", "token") == "token" else None
    print(f"{base}/?token={token}" if token else f"{base}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voxweb", description="Headless medical-imaging application server."
    )
    parser.add_argument("--version", action="version", version=f"voxweb {__version__}")
    parser.add_argument(
        "--data-dir",
        dest="top_data_dir",
        metavar="DIR",
        help="data dir for any command (also accepted after the command)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    add_dicom_commands(sub)
    add_db_commands(sub)
    _dicomweb_parser(sub)
    _token_parser(sub)
    _url_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # The data dir holds patient data and the token: nothing this process (or an ingest
    # worker it spawns, which inherits the umask) creates is for other users to read.
    use_private_umask()
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"voxweb: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
