"""Batch ingest (one STOW-RS request): same outcomes as one by one, one file-system sync."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dicom.helpers import make_instance
from voxweb.dicom import DicomDatabase


@pytest.fixture
def db(tmp_path, index_url):
    database = DicomDatabase(
        tmp_path / "data", index_url=index_url, fsync=True
    )  # the batch path syncs
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


# -- one transaction per batch gives the same database as one instance at a time ---------------
_PATIENTS = ("P1", "P2")
_STUDIES = ("1.2.826.0.1.3680043.10.1", "1.2.826.0.1.3680043.10.2", "1.2.826.0.1.3680043.10.3")
_SERIES = tuple(f"1.2.826.0.1.3680043.11.{i}" for i in range(4))
_MODALITIES = ("MR", "CT", "")


def _variant(sop: int, series: int, version: int) -> bytes:
    """Instance ``sop`` of a series; ``version`` changes its bytes but not its UIDs."""
    return make_instance(
        SOPInstanceUID=f"1.2.826.0.1.3680043.12.{sop}",
        SeriesInstanceUID=_SERIES[series],
        StudyInstanceUID=_STUDIES[series % 3],
        PatientID=_PATIENTS[series % 2],
        Modality=_MODALITIES[series % 3],
        InstanceNumber=sop,
        ImageComments=f"version {version}",
    )


def _snapshot(db: DicomDatabase) -> dict[str, list[tuple]]:
    """Every index row by UID (primary keys left out: they only need to be consistent)."""
    from sqlalchemy import select

    from voxweb.dicom.index import instances, patients, series, studies

    with db.index.read() as conn:
        pat = {r.pk: r.patient_id for r in conn.execute(select(patients))}
        st = {r.pk: r.study_uid for r in conn.execute(select(studies))}
        se = {r.pk: r.series_uid for r in conn.execute(select(series))}
        return {
            "patients": sorted(
                (r.patient_id, r.num_studies) for r in conn.execute(select(patients))
            ),
            "studies": sorted(
                (
                    r.study_uid,
                    pat[r.patient_fk],
                    r.num_series,
                    r.num_instances,
                    r.modalities_in_study,
                )
                for r in conn.execute(select(studies))
            ),  # fmt: skip
            "series": sorted(
                (r.series_uid, st[r.study_fk], r.num_instances, r.modality)
                for r in conn.execute(select(series))
            ),
            "instances": sorted(
                (r.sop_uid, se[r.series_fk], st[r.study_fk], r.sha256)
                for r in conn.execute(select(instances))
            ),
        }


_steps = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 1)), min_size=1, max_size=12
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=_steps, second=_steps, policy=st.sampled_from(["refuse", "replace"]))
def test_batches_build_the_same_index_as_single_ingests(
    tmp_path_factory, new_index_url, first, second, policy
):
    # the second batch meets what the first stored: duplicates, conflicts, replacements
    root = tmp_path_factory.mktemp("db")
    one = DicomDatabase(
        root / "one", index_url=new_index_url(), fsync=False, duplicate_policy=policy
    )
    many = DicomDatabase(
        root / "many", index_url=new_index_url(), fsync=False, duplicate_policy=policy
    )
    try:
        for batch in (first, second):
            datas = [_variant(*step) for step in batch]
            singles = [one.ingest_bytes(d) for d in datas]
            batched = many.ingest_many(datas)
            assert [(r.status, r.failure_code) for r in batched] == [
                (r.status, r.failure_code) for r in singles
            ]
            assert _snapshot(many) == _snapshot(one)
        report = many.check(min_age_s=0)
        assert report.ok, report  # no file left behind by refused or replaced instances
    finally:
        one.close()
        many.close()


def test_storing_again_brings_back_a_vanished_file(db):
    a, b = make_instance(PatientID="A"), make_instance(PatientID="B")
    first = db.ingest_many([a, b])
    for res in first:
        db.instance_path(db.index.get_instance(res.sop_uid)).unlink()  # lost behind our back
    assert not db.check(min_age_s=0).ok
    again = db.ingest_many([a, b])
    assert [r.status for r in again] == ["stored", "stored"]
    assert db.index.counts()["instances"] == 2
    for res in again:
        assert db.instance_path(db.index.get_instance(res.sop_uid)).read_bytes() in (a, b)
    assert db.check(min_age_s=0).ok
    single = db.ingest_bytes(a)
    assert single.status == "duplicate"
