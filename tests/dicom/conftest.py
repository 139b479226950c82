"""Fixtures for the DICOM database tests: a fresh database in tmp_path, test-file helpers."""

from __future__ import annotations

import pytest

from voxweb.dicom import DicomDatabase


@pytest.fixture
def db(tmp_path):
    database = DicomDatabase(tmp_path / "data", fsync=False)
    yield database
    database.close()
