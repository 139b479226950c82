"""QIDO-RS matching rules one by one, return attributes, paging, errors."""

from __future__ import annotations

import pytest

from tests.dicom.helpers import make_instance
from voxweb.dicom import DicomDatabase, QueryError
from voxweb.dicom.query import parse_query

S1, S2, S3, S4 = "1.2.826.0.1.1", "1.2.826.0.1.2", "1.2.826.0.1.3", "1.2.826.0.1.4"
STUDIES = [
    dict(StudyInstanceUID=S1, PatientName="Doe^John", PatientID="P1", StudyDate="20200115", StudyTime="101500",
         AccessionNumber="ACC001", ReferringPhysicianName="Smith^Adam", StudyDescription="Brain MRI", Modality="MR",
         PatientBirthDate="19700101", PatientSex="M", StudyID="11"),
    dict(StudyInstanceUID=S2, PatientName="DOE^JANE", PatientID="P2", StudyDate="20201231", StudyTime="235959",
         AccessionNumber="ACC002", StudyDescription="Chest CT", Modality="CT", PatientAge="030Y"),
    dict(StudyInstanceUID=S3, PatientName="Müller^Zoë", PatientID="P3", StudyDate="20190601", StudyTime="080000",
         AccessionNumber="ACC_3", StudyDescription="Knee%MRI", Modality="MR"),
    dict(StudyInstanceUID=S4, PatientName="Nguyen^Anh", PatientID="P4", StudyDate="20210301", StudyTime="120000",
         AccessionNumber="ACC004", StudyDescription="", Modality="US"),
]  # fmt: skip


@pytest.fixture(scope="module")
def qdb(tmp_path_factory, module_index_url):
    db = DicomDatabase(tmp_path_factory.mktemp("q"), index_url=module_index_url, fsync=False)
    for n, attrs in enumerate(STUDIES):
        for k in range(2):
            db.ingest_bytes(
                make_instance(SeriesInstanceUID=f"{attrs['StudyInstanceUID']}.1", SeriesNumber=1, InstanceNumber=k + 1,
                              SeriesDescription=f"series {n}", SOPInstanceUID=f"{attrs['StudyInstanceUID']}.1.{k + 1}", **attrs)
            )  # fmt: skip
    # a second series (CT) in S3
    db.ingest_bytes(make_instance(**{**STUDIES[2], "Modality": "CT", "SeriesInstanceUID": S3 + ".2", "SeriesNumber": 2,
                                     "SOPInstanceUID": S3 + ".2.1", "SeriesDate": "20190602"}))  # fmt: skip
    yield db
    db.close()


def uids(items, tag="0020000D"):
    return sorted(i[tag]["Value"][0] for i in items)


def studies(db, **params):
    return uids(db.search_studies(params))


def test_keyword_tag_and_case(qdb):
    assert studies(qdb, PatientID="P1") == [S1]
    assert studies(qdb, **{"00100020": "P1"}) == [S1]
    assert studies(qdb, patientid="P1") == [S1]


def test_universal_match(qdb):
    assert studies(qdb) == [S1, S2, S3, S4]
    assert studies(qdb, PatientName="") == [S1, S2, S3, S4]
    assert studies(qdb, PatientName="*") == [S1, S2, S3, S4]


def test_wildcards_and_escaping(qdb):
    assert studies(qdb, StudyDescription="*MRI") == [S1, S3]
    assert studies(qdb, StudyDescription="Knee%MRI") == [S3]
    assert studies(qdb, StudyDescription="Knee_MRI") == []
    assert studies(qdb, AccessionNumber="ACC_3") == [S3]
    assert studies(qdb, AccessionNumber="ACC?3") == [S3]
    assert studies(qdb, AccessionNumber="ACC00?") == [S1, S2, S4]
    assert studies(qdb, AccessionNumber="ACC%*") == []
    assert studies(qdb, StudyDescription="*mri*") == []  # non-PN matching is case-sensitive
    assert studies(qdb, StudyDescription="*mri*", fuzzymatching="true") == [S1, S3]


def test_pn_case_insensitive(qdb):
    assert studies(qdb, PatientName="doe^john") == [S1]
    assert studies(qdb, PatientName="DOE^John") == [S1]
    assert studies(qdb, PatientName="*oe*") == [S1, S2, S3]  # MULLER^ZOE too
    assert studies(qdb, PatientName="*oe^*") == [S1, S2]
    assert studies(qdb, PatientName="d?e*") == [S1, S2]
    assert studies(qdb, PatientName="MULLER^ZOE") == [S3]  # diacritics folded
    assert studies(qdb, PatientName="müller*") == [S3]
    assert studies(qdb, ReferringPhysicianName="smith*") == [S1]


def test_fuzzy_matching(qdb):
    assert studies(qdb, PatientName="mul", fuzzymatching="true") == [S3]
    assert studies(qdb, PatientName="zo", fuzzymatching="true") == [S3]
    assert studies(qdb, PatientName="ller", fuzzymatching="true") == []
    assert studies(qdb, PatientName="john doe", fuzzymatching="true") == [S1]
    assert studies(qdb, PatientName="doe", fuzzymatching="true") == [S1, S2]
    assert studies(qdb, PatientName="mul", fuzzymatching="false") == []


def test_date_and_time_ranges(qdb):
    assert studies(qdb, StudyDate="20200101-") == [S1, S2, S4]
    assert studies(qdb, StudyDate="-20201231") == [S1, S2, S3]
    assert studies(qdb, StudyDate="20200101-20201231") == [S1, S2]
    assert studies(qdb, StudyDate="20190601") == [S3]
    assert studies(qdb, StudyTime="1000-1100") == [S1]
    assert studies(qdb, StudyTime="-0800") == [S3]
    assert studies(qdb, StudyTime="2359-") == [S2]
    assert studies(qdb, PatientBirthDate="19600101-19801231") == [S1]
    with pytest.raises(QueryError):
        studies(qdb, StudyDate="2020")


def test_uid_lists(qdb):
    assert studies(qdb, StudyInstanceUID=f"{S1},{S3}") == [S1, S3]
    assert studies(qdb, StudyInstanceUID=f"{S2}\\{S4}") == [S2, S4]
    assert studies(qdb, StudyInstanceUID=S4) == [S4]


def test_modalities_in_study(qdb):
    assert studies(qdb, ModalitiesInStudy="CT") == [S2, S3]
    assert studies(qdb, ModalitiesInStudy="MR\\US") == [S1, S3, S4]
    assert studies(qdb, ModalitiesInStudy="C*") == [S2, S3]
    assert studies(qdb, ModalitiesInStudy="") == [S1, S2, S3, S4]
    assert studies(qdb, Modality="CT") == [S2, S3]  # series key at study level -> EXISTS
    item = next(i for i in qdb.search_studies({"StudyInstanceUID": S3}))
    assert item["00080061"]["Value"] == ["CT", "MR"]


def test_required_study_attributes(qdb):
    item = qdb.search_studies({"StudyInstanceUID": S1}, base_url="http://h:1/dicom/")[0]
    for tag in ["00080005", "00080020", "00080030", "00080050", "00080056", "00080061", "00080090",
                "00081030", "00100010", "00100020", "00100030", "00100040", "0020000D", "00200010",
                "00201206", "00201208", "00200206", "00200208", "00081190"]:  # fmt: skip
        assert tag in item, tag
    assert item["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Doe^John"}]}
    assert item["00201206"] == {"vr": "IS", "Value": [1]} == item["00200206"]
    assert item["00201208"] == {"vr": "IS", "Value": [2]} == item["00200208"]
    assert item["00080056"]["Value"] == ["ONLINE"]
    assert item["00081190"]["Value"] == [f"http://h:1/dicom/studies/{S1}"]
    assert item["00200010"]["Value"] == ["11"]
    assert list(item) == sorted(item)
    empty = qdb.search_studies({"StudyInstanceUID": S4})[0]
    assert empty["00081030"] == {"vr": "LO"}  # empty value: no "Value" member


def test_includefield(qdb):
    ohif = {
        "limit": "101",
        "offset": "0",
        "fuzzymatching": "false",
        "includefield": "00081030,00080060,00080090,00100030",
    }
    items = qdb.search_studies(ohif)
    assert len(items) == 4 and all(
        "00080060" not in i for i in items
    )  # series attr ignored, no error
    item = qdb.search_studies(
        [("StudyInstanceUID", S2), ("includefield", "PatientAge"), ("includefield", "00101020")]
    )[0]
    assert item["00101010"] == {"vr": "AS", "Value": ["030Y"]}  # from the cached instance JSON
    assert item["00101020"] == {"vr": "DS"}
    series_items = qdb.search_series(
        {"includefield": "00080021,00080031,0008103E,00200011"}, study_uid=S3
    )
    assert [s["00200011"]["Value"] for s in series_items] == [[1], [2]]
    assert series_items[1]["00080021"]["Value"] == ["20190602"]
    all_inst = qdb.search_instances({"includefield": "all"}, series_uid=S1 + ".1")
    assert all_inst[0]["00100010"]["Value"][0]["Alphabetic"] == "Doe^John"
    assert all_inst[0]["00080060"]["Value"] == ["MR"]
    with pytest.raises(QueryError):
        qdb.search_studies({"includefield": "NoSuchKeyword"})


def test_paging(qdb):
    page1 = qdb.search_studies({"limit": "2", "offset": "0"})
    page2 = qdb.search_studies({"limit": "2", "offset": "2"})
    page3 = qdb.search_studies({"limit": "2", "offset": "4"})
    assert len(page1) == len(page2) == 2 and page3 == []
    assert sorted(uids(page1) + uids(page2)) == [S1, S2, S3, S4]
    dates = [i["00080020"]["Value"][0] for i in page1 + page2]
    assert dates == sorted(dates, reverse=True)  # most recent first
    assert len(qdb.search_studies({}, max_limit=3)) == 3
    assert len(qdb.search_instances({"limit": "3"})) == 3


def test_errors(qdb):
    for bad in ({"NoSuchKey": "x"}, {"PatientAge": "030Y"}, {"NumberOfStudyRelatedSeries": "2"},
                {"limit": "-1"}, {"offset": "x"}, {"fuzzymatching": "maybe"}, {"SeriesNumber": "one"}):  # fmt: skip
        with pytest.raises(QueryError):
            qdb.search_studies(bad) if "SeriesNumber" not in bad else qdb.search_series(bad)
    assert studies(qdb, PatientAge="") == [
        S1,
        S2,
        S3,
        S4,
    ]  # unsupported key, empty value: a return key


def test_series_level(qdb):
    items = qdb.search_series({"Modality": "CT"}, base_url="http://h/dicom")
    assert uids(items, "0020000E") == [S2 + ".1", S3 + ".2"]
    item = items[0]
    for tag in [
        "00080060",
        "0008103E",
        "00200011",
        "0020000E",
        "00201209",
        "00400244",
        "00400245",
        "0020000D",
    ]:
        assert tag in item, tag
    assert item["00201209"]["Value"] == [2]
    assert item["00081190"]["Value"][0].startswith("http://h/dicom/studies/")
    assert uids(qdb.search_series({"SeriesNumber": "2"}), "0020000E") == [S3 + ".2"]
    assert uids(qdb.search_series({"PatientID": "P3"}), "0020000E") == [S3 + ".1", S3 + ".2"]
    assert qdb.search_series({}, study_uid="9.9.9") == []


def test_instance_level(qdb):
    items = qdb.search_instances({}, study_uid=S1, series_uid=S1 + ".1", base_url="http://h/dicom")
    assert uids(items, "00080018") == [S1 + ".1.1", S1 + ".1.2"]
    item = items[0]
    for tag in ["00080016", "00080018", "00200013", "00280010", "00280011", "00280100", "00280008",
                "0020000D", "0020000E", "00083002"]:  # fmt: skip
        assert tag in item, tag
    assert item["00280010"] == {"vr": "US", "Value": [4]}
    assert item["00081190"]["Value"] == [
        f"http://h/dicom/studies/{S1}/series/{S1}.1/instances/{S1}.1.1"
    ]
    assert uids(qdb.search_instances({"SOPInstanceUID": f"{S1}.1.2\\{S2}.1.1"}), "00080018") == [
        S1 + ".1.2",
        S2 + ".1.1",
    ]
    with pytest.raises(QueryError):
        qdb.search_instances({"StudyDate": "2020*-"})
    assert len(qdb.search_instances({"InstanceNumber": "2", "StudyDate": "20200101-"})) == 3


def test_parse_query_forms():
    q = parse_query(
        [("includefield", "00081030,PatientAge"), ("includefield", "all"), ("limit", "5")]
    )
    assert q.include_all and q.limit == 5 and 0x00081030 in q.include and 0x00101010 in q.include
    q = parse_query([("token", "secret"), ("accept", "application/json"), ("_", "123")])
    assert q.matches == [] and not q.include

    class MultiDict(dict):  # the shape of a web framework's query-parameter object
        def multi_items(self):
            return [("includefield", "00081030"), ("includefield", "00100030")]

    assert parse_query(MultiDict(includefield="00100030")).include == {0x00081030, 0x00100030}
    q = parse_query({"PatientID": ["a", "b"]})
    assert q.matches == [(0x00100020, "a"), (0x00100020, "b")]
