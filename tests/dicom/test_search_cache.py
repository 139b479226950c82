"""The cached QIDO answers (``DicomDatabase.search_json``) never go stale."""

from __future__ import annotations

import json

from tests.dicom.helpers import make_instance
from voxweb.dicom import DicomDatabase


def test_cached_answer_follows_writes_from_any_connection(tmp_path, index_url):
    # (PostgreSQL has no cache: the answers must be fresh all the same)
    server_db = DicomDatabase(tmp_path / "data", index_url=index_url, fsync=False)
    other_db = DicomDatabase(tmp_path / "data", index_url=index_url, fsync=False)
    try:
        assert json.loads(server_db.search_json("study", [("PatientID", "P*")])) == []
        other_db.ingest_bytes(make_instance(PatientID="P7"))
        first = json.loads(server_db.search_json("study", [("PatientID", "P*")]))
        assert len(first) == 1
        if index_url is None:  # SQLite: served from the cache while nothing changes
            assert server_db.search_json("study", [("PatientID", "P*")]) is server_db.search_json(
                "study", [("PatientID", "P*")]
            )
        server_db.ingest_bytes(make_instance(PatientID="P8"))
        assert len(json.loads(server_db.search_json("study", [("PatientID", "P*")]))) == 2
        other_db.delete(first[0]["0020000D"]["Value"][0])
        assert len(json.loads(server_db.search_json("study", [("PatientID", "P*")]))) == 1
    finally:
        server_db.close()
        other_db.close()


def test_locator_fast_path_matches_index(tmp_path, index_url):
    db = DicomDatabase(tmp_path / "data", index_url=index_url, fsync=False)
    try:
        res = db.ingest_bytes(make_instance())
        fast = db.locator(res.study_uid, res.series_uid, res.sop_uid)
        slow = db.index.locator_row(res.study_uid, res.series_uid, res.sop_uid)
        assert fast == slow
        (loc,) = db.frame_ranges(res.study_uid, res.series_uid, res.sop_uid, [1], row=fast)
        assert db.read_ranges(loc) == bytes(range(32))
    finally:
        db.close()
