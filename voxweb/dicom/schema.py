"""The index schema's revision: recognise, create, stamp and upgrade it (Alembic).

The revisions live in ``voxweb/dicom/migrations/versions``; Alembic is configured here in code.
``prepare`` runs whenever an ``Index`` opens: a database at ``HEAD`` costs one query; an
empty one is created at ``HEAD``; one made before schema revisions (the tables, no
``alembic_version``) is recognised by its columns and stamped. On SQLite (one data dir, the
default) older revisions are upgraded on the spot; on PostgreSQL, a database other servers
may share, that is left to ``voxweb db upgrade`` (``upgrade``) and the index refuses to
open with a message saying so. A revision this code does not know (a newer voxweb's) or tables
that are not a voxweb index are always refused. Creation and upgrades run in one transaction
under a lock (``BEGIN IMMEDIATE``, an advisory lock on PostgreSQL), so processes opening the
database at the same time take turns. No HTTP, no file I/O besides the migration scripts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, inspect, text

from voxweb.dicom.dburl import display_url
from voxweb.dicom.errors import IndexSchemaError

log = logging.getLogger(__name__)

HEAD = "0003"  # the newest revision in migrations/versions (a test holds the two together)
INITIAL = "0001"  # what a database made before schema revisions is
TABLES = ("patients", "studies", "series", "instances")
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x766F7877  # pg_advisory_xact_lock key of schema changes ("voxw")

State = Literal["current", "empty", "legacy", "old", "unknown", "foreign"]


@dataclass(frozen=True)
class SchemaStatus:
    """What a database holds: ``state`` and the revision it is at (None: no revision table)."""

    state: State
    current: str | None
    head: str = HEAD
    detail: str = ""


def _alembic_config(conn: Connection | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def known_revisions() -> list[str]:
    """Every revision of the scripts, oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_alembic_config())
    return [s.revision for s in reversed(list(scripts.walk_revisions()))]


def script_head() -> str:
    """The head revision according to the scripts (``HEAD`` says the same; tested)."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(_alembic_config()).get_current_head())


def _version(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return ",".join(rows) if rows else None


def status(conn: Connection) -> SchemaStatus:
    """Inspect the database on ``conn``: its revision and what that means for this code."""
    current = _version(conn)
    if current == HEAD:
        return SchemaStatus("current", current)
    if current is not None:
        if current in known_revisions():
            return SchemaStatus("old", current)
        return SchemaStatus("unknown", current)
    names = set(inspect(conn).get_table_names()) - {"alembic_version"}
    if not names:
        return SchemaStatus("empty", None)
    ours = names & set(TABLES)
    if not ours:
        return SchemaStatus("foreign", None, detail=", ".join(sorted(names)[:8]))
    from voxweb.dicom.migrations.versions.r0001_initial import COLUMNS

    insp = inspect(conn)
    for table in TABLES:
        if table not in names:
            return SchemaStatus("foreign", None, detail=f"no table {table!r}")
        have = {c["name"] for c in insp.get_columns(table)}
        missing = COLUMNS[table] - have
        if missing:
            return SchemaStatus(
                "foreign", None, detail=f"table {table!r} lacks {', '.join(sorted(missing))}"
            )
    return SchemaStatus("legacy", None)


def _refusal(st: SchemaStatus, where: str) -> IndexSchemaError:
    if st.state == "unknown":
        return IndexSchemaError(
            f"the DICOM index {where} is at schema revision {st.current}, which this voxweb "
            f"does not know (it knows revisions up to {HEAD}): a newer voxweb made or upgraded "
            "it. Run that newer voxweb, or give this one another database (--database-url or "
            "--data-dir)."
        )
    if st.state == "foreign":
        return IndexSchemaError(
            f"the database {where} is not a voxweb DICOM index ({st.detail}): give voxweb an "
            "empty database of its own (--database-url or --data-dir)."
        )
    revision = st.current or f"{INITIAL} (made before schema revisions)"
    return IndexSchemaError(
        f"the DICOM index {where} is at schema revision {revision}; this voxweb needs {HEAD}. "
        f"Back it up and run `voxweb db upgrade --database-url '{where}'` (stop other servers "
        "using it first), then start again."
    )


def _locked(conn: Connection) -> None:
    """Make ``conn``'s transaction the only one changing the schema (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def _migrate(conn: Connection, st: SchemaStatus) -> None:
    """Bring the database on ``conn`` (in a transaction) from ``st`` to ``HEAD``."""
    from alembic import command

    cfg = _alembic_config(conn)
    if st.state == "legacy":
        _add_missing_initial_indexes(conn)
        command.stamp(cfg, INITIAL)
    command.upgrade(cfg, "head")


def _add_missing_initial_indexes(conn: Connection) -> None:
    from voxweb.dicom.migrations.versions.r0001_initial import INDEXES

    for name, table, columns, unique in INDEXES:
        conn.execute(
            text(
                f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {name} "
                f"ON {table} ({', '.join(columns)})"
            )
        )


def is_current(engine: Engine) -> bool:
    """True when the database is at ``HEAD`` (one query: the path of every open)."""
    with engine.connect() as conn:
        return _version(conn) == HEAD


def prepare(engine: Engine, write: Any) -> None:
    """Make the database usable by this code, or raise ``IndexSchemaError`` saying why not.

    ``write()`` opens the index's write transaction (``BEGIN IMMEDIATE`` on SQLite).
    """
    if is_current(engine):
        return
    sqlite = engine.dialect.name == "sqlite"
    with write() as conn:
        _locked(conn)
        st = status(conn)  # again, under the lock: another process may have done it
        if st.state == "current":
            return
        automatic = st.state == "empty" or (sqlite and st.state in ("legacy", "old"))
        if not automatic:
            raise _refusal(st, display_url(engine.url))
        log.info(
            "DICOM index %s: %s -> schema revision %s",
            display_url(engine.url),
            "new database" if st.state == "empty" else st.current or "unrevisioned",
            HEAD,
        )
        _migrate(conn, st)


def upgrade(engine: Engine, write: Any) -> tuple[SchemaStatus, SchemaStatus]:
    """``voxweb db upgrade``: any known older state to ``HEAD``; returns (before, after)."""
    with write() as conn:
        _locked(conn)
        before = status(conn)
        if before.state in ("unknown", "foreign"):
            raise _refusal(before, display_url(engine.url))
        if before.state != "current":
            _migrate(conn, before)
        after = status(conn)
    return before, after


def current_status(engine: Engine) -> SchemaStatus:
    """``voxweb db version``: the database's status, changing nothing."""
    with engine.connect() as conn:
        return status(conn)
