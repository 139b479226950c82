"""Concurrent ingest from threads and processes into one data dir loses nothing."""

from __future__ import annotations

import multiprocessing
import threading

from sqlalchemy import func, select

from tests.dicom.helpers import make_instance
from voxweb.dicom import DicomDatabase
from voxweb.dicom.index import instances, series, studies

STUDIES = ["1.2.826.0.1.99.1", "1.2.826.0.1.99.2", "1.2.826.0.1.99.3"]


def _batch(tag: int, n: int) -> list[bytes]:
    out = []
    for i in range(n):
        study = STUDIES[i % len(STUDIES)]
        out.append(
            make_instance(
                StudyInstanceUID=study,
                SeriesInstanceUID=f"{study}.{tag}.{i % 2}",
                SOPInstanceUID=f"{study}.{tag}.{i % 2}.{i}",
                PatientID=f"P{i % len(STUDIES)}",
                Modality=["CT", "MR"][tag % 2],
                InstanceNumber=i,
            )
        )
    return out


def _shared() -> list[bytes]:
    return _batch(99, 10)


def _ingest_all(data_dir: str, items: list[bytes], url: str | None) -> list[str]:
    db = DicomDatabase(data_dir, index_url=url, fsync=True)
    try:
        return [db.ingest_bytes(d).status for d in items]
    finally:
        db.close()


def _process_worker(data_dir: str, tag: int, n: int, url: str | None) -> None:
    statuses = _ingest_all(data_dir, _batch(tag, n) + _shared(), url)
    assert all(s in ("stored", "duplicate") for s in statuses), statuses


def test_threads_and_processes(tmp_path, index_url):
    data_dir = str(tmp_path / "data")
    DicomDatabase(data_dir, index_url=index_url).close()  # the schema, as the server makes it
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_process_worker, args=(data_dir, 10 + p, 40, index_url))
        for p in range(2)
    ]
    for p in procs:
        p.start()
    results: dict[int, list[str]] = {}

    def run(tag: int) -> None:
        results[tag] = _ingest_all(data_dir, _batch(tag, 40) + _shared(), index_url)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    for statuses in results.values():
        assert all(s in ("stored", "duplicate") for s in statuses), statuses
    assert len(results) == 4

    db = DicomDatabase(data_dir, index_url=index_url)
    expected = 6 * 40 + 10
    assert db.index.counts()["instances"] == expected
    assert db.index.counts()["studies"] == len(STUDIES)
    with db.index.read() as conn:
        for st in conn.execute(select(studies)).all():
            n_inst = conn.execute(
                select(func.count()).where(instances.c.study_fk == st.pk)
            ).scalar_one()
            n_ser = conn.execute(
                select(func.count()).where(series.c.study_fk == st.pk)
            ).scalar_one()
            assert (st.num_instances, st.num_series) == (n_inst, n_ser)
            assert st.modalities_in_study == "CT\\MR"
        for se in conn.execute(select(series)).all():
            n_inst = conn.execute(
                select(func.count()).where(instances.c.series_fk == se.pk)
            ).scalar_one()
            assert se.num_instances == n_inst
    assert db.check(min_age_s=0).ok
    assert len(list(db.store.iter_files())) == expected
    db.close()


def test_overlapping_batches_at_the_same_moment(tmp_path, index_url):
    # Six writers store the same new patient, study, series and instances at once (plus one
    # instance of their own): on PostgreSQL they race for the same unique keys. Each instance
    # is stored exactly once, the others see duplicates, and no error reaches a caller.
    shared = [
        make_instance(
            StudyInstanceUID="1.2.826.0.1.98",
            SeriesInstanceUID=f"1.2.826.0.1.98.{i % 3}",
            SOPInstanceUID=f"1.2.826.0.1.98.{i % 3}.{i}",
            PatientID="RACE",
            Modality=["CT", "MR", "PT"][i % 3],
            InstanceNumber=i,
        )
        for i in range(12)
    ]
    dbs = [DicomDatabase(tmp_path / "data", index_url=index_url, fsync=False) for _ in range(6)]
    start = threading.Barrier(len(dbs))
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def run(n: int) -> None:
        own = make_instance(
            StudyInstanceUID="1.2.826.0.1.98",
            SeriesInstanceUID="1.2.826.0.1.98.0",
            SOPInstanceUID=f"1.2.826.0.1.98.0.own{n}",
            PatientID="RACE",
        )
        try:
            start.wait()
            batch = shared[n % 4 :] + [own] + shared[: n % 4]  # different orders
            results[n] = [r.status for r in dbs[n].ingest_many(batch)]
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(dbs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not errors, errors
        statuses = [s for r in results.values() for s in r]
        assert statuses.count("stored") == len(shared) + len(dbs)
        assert statuses.count("duplicate") == len(shared) * (len(dbs) - 1)
        counts = dbs[0].index.counts()
        assert counts == {"patients": 1, "studies": 1, "series": 3, "instances": 18}
        (study,) = dbs[0].search_studies({"PatientID": "RACE"})
        assert study["00080061"]["Value"] == ["CT", "MR", "PT"]
        assert study["00201206"]["Value"] == [3] and study["00201208"]["Value"] == [18]
        series_counts = {
            s["0020000E"]["Value"][0]: s["00201209"]["Value"][0]
            for s in dbs[0].search_series({}, study_uid="1.2.826.0.1.98")
        }
        assert series_counts == {
            "1.2.826.0.1.98.0": 4 + len(dbs),
            "1.2.826.0.1.98.1": 4,
            "1.2.826.0.1.98.2": 4,
        }
    finally:
        for db in dbs:
            db.close()
