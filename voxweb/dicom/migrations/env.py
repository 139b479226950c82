"""Alembic's environment for the DICOM index: runs the revisions on a given connection.

``voxweb.dicom.schema`` passes its connection (inside its own transaction and lock) in
``config.attributes["connection"]``. The alembic command line (writing revisions) connects to
``-x url=...`` instead. ``target_metadata`` is the index's current model, for autogenerate.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from voxweb.dicom.dburl import normalize_url
from voxweb.dicom.index import metadata


def _run(connection) -> None:  # noqa: ANN001
    # batch mode: SQLite alters tables by copying them, which autogenerate must write out
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


_given = context.config.attributes.get("connection")
if _given is not None:
    _run(_given)
else:
    _url = context.get_x_argument(as_dictionary=True).get("url")
    if not _url:
        raise SystemExit("give the database: alembic ... -x url=postgresql://... (or sqlite:///)")
    with create_engine(normalize_url(_url)).connect() as _conn:
        _run(_conn)
        _conn.commit()
