"""``voxweb dicom synthesize``: counts right in the index, answers right through the server.

The module's synthesized database is made on each engine (SQLite, PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import select

from tests.support.server import VoxwebProcess
from voxweb.dicom import DicomDatabase
from voxweb.dicom.bulkload import Plan
from voxweb.dicom.bulkload import synthesize as synthesize_in
from voxweb.dicom.index import instances, patients, series, studies
from voxweb.dicom.parse import fold
from voxweb.dicom.query import DEEP_OFFSET

FRAME_ACCEPT = "multipart/related; type=application/octet-stream; transfer-syntax=*"


def synthesize(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXWEB_")}
    cmd = [sys.executable, "-m", "voxweb", "dicom", "synthesize", "--data-dir", str(data_dir)]
    return subprocess.run(
        [*cmd, "--quiet", *args], capture_output=True, text=True, env=env, timeout=120
    )


def value(item: dict, tag: str):
    return item[tag]["Value"][0] if "Value" in item.get(tag, {}) else None


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory, module_index_url):
    """``(data dir, index URL or None)`` holding 50 synthesized studies."""
    data = tmp_path_factory.mktemp("synth")
    url_args = ["--database-url", module_index_url] if module_index_url else []
    done = synthesize(
        data, *url_args, "--studies", "50", "--series-per-study", "2", "--instances-per-series", "3"
    )
    assert done.returncode == 0, done.stderr
    assert "synthesized 50 studies, 100 series, 300 instances" in done.stdout
    return data, module_index_url


def test_counts_are_maintained(synthesized):
    data, url = synthesized
    db = DicomDatabase(data, index_url=url)
    try:
        counts = db.index.counts()
        assert counts["studies"] == 50 and counts["series"] == 100 and counts["instances"] == 300
        with db.index.read() as conn:
            study_rows = conn.execute(
                select(studies.c.pk, studies.c.patient_fk, studies.c.num_series,
                       studies.c.num_instances, studies.c.modalities_in_study)
            ).all()  # fmt: skip
            series_rows = conn.execute(
                select(series.c.study_fk, series.c.modality, series.c.num_instances)
            ).all()
            patient_rows = dict(conn.execute(select(patients.c.pk, patients.c.num_studies)).all())
            per_series = Counter(conn.execute(select(instances.c.series_fk)).scalars())
        assert counts["patients"] == len(patient_rows) == len({r.patient_fk for r in study_rows})
        assert patient_rows == Counter(r.patient_fk for r in study_rows)
        assert sorted(per_series.values()) == [3] * 100
        assert all(r.num_instances == 3 for r in series_rows)
        for st in study_rows:
            mine = [r for r in series_rows if r.study_fk == st.pk]
            assert st.num_series == len(mine) == 2
            assert st.num_instances == 6
            assert st.modalities_in_study == "\\".join(sorted({r.modality for r in mine}))
        assert db.check().ok  # the linked template files are there, with their sizes
    finally:
        db.close()


def test_qido_through_the_server_answers_the_synthesized_studies(synthesized):
    data, url = synthesized
    with VoxwebProcess(data, ["--database-url", url] if url else []) as server:
        got = server.get("/dicom/studies?includefield=00081030,00080060&limit=101")
        assert got.status_code == 200, got.text
        items = got.json()
        assert len(items) == 50
        assert all(value(i, "00201206") == 2 and value(i, "00201208") == 6 for i in items)
        dates = [(value(i, "00080020"), value(i, "00080030")) for i in items]
        assert dates == sorted(dates, reverse=True) and len(set(dates)) > 40

        first = items[0]
        study = value(first, "0020000D")
        ser = server.get(f"/dicom/studies/{study}/series").json()
        assert sorted({value(s, "00080060") for s in ser}) == first["00080061"]["Value"]
        assert [value(s, "00201209") for s in ser] == [3, 3]

        series_uid = value(ser[0], "0020000E")
        inst = server.get(f"/dicom/studies/{study}/series/{series_uid}/instances").json()
        assert [value(i, "00200013") for i in inst] == [1, 2, 3]
        meta = server.get(f"/dicom/studies/{study}/series/{series_uid}/metadata").json()
        assert [value(m, "00080018") for m in meta] == [value(i, "00080018") for i in inst]
        assert all(m["00100010"] == first["00100010"] for m in meta)
        assert all(value(m, "0020000E") == series_uid for m in meta)

        frame = server.get(
            f"/dicom/studies/{study}/series/{series_uid}/instances/"
            f"{value(inst[1], '00080018')}/frames/1",
            headers={"Accept": FRAME_ACCEPT},
        )
        assert frame.status_code == 200
        pixels = (np.arange(64, dtype=np.uint16) * 64).tobytes()  # the template's 8x8 image
        assert pixels in frame.content

        # PatientName wildcard: case- and accent-insensitive prefix, as QIDO matches it
        name = first["00100010"]["Value"][0]["Alphabetic"]
        prefix = fold(name.split("^")[0])[:4]
        expected = sorted(
            value(i, "0020000D")
            for i in items
            if fold(i["00100010"]["Value"][0]["Alphabetic"]).startswith(prefix)
        )
        found = server.get(f"/dicom/studies?PatientName={prefix.lower()}*&limit=101").json()
        assert sorted(value(i, "0020000D") for i in found) == expected
        assert 1 <= len(expected) < 50


def test_same_seed_twice_is_refused_and_another_seed_adds(tmp_path):
    assert synthesize(tmp_path, "--studies", "3").returncode == 0
    again = synthesize(tmp_path, "--studies", "3")
    assert again.returncode == 1 and "choose another --seed" in again.stderr
    more = synthesize(tmp_path, "--studies", "4", "--seed", "7")
    assert more.returncode == 0, more.stderr
    db = DicomDatabase(tmp_path)
    try:
        assert db.index.counts()["studies"] == 7
        assert db.index.counts()["instances"] == 35
    finally:
        db.close()


def test_bad_sizes_are_refused_with_a_message(tmp_path):
    done = synthesize(tmp_path, "--studies", "0")
    assert done.returncode == 2 and "studies must be at least 1" in done.stderr


def test_deep_pages_agree_with_the_full_order(db):
    done = synthesize_in(db, Plan(1500, instances_per_series=1, seed=3, chunk_instances=400))
    assert done.studies == 1500 and done.instances == 1500
    everything = db.search_studies({"limit": "5000"})
    uids = [value(i, "0020000D") for i in everything]
    assert len(uids) == 1500
    assert DEEP_OFFSET < 1400
    for offset in (0, 999, 1000, 1399, 1450):
        page = db.search_studies({"limit": "101", "offset": str(offset)})
        assert [value(i, "0020000D") for i in page] == uids[offset : offset + 101]
    smiths = [
        i for i in everything if fold(i["00100010"]["Value"][0]["Alphabetic"]).startswith("SM")
    ]
    page = db.search_studies({"PatientName": "sm*", "limit": "5"})
    assert [value(i, "0020000D") for i in page] == [value(i, "0020000D") for i in smiths[:5]]
    deep = db.search_studies({"PatientName": "sm*", "limit": "5", "offset": "1000"})
    assert deep == []  # fewer than 1000 match
    ranged = db.search_studies({"StudyDate": "20000101-20251231", "limit": "50", "offset": "1200"})
    assert [value(i, "0020000D") for i in ranged] == uids[1200:1250]
