"""PostgreSQL: byte-order ("C") collation for the text columns, 64-bit file sizes and times.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

QIDO must answer the same on every engine. SQLite compares text byte by byte; PostgreSQL
uses the database's locale, which orders ``'10.5'`` and ``'105'`` (and upper-cases non-ASCII
letters) differently and cannot use a plain index for ``LIKE 'SMI%'``. With ``COLLATE "C"``
the columns sort and upper-case like SQLite, and the existing indexes serve prefix matches
(``PatientName=Smi*``). ``file_size`` and ``created`` become BIGINT (files over 2 GiB, times
past 2038); SQLite's integers are 64-bit already. Nothing changes on SQLite.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TEXT = {
    "patients": {
        "patient_id": 64, "patient_name": 324, "patient_name_ci": 324,
        "patient_birth_date": 8, "patient_sex": 16,
    },
    "studies": {
        "study_uid": 64, "patient_id": 64, "patient_name": 324, "patient_name_ci": 324,
        "patient_name_words": 330, "patient_birth_date": 8, "patient_sex": 16,
        "study_date": 8, "study_time": 16, "accession_number": 64,
        "referring_physician_name": 324, "referring_physician_name_ci": 324,
        "referring_physician_name_words": 330, "study_description": 64, "study_id": 16,
        "specific_character_set": 64, "modalities_in_study": 256,
    },
    "series": {
        "series_uid": 64, "modality": 16, "series_description": 64, "series_date": 8,
        "series_time": 16, "pps_start_date": 8, "pps_start_time": 16, "body_part_examined": 64,
    },
    "instances": {"sop_uid": 64, "sop_class_uid": 64, "transfer_syntax_uid": 64, "sha256": 64},
}  # fmt: skip


def _alter(table: str, clauses: list[str]) -> None:
    # one ALTER TABLE per table: PostgreSQL rewrites the table (and its indexes) once
    op.execute(f"ALTER TABLE {table} " + ", ".join(clauses))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in _TEXT.items():
        clauses = [
            f'ALTER COLUMN {name} TYPE VARCHAR({length}) COLLATE "C"'
            for name, length in columns.items()
        ]
        if table == "instances":
            clauses += ["ALTER COLUMN file_size TYPE BIGINT", "ALTER COLUMN created TYPE BIGINT"]
        _alter(table, clauses)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in _TEXT.items():
        clauses = [
            f'ALTER COLUMN {name} TYPE VARCHAR({length}) COLLATE "default"'
            for name, length in columns.items()
        ]
        if table == "instances":
            clauses += [
                "ALTER COLUMN file_size TYPE INTEGER",
                "ALTER COLUMN created TYPE INTEGER",
            ]
        _alter(table, clauses)
