"""The ``voxweb`` command: ``voxweb serve`` and, later, data tools.

Flags only override what the user actually typed: every flag defaults to "not given", so
the config file and ``VOXWEB_*`` variables keep their say (see ``config.py``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from voxweb import __version__
from voxweb.config import ConfigError, Settings
from voxweb.datadir import use_private_umask

BOOL = argparse.BooleanOptionalAction


def _serve_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the server",
        description="Run voxweb. Every flag can also be set in the --config TOML file or as "
        "VOXWEB_<NAME> in the environment (flags win over env, env over the file).",
    )
    p.add_argument("--config", metavar="FILE", help="TOML settings file")
    net = p.add_argument_group("network")
    net.add_argument("--host", help="address to bind (default 127.0.0.1)")
    net.add_argument(
        "--port", type=int, help="port (default 2016; the next free one is used if busy)"
    )
    net.add_argument(
        "--port-tries", type=int, help="how many ports to try from --port (default 50)"
    )
    net.add_argument("--certfile", help="TLS certificate (PEM) for HTTPS")
    net.add_argument("--keyfile", help="TLS private key (PEM) for HTTPS")
    net.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="another Host name this server answers to (repeatable)",
    )
    sec = p.add_argument_group("security")
    sec.add_argument(
        "--auth",
        choices=["token", "none"],
        help="token (default) or none; none is refused unless --host is loopback",
    )
    sec.add_argument(
        "--token",
        help="API token (default: the data dir's token file, else a new random 256-bit token)",
    )
    sec.add_argument(
        "--new-token",
        action=BOOL,
        help="make a new token instead of reusing the data dir's token file",
    )
    sec.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow this browser origin, e.g. https://volview.netlify.app (repeatable)",
    )
    sec.add_argument("--static-auth", action=BOOL, help="require the token for static pages too")
    sec.add_argument("--max-body-size", help="largest request body, e.g. 4G (default 4G)")
    sec.add_argument(
        "--max-volume-size",
        help="most voxel data one volume, segmentation, displacement field or DICOM series may "
        "declare, e.g. 8G (default 4G); larger files are refused before any memory is used",
    )
    sec.add_argument(
        "--header-timeout", type=float, help="seconds to receive a request header (default 10)"
    )
    sec.add_argument(
        "--body-timeout", type=float, help="seconds a request body may stall (default 60)"
    )
    apis = p.add_argument_group("APIs")
    apis.add_argument(
        "--enable-exec", action=BOOL, help="allow /slicer/exec (remote Python); off by default"
    )
    apis.add_argument(
        "--exec-timeout", type=float, help="seconds an exec script may run (default 60)"
    )
    apis.add_argument("--disable-slicer", action=BOOL, help="turn off the /slicer API")
    apis.add_argument("--disable-dicom", action=BOOL, help="turn off the /dicom API")
    apis.add_argument("--disable-static", action=BOOL, help="turn off static pages")
    apis.add_argument(
        "--dicom-delete",
        action=BOOL,
        help="allow DICOMweb DELETE of studies, series and instances (off: 405)",
    )
    files = p.add_argument_group("files")
    files.add_argument(
        "--docroot", metavar="DIR", help="static pages (default: the packaged control panel)"
    )
    files.add_argument(
        "--ohif",
        metavar="DIR",
        help="serve this prebuilt OHIF v3 viewer (the dist/ folder of @ohif/app) at /browse",
    )
    files.add_argument(
        "--data-dir", metavar="DIR", help="database, caches and token file (default: per-user)"
    )
    files.add_argument(
        "--directory-listing", action=BOOL, help="list docroot folders without index.html"
    )
    files.add_argument(
        "--file-root",
        action="append",
        metavar="DIR",
        help="a folder clients may read and write by path (repeatable; none by default)",
    )
    files.add_argument(
        "--allow-url-fetch", action=BOOL, help="let clients load data from http(s) URLs"
    )
    files.add_argument(
        "--allow-private-urls",
        action=BOOL,
        help="with --allow-url-fetch, also fetch from loopback/private addresses",
    )
    files.add_argument(
        "--url-private-host",
        action="append",
        metavar="HOST",
        help="a host that may be fetched although it resolves to a private address",
    )
    files.add_argument(
        "--sample",
        action="append",
        metavar="NAME",
        help="load this sample data set at start, e.g. MRHead (repeatable)",
    )
    files.add_argument(
        "--sample-download",
        action=BOOL,
        help="download sample data when online (default on; offline copies otherwise)",
    )
    render = p.add_argument_group("rendering")
    render.add_argument(
        "--render-backend",
        choices=["auto", "vtk", "numpy"],
        help="3-D renderer: VTK offscreen (EGL), the numpy ray caster, or auto (VTK when a GL "
        "context can be made)",
    )
    render.add_argument(
        "--auto-volume-rendering",
        action=BOOL,
        help="show the first volume of an empty scene in the 3-D views (default on)",
    )
    other_perf = p.add_argument_group("performance")
    other_perf.add_argument(
        "--memory-reuse-size",
        help="freed memory kept for reuse instead of returned to the OS, e.g. 512M (0 = off; "
        "Linux). Saves the page faults of every large upload and render buffer",
    )
    other_perf.add_argument(
        "--ingest-processes",
        type=int,
        help="worker processes that store STOW-RS uploads in parallel (default: one per core, "
        "counting at most 4, plus one; 0 = in the server process)",
    )
    other = p.add_argument_group("other")
    other.add_argument("--log-console", action=BOOL, help="print the access log to the console")
    other.add_argument("--open", action=BOOL, help="open the control panel in the system browser")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    from voxweb.logring import RedactFilter
    from voxweb.server import PortUnavailableError, Server, reuse_large_allocations

    flags = {
        k: v
        for k, v in vars(args).items()
        if k not in ("func", "command", "config", "top_data_dir")
    }
    flags["data_dir"] = flags.get("data_dir") or args.top_data_dir
    settings = Settings.load(flags, config_file=args.config)
    # The console shows warnings, plus the access log and info with --log-console; the
    # in-memory log the control panel follows gets info either way.
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if settings.log_console else logging.WARNING)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(console)
    logging.getLogger("voxweb").setLevel(logging.INFO)
    if settings.memory_reuse_size:
        reuse_large_allocations(settings.memory_reuse_size)
    if settings.ingest_processes is None:
        # the command starts workers by default; an embedding script opts in (a spawned
        # worker imports the script's __main__, which then needs its `if __name__` guard)
        from voxweb.dicom.workers import default_processes

        settings.ingest_processes = default_processes()
    try:
        server = Server(settings)
        console.addFilter(RedactFilter(server.ctx.log.redact))
        server.run(announce=True)
    except PortUnavailableError as exc:
        print(f"voxweb: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # Ctrl-C is how a server in a terminal is stopped: a clean end, not an error (130
        # made `make serve` print "Error 130"). SIGTERM still ends the process by the signal.
        return 0
    return 0


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
    imp.set_defaults(func=_dicom_import)
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
    chk.set_defaults(func=_dicom_check)
    _synthesize_parser(dsub)


def _data_dir(args: argparse.Namespace) -> Path:
    """The data dir a tool command works on: --data-dir (before or after the command),
    else --config / VOXWEB_DATA_DIR, else the per-user default ``serve`` uses too."""
    data_dir = getattr(args, "data_dir", None) or args.top_data_dir
    flags = {"data_dir": data_dir} if data_dir else {}
    return Settings.load(flags, config_file=getattr(args, "config", None)).resolved_data_dir()


def _open_dicom_database(args: argparse.Namespace):  # noqa: ANN202
    from voxweb.dicom import DicomDatabase

    return DicomDatabase(_data_dir(args))


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
    p.add_argument(
        "--database-url",
        metavar="URL",
        help="index database (e.g. postgresql://user@host/db; default: the data dir's SQLite)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_dicom_synthesize)


def _dicom_synthesize(args: argparse.Namespace) -> int:
    from voxweb.dicom import DicomDatabase
    from voxweb.dicom.bulkload import AlreadySynthesized, Plan, synthesize

    try:
        plan = Plan(args.studies, args.series_per_study, args.instances_per_series, args.seed)
    except ValueError as exc:
        print(f"voxweb: {exc}", file=sys.stderr)
        return 2
    url = args.database_url
    if url and url.split("://")[0] in ("postgresql", "postgres"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # the driver voxweb installs
    db = DicomDatabase(_data_dir(args), index_url=url, fsync=False)

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
