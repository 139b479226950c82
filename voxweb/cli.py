"""The ``voxweb`` command: ``voxweb serve`` and, later, data tools.

Flags only override what the user actually typed: every flag defaults to "not given", so
the config file and ``VOXWEB_*`` variables keep their say (see ``config.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voxweb import __version__
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
    problem = None if settings.disable_dicom else _index_problem(settings)
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


def _database_options(parser: argparse.ArgumentParser, default: object) -> None:
    """``--data-dir`` and ``--config``, taken before and after the ``dicom`` sub-command.

    The sub-commands' copies default to ``SUPPRESS`` so they leave a value given before the
    sub-command alone.
    """
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help="data dir holding the database (default: per-user)",
    )
    parser.add_argument(
        "--config", metavar="FILE", default=default, help="TOML settings file (for data_dir)"
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        default=default,
        help="the DICOM index on PostgreSQL (postgresql://user@host:port/db), as the server's",
    )


def _dicom_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dicom", help="DICOM database tools (import, check, synthesize)")
    _database_options(p, None)
    dsub = p.add_subparsers(dest="dicom_command", required=True)
    imp = dsub.add_parser(
        "import",
        help="import files, folders, zip files and DICOMDIRs",
        description="Import DICOM files into the database. Folders are walked recursively; "
        "zip files and DICOMDIRs are read. Identical duplicates are skipped; an instance "
        "with a known SOPInstanceUID but different bytes is refused unless --replace.",
    )
    _database_options(imp, argparse.SUPPRESS)
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument(
        "--link", action="store_true", help="reference files in place instead of copying them"
    )
    imp.add_argument(
        "--replace", action="store_true", help="replace instances whose content changed"
    )
    imp.add_argument("--quiet", action="store_true", help="no progress display")
    imp.set_defaults(func=_index_tool(_dicom_import))
    chk = dsub.add_parser("check", help="verify the index against the stored files")
    _database_options(chk, argparse.SUPPRESS)
    chk.add_argument("--repair", action="store_true", help="fix what the check finds")
    chk.add_argument(
        "--min-age",
        type=float,
        default=60.0,
        metavar="S",
        help="leave files younger than this alone (an ingest may be writing them; default 60)",
    )
    chk.set_defaults(func=_index_tool(_dicom_check))
    _synthesize_parser(dsub)


def _data_dir(args: argparse.Namespace) -> Path:
    """The data dir a tool command works on: --data-dir (before or after the command),
    else --config / VOXWEB_DATA_DIR, else the per-user default ``serve`` uses too."""
    data_dir = getattr(args, "data_dir", None) or args.top_data_dir
    flags = {"data_dir": data_dir} if data_dir else {}
    return Settings.load(flags, config_file=getattr(args, "config", None)).resolved_data_dir()


def _tool_settings(args: argparse.Namespace) -> Settings:
    """Settings of a database tool: --data-dir and --database-url (before or after the
    command), else --config / VOXWEB_*, else the defaults ``serve`` uses too."""
    flags = {
        "data_dir": getattr(args, "data_dir", None) or args.top_data_dir,
        "database_url": getattr(args, "database_url", None),
    }
    return Settings.load(flags, config_file=getattr(args, "config", None))


def _open_dicom_database(args: argparse.Namespace):  # noqa: ANN202
    from voxweb.dicom import DicomDatabase

    settings = _tool_settings(args)
    return DicomDatabase(
        settings.resolved_data_dir(), index_url=settings.database_url, store_root=settings.storage
    )


def _index_problem(settings: Settings) -> str | None:
    """Why the DICOM index cannot be used as it is (None: it can; made if new)."""
    from voxweb.dicom.database import index_location
    from voxweb.dicom.index import Index

    try:
        Index(index_location(settings.resolved_data_dir(), settings.database_url)).close()
    except Exception as exc:
        return _index_error(exc, settings)
    return None


def _index_error(exc: Exception, settings: Settings) -> str:
    """A one-line message for an error opening the index; never shows the password."""
    from sqlalchemy.exc import DBAPIError

    from voxweb.dicom.database import index_location
    from voxweb.dicom.dburl import display_url, url_password
    from voxweb.dicom.errors import DicomError

    if isinstance(exc, DicomError):
        return str(exc)
    if not isinstance(exc, (DBAPIError, OSError)):  # a bug: let it show its traceback
        raise exc
    # unreachable server, refused login, unreadable file
    where = display_url(index_location(settings.resolved_data_dir(), settings.database_url))
    first = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    secret = url_password(settings.database_url)
    first = first.replace(secret, "***") if secret else first
    return f"cannot use the DICOM index {where}: {first}"


def _index_tool(func):  # noqa: ANN001, ANN202
    """A ``voxweb dicom|db`` command that says in one line why the index cannot be used."""

    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except ConfigError:
            raise
        except Exception as exc:
            print(f"voxweb: {_index_error(exc, _tool_settings(args))}", file=sys.stderr)
            return 1

    return run


def _db_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "db",
        help="DICOM index schema: version, upgrade",
        description="The DICOM index's schema revision. A server refuses an index at an older "
        "revision on PostgreSQL (SQLite ones are upgraded as they open) or at a revision it "
        "does not know.",
    )
    _database_options(p, None)
    dsub = p.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser(
        "upgrade",
        help="upgrade the index to this voxweb's schema revision (creates an empty one)",
        description="Upgrade the index in place. Back it up first, and stop the servers using "
        "it: they refuse to start on an older revision anyway.",
    )
    _database_options(up, argparse.SUPPRESS)
    up.set_defaults(func=_index_tool(_db_upgrade))
    ver = dsub.add_parser("version", help="print the index's schema revision and this voxweb's")
    _database_options(ver, argparse.SUPPRESS)
    ver.set_defaults(func=_index_tool(_db_version))


def _db_index(args: argparse.Namespace):  # noqa: ANN202
    from voxweb.dicom.database import index_location
    from voxweb.dicom.index import Index

    settings = _tool_settings(args)
    return Index(index_location(settings.resolved_data_dir(), settings.database_url), prepare=False)


def _db_upgrade(args: argparse.Namespace) -> int:
    from voxweb.dicom import schema

    index = _db_index(args)
    try:
        before, after = schema.upgrade(index.engine, index.write)
    finally:
        index.close()
    if before.state == "current":
        print(f"{index.display_url}: already at revision {after.current}")
    else:
        was = before.current or ("empty" if before.state == "empty" else "unrevisioned")
        print(f"{index.display_url}: upgraded from {was} to revision {after.current}")
    return 0


def _db_version(args: argparse.Namespace) -> int:
    from voxweb.dicom import schema

    index = _db_index(args)
    try:
        st = schema.current_status(index.engine)
    finally:
        index.close()
    print(f"index: {index.display_url}")
    print(f"current: {st.current or '-'} ({st.state})")
    print(f"head: {st.head}")
    return 0 if st.state == "current" else 1


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

    data_dir = _data_dir(args)
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

    data_dir = _data_dir(args)
    info = running_server(data_dir)
    if info is None or not info.get("url"):
        print(f"voxweb: no server is running with the data dir {data_dir}", file=sys.stderr)
        return 1
    base = str(info["url"]).rstrip("/")
    token = read_token(data_dir) if info.get("auth", "token") == "token" else None
    print(f"{base}/?token={token}" if token else f"{base}/")
    return 0


def _dicom_import(args: argparse.Namespace) -> int:
    import time
    import warnings

    from voxweb.dicom.ingest import _iter_sources

    logging.getLogger("pydicom").setLevel(logging.ERROR)  # the error report says it all
    warnings.filterwarnings("ignore", module="pydicom")
    db = _open_dicom_database(args)
    show = not args.quiet
    total = sum(1 for _ in _iter_sources(args.paths)) if show else 0
    counts = {"stored": 0, "replaced": 0, "duplicate": 0, "failed": 0}
    last = [0.0]

    def progress(done: int, result) -> None:  # noqa: ANN001
        counts[result.status] = counts.get(result.status, 0) + 1
        now = time.monotonic()
        if show and (now - last[0] > 0.2 or done == total):
            last[0] = now
            width = 30
            filled = int(width * done / total) if total else width
            print(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files  "
                f"stored {counts['stored']}  duplicates {counts['duplicate']}  "
                f"failed {counts['failed']}",
                end="",
                file=sys.stderr,
                flush=True,
            )

    try:
        report = db.import_paths(
            args.paths,
            link=args.link,
            policy="replace" if args.replace else None,
            progress=progress,
        )
    finally:
        db.close()
    if show:
        print(file=sys.stderr)
    print(
        f"imported {report.stored} new, {report.replaced} replaced, "
        f"{report.duplicates} duplicates, {report.failed} failed ({report.total} files)"
    )
    for source, reason in report.errors:
        print(f"  failed: {source}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


def _dicom_check(args: argparse.Namespace) -> int:
    db = _open_dicom_database(args)
    try:
        rep = db.check(repair=args.repair, min_age_s=args.min_age)
    finally:
        db.close()
    print(f"{rep.instances} instances indexed")
    for label, items in (
        ("missing file", rep.missing),
        ("size mismatch", rep.size_mismatch),
        ("orphan file", rep.orphans),
        ("temporary file", rep.temp_files),
    ):
        for item in items:
            print(f"  {label}: {item}")
    for line in rep.repaired:
        print(f"  repaired: {line}")
    if rep.ok:
        print("index and storage agree")
        return 0
    return 0 if args.repair else 1


def _synthesize_parser(dsub: argparse._SubParsersAction) -> None:
    p = dsub.add_parser(
        "synthesize",
        help="fill the index with many synthetic studies (scale tests)",
        description="Add N realistic synthetic studies to the index in bulk (about a minute "
        "per 100,000 instances on SQLite). Their instances share one small template file per "
        "modality, linked under <data dir>/dicom/synthetic/: QIDO and metadata answers are "
        "the synthetic studies', frames and thumbnails the template's pixels.",
    )
    _database_options(p, argparse.SUPPRESS)
    p.add_argument("--studies", type=int, required=True, metavar="N")
    p.add_argument("--series-per-study", type=int, default=1, metavar="S", help="default 1")
    p.add_argument("--instances-per-series", type=int, default=5, metavar="I", help="default 5")
    p.add_argument(
        "--seed", type=int, default=0, help="another seed makes other studies (default 0)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_index_tool(_dicom_synthesize))


def _dicom_synthesize(args: argparse.Namespace) -> int:
    from voxweb.dicom import DicomDatabase
    from voxweb.dicom.bulkload import AlreadySynthesized, Plan, synthesize

    try:
        plan = Plan(args.studies, args.series_per_study, args.instances_per_series, args.seed)
    except ValueError as exc:
        print(f"voxweb: {exc}", file=sys.stderr)
        return 2
    settings = _tool_settings(args)
    db = DicomDatabase(
        settings.resolved_data_dir(),
        index_url=settings.database_url,
        store_root=settings.storage,
        fsync=False,
    )

    def progress(done) -> None:  # noqa: ANN001
        if not args.quiet:
            print(
                f"\r{done.studies}/{plan.studies} studies, {done.instances} instances, "
                f"{done.rows_per_second:,.0f} rows/s",
                end="",
                file=sys.stderr,
                flush=True,
            )

    try:
        done = synthesize(db, plan, progress)
    except AlreadySynthesized as exc:
        print(f"voxweb: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    if not args.quiet:
        print(file=sys.stderr)
    print(
        f"synthesized {done.studies} studies, {done.series} series, {done.instances} instances "
        f"of {done.patients} new patients in {done.seconds:.1f} s "
        f"({done.rows_per_second:,.0f} rows/s, {done.instances / done.seconds:,.0f} instances/s)"
    )
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
    _dicom_parser(sub)
    _db_parser(sub)
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
