"""The index as voxweb made it before schema revisions: patients, studies, series, instances.

Revision ID: 0001
Revises:
Create Date: 2026-12-04

Databases made by that code have these tables but no ``alembic_version``: ``schema.py`` checks
their columns, adds any of ``INDEXES`` an even older build did not make, and stamps them 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# (name, table, columns, unique)
INDEXES = [
    ("ix_studies_patient_fk", "studies", ["patient_fk"], False),
    ("ix_studies_patient_id", "studies", ["patient_id"], False),
    ("ix_studies_patient_name_ci", "studies", ["patient_name_ci"], False),
    ("ix_studies_study_date", "studies", ["study_date"], False),
    ("ix_studies_accession_number", "studies", ["accession_number"], False),
    ("ix_studies_order", "studies", ["study_date", "study_time", "pk"], False),
    ("ix_series_study_modality", "series", ["study_fk", "modality"], False),
    ("ix_instances_study_fk", "instances", ["study_fk"], False),
    ("ix_instances_series_number", "instances", ["series_fk", "instance_number"], False),
]

# The columns each table must have for a database without alembic_version to count as 0001.
COLUMNS = {
    "patients": {
        "pk", "patient_id", "patient_name", "patient_name_ci", "patient_birth_date",
        "patient_sex", "num_studies",
    },
    "studies": {
        "pk", "study_uid", "patient_fk", "patient_id", "patient_name", "patient_name_ci",
        "patient_name_words", "patient_birth_date", "patient_sex", "study_date", "study_time",
        "accession_number", "referring_physician_name", "referring_physician_name_ci",
        "referring_physician_name_words", "study_description", "study_id",
        "specific_character_set", "modalities_in_study", "num_series", "num_instances",
    },
    "series": {
        "pk", "series_uid", "study_fk", "modality", "series_number", "series_description",
        "series_date", "series_time", "pps_start_date", "pps_start_time", "body_part_examined",
        "num_instances",
    },
    "instances": {
        "pk", "sop_uid", "series_fk", "study_fk", "sop_class_uid", "instance_number", "rows",
        "columns", "bits_allocated", "bits_stored", "high_bit", "samples_per_pixel",
        "number_of_frames", "transfer_syntax_uid", "path", "linked", "file_size", "sha256",
        "json", "frames", "bulk", "created",
    },
}  # fmt: skip


def _str(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False)


def _int(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("pk", sa.Integer(), primary_key=True),
        sa.Column("patient_id", sa.String(64), nullable=False, unique=True),
        _str("patient_name", 324),
        _str("patient_name_ci", 324),
        _str("patient_birth_date", 8),
        _str("patient_sex", 16),
        _int("num_studies"),
    )
    op.create_table(
        "studies",
        sa.Column("pk", sa.Integer(), primary_key=True),
        sa.Column("study_uid", sa.String(64), nullable=False, unique=True),
        sa.Column("patient_fk", sa.Integer(), sa.ForeignKey("patients.pk"), nullable=False),
        _str("patient_id", 64),
        _str("patient_name", 324),
        _str("patient_name_ci", 324),
        _str("patient_name_words", 330),
        _str("patient_birth_date", 8),
        _str("patient_sex", 16),
        _str("study_date", 8),
        _str("study_time", 16),
        _str("accession_number", 64),
        _str("referring_physician_name", 324),
        _str("referring_physician_name_ci", 324),
        _str("referring_physician_name_words", 330),
        _str("study_description", 64),
        _str("study_id", 16),
        _str("specific_character_set", 64),
        _str("modalities_in_study", 256),
        _int("num_series"),
        _int("num_instances"),
    )
    op.create_table(
        "series",
        sa.Column("pk", sa.Integer(), primary_key=True),
        sa.Column("series_uid", sa.String(64), nullable=False, unique=True),
        sa.Column("study_fk", sa.Integer(), sa.ForeignKey("studies.pk"), nullable=False),
        _str("modality", 16),
        _int("series_number", nullable=True),
        _str("series_description", 64),
        _str("series_date", 8),
        _str("series_time", 16),
        _str("pps_start_date", 8),
        _str("pps_start_time", 16),
        _str("body_part_examined", 64),
        _int("num_instances"),
    )
    op.create_table(
        "instances",
        sa.Column("pk", sa.Integer(), primary_key=True),
        sa.Column("sop_uid", sa.String(64), nullable=False, unique=True),
        sa.Column("series_fk", sa.Integer(), sa.ForeignKey("series.pk"), nullable=False),
        sa.Column("study_fk", sa.Integer(), sa.ForeignKey("studies.pk"), nullable=False),
        _str("sop_class_uid", 64),
        _int("instance_number", nullable=True),
        _int("rows", nullable=True),
        _int("columns", nullable=True),
        _int("bits_allocated", nullable=True),
        _int("bits_stored", nullable=True),
        _int("high_bit", nullable=True),
        _int("samples_per_pixel", nullable=True),
        _int("number_of_frames", nullable=True),
        _str("transfer_syntax_uid", 64),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("linked", sa.Boolean(), nullable=False),
        _int("file_size"),
        _str("sha256", 64),
        sa.Column("json", sa.Text(), nullable=False),
        sa.Column("frames", sa.Text(), nullable=True),
        sa.Column("bulk", sa.Text(), nullable=False),
        _int("created"),
    )
    for name, table, columns, unique in INDEXES:
        op.create_index(name, table, columns, unique=unique)


def downgrade() -> None:
    for table in ("instances", "series", "studies", "patients"):
        op.drop_table(table)
