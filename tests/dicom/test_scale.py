"""A 10,000-study synthetic index answers the OHIF study-list queries correctly (in SQL)."""

from __future__ import annotations

from voxweb.dicom.parse import fold
from voxweb.dicom.synthetic import populate_synthetic, synthetic_records


def test_ohif_study_list_on_10k_studies(db):
    n = populate_synthetic(db, 10_000)
    assert n == 10_000
    assert db.index.counts()["studies"] == 10_000
    recs = list(synthetic_records(10_000))

    base = {
        "limit": "101",
        "offset": "0",
        "fuzzymatching": "false",
        "includefield": "00081030,00080060,00080090,00100030",
    }
    first = db.search_studies(base)
    assert len(first) == 101
    newest = sorted(((r.study_date, r.study_time) for r in recs), reverse=True)[:101]
    assert [(i["00080020"]["Value"][0], i["00080030"]["Value"][0]) for i in first] == newest

    q = {
        **base,
        "PatientName": "*ller*",
        "ModalitiesInStudy": "CT",
        "StudyDate": "20100101-20151231",
        "limit": "10000",
    }
    got = sorted(i["0020000D"]["Value"][0] for i in db.search_studies(q))
    expected = sorted(
        r.study_uid
        for r in recs
        if "LLER" in fold(r.patient_name)
        and r.modality == "CT"
        and "20100101" <= r.study_date <= "20151231"
    )
    assert got == expected and expected

    q = {"StudyDescription": "*MRI*", "offset": "50", "limit": "25"}
    items = db.search_studies(q)
    assert len(items) == 25 and all("MRI" in i["00081030"]["Value"][0] for i in items)
    total = sum("MRI" in r.study_description for r in recs)
    assert len(db.search_studies({"StudyDescription": "*MRI*"})) == total

    pid = recs[0].patient_id
    prior = db.search_studies({"PatientID": pid})
    assert sorted(i["0020000D"]["Value"][0] for i in prior) == sorted(
        r.study_uid for r in recs if r.patient_id == pid
    )


def test_query_plan_uses_indexes(db, engine):
    populate_synthetic(db, 50)
    if engine == "postgresql":
        _postgresql_plans_use_indexes(db)
        return
    with db.index.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT pk FROM studies WHERE study_uid = ?", ("1.2",)
        ).all()
        assert any("USING" in str(row) and "INDEX" in str(row) for row in plan), plan
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT pk FROM series WHERE study_fk = ? AND modality = 'CT'", (1,)
        ).all()
        assert any("ix_series_study_modality" in str(row) for row in plan), plan
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT pk FROM studies WHERE patient_name_ci LIKE 'SMI%'"
        ).all()
        assert any("ix_studies_name_order" in str(row) for row in plan), plan


def _postgresql_plans_use_indexes(db):
    # 50 rows fit one page, where a scan wins: forbid it to see which indexes could serve
    with db.index.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("ANALYZE")

        def plan(sql: str) -> str:
            return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql).all())

        assert "Index" in plan("SELECT pk FROM studies WHERE study_uid = '1.2'")
        got = plan("SELECT pk FROM series WHERE study_fk = 1 AND modality = 'CT'")
        assert "ix_series_study_modality" in got, got
        # prefix LIKE (PatientName=Smi*) is a range scan of the C-collated index
        got = plan("SELECT pk FROM studies WHERE patient_name_ci LIKE 'SMI%%'")
        assert "ix_studies_name_order" in got and "~>=~" not in got, got
        assert "'SMI'" in got and "'SMJ'" in got, got
        got = plan("SELECT pk FROM studies WHERE patient_id LIKE 'P1%%'")
        assert "ix_studies_patient_id" in got and "'P2'" in got, got
