"""Batch ingest (one STOW-RS request): same outcomes as one by one, one file-system sync."""

from __future__ import annotations

import pytest

from tests.dicom.helpers import make_instance
from voxweb.dicom import DicomDatabase


@pytest.fixture
def db(tmp_path):
    database = DicomDatabase(tmp_path / "data", fsync=True)  # the batch path syncs
    yield database
    database.close()


def test_batch_outcomes_match_single_ingest(db):
    a = make_instance(PatientID="A")
    b = make_instance(PatientID="B")
    same_uid_other_bytes = make_instance(
        PatientID="C", SOPInstanceUID=_sop(a), StudyInstanceUID=_study(a)
    )
    results = db.ingest_many([a, b, a, b"junk", same_uid_other_bytes])
    assert [r.status for r in results] == ["stored", "stored", "duplicate", "failed", "failed"]
    assert results[4].failure_code == 0x0111
    assert db.index.counts()["instances"] == 2
    report = db.check(min_age_s=0)
    assert report.ok, report  # no orphan file left by the refused instance
    again = db.ingest_many([a, b])
    assert [r.status for r in again] == ["duplicate", "duplicate"]
    wrong_study = db.ingest_many([make_instance(), make_instance()], expected_study_uid="1.2.3")
    assert {r.failure_code for r in wrong_study} == {0xA900}


def _sop(data: bytes) -> str:
    import io

    import pydicom

    return str(pydicom.dcmread(io.BytesIO(data)).SOPInstanceUID)


def _study(data: bytes) -> str:
    import io

    import pydicom

    return str(pydicom.dcmread(io.BytesIO(data)).StudyInstanceUID)
