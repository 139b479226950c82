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


def _main(config) -> None:  # noqa: ANN001
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("give the database: alembic ... -x url=postgresql://... (or sqlite:///)")
    with create_engine(normalize_url(url)).connect() as conn:
        _run(conn)
        conn.commit()


try:
    _config = context.config
except AttributeError:  # imported as a module (a walk of the package), not run by Alembic
    _config = None
if _config is not None:
    _main(_config)
