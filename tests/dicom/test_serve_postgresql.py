"""``voxweb serve --database-url``: the server and its ingest workers share one PostgreSQL index."""

from __future__ import annotations

import os

import pytest

from tests.http.dicomweb_support import multipart_body, synthetic_series, uids
from tests.http.test_dicomweb_workers import _workers_when
from tests.support.server import VoxwebProcess
from voxweb.dicom import DicomDatabase

JSON = {"Accept": "application/dicom+json"}


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_server_and_workers_use_the_postgresql_index(tmp_path, postgres_cluster):
    url = postgres_cluster.create_database()  # empty: the server makes the schema
    # the test cluster trusts loopback logins, so any password is accepted: this one must
    # never appear in the server's output
    with_password = url.replace("postgres@", "postgres:n0t-in-logs@")
    args = ["--auth", "none", "--ingest-processes", "2", "--log-console"]
    with VoxwebProcess(tmp_path / "data", [*args, "--database-url", with_password]) as server:
        first = synthetic_series(3, patient_id="PG1")
        body, ctype = multipart_body(first)
        answer = server.post("/dicom/studies", data=body, headers={**JSON, "Content-Type": ctype})
        assert answer.status_code == 200, answer.text
        assert len(_workers_when(server.proc.pid, 2)) == 2
        second = synthetic_series(4, patient_id="PG2")  # stored by a worker
        body, ctype = multipart_body(second)
        answer = server.post("/dicom/studies", data=body, headers={**JSON, "Content-Type": ctype})
        assert answer.status_code == 200, answer.text
        found = server.get("/dicom/studies", params={"PatientID": "PG*"}, headers=JSON)
        assert found.status_code == 200
        assert sorted(s["00100020"]["Value"][0] for s in found.json()) == ["PG1", "PG2"]
        study, series, _ = uids(second[0])
        listed = server.get(f"/dicom/studies/{study}/series/{series}/instances", headers=JSON)
        assert len(listed.json()) == 4
        output = server.output()
    assert "n0t-in-logs" not in output
    assert "postgres:***@127.0.0.1" in output  # the schema was made, and said so masked
    assert not (tmp_path / "data" / "dicom" / "index.sqlite").exists()  # nobody used SQLite
    db = DicomDatabase(tmp_path / "data", index_url=url)
    try:
        assert db.index.counts()["instances"] == 7
    finally:
        db.close()
