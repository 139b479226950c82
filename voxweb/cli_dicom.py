"""``voxweb dicom ...`` and ``voxweb db ...``: the DICOM database tools of the command line.

``import``, ``check`` and ``synthesize`` work on the database of a data dir (or of
``--database-url`` and ``--storage``); ``db upgrade|version`` on its index schema. Each takes
``--data-dir``/``--config``/``--database-url`` before or after the sub-command, and says in one
line why an index cannot be used. ``cli.py`` adds these commands to the ``voxweb`` parser.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from voxweb.config import ConfigError, Settings


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


def add_dicom_commands(sub: argparse._SubParsersAction) -> None:
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


def data_dir_of(args: argparse.Namespace) -> Path:
    """The data dir a tool command works on: --data-dir (before or after the command),
    else --config / VOXWEB_DATA_DIR, else the per-user default ``serve`` uses too."""
    return _tool_settings(args).resolved_data_dir()


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


def index_problem(settings: Settings) -> str | None:
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


def add_db_commands(sub: argparse._SubParsersAction) -> None:
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
