"""Alembic migrations of the DICOM index schema (``env.py`` and ``versions/``).

Run through ``voxweb.dicom.schema`` (configured in code: no ``alembic.ini`` at run time), or,
for writing a new revision, by the alembic command with ``-x url=...``:
``alembic -c voxweb/dicom/migrations/alembic.ini revision -m "..."``. A revision is frozen
once released: it spells out its tables and columns instead of importing ``index.metadata``.
"""
