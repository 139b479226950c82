"""Ingest of real test files: index rows, frame byte offsets, duplicates, links, imports."""

from __future__ import annotations

import io
import shutil
import zipfile

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import JPEGBaseline8Bit, generate_uid

from tests.dicom.helpers import make_instance
from voxweb.dicom import DicomDatabase, NotFoundError, QueryError
from voxweb.dicom.index import instances, series, studies


def _data(name: str) -> bytes:
    path = get_testdata_file(name)
    if path is None:  # the larger files come from the optional pydicom-data package
        pytest.skip(f"{name} not installed")
    with open(path, "rb") as f:
        return f.read()


def _frames_via_offsets(db: DicomDatabase, sop: str, count: int) -> list[bytes]:
    locs = db.frame_ranges(None, None, sop, range(1, count + 1))
    assert locs is not None
    return [db.read_ranges(loc) for loc in locs]


def test_ct_small_index_row(db):
    res = db.ingest_bytes(_data("CT_small.dcm"))
    assert res.status == "stored", res.reason
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    with db.index.read() as conn:
        st = conn.execute(studies.select()).one()
        se = conn.execute(series.select()).one()
        inst = conn.execute(instances.select()).one()
    assert st.study_uid == ds.StudyInstanceUID
    assert st.patient_name == str(ds.PatientName)
    assert st.patient_name_ci == str(ds.PatientName).upper()
    assert st.patient_id == ds.PatientID
    assert st.study_date == ds.StudyDate
    assert st.modalities_in_study == "CT"
    assert (st.num_series, st.num_instances, se.num_instances) == (1, 1, 1)
    assert se.series_uid == ds.SeriesInstanceUID and se.modality == "CT"
    assert inst.sop_uid == ds.SOPInstanceUID and inst.sop_class_uid == ds.SOPClassUID
    assert (inst.rows, inst.columns, inst.bits_allocated, inst.bits_stored, inst.high_bit) == (
        ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit,
    )  # fmt: skip
    assert inst.transfer_syntax_uid == ds.file_meta.TransferSyntaxUID
    assert inst.file_size == len(_data("CT_small.dcm"))
    assert db.store.resolve(inst.path).read_bytes() == _data("CT_small.dcm")
    assert _frames_via_offsets(db, ds.SOPInstanceUID, 1) == [ds.PixelData]


@pytest.mark.parametrize(
    "name",
    [
        "MR_small.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "emri_small.dcm",
        "rtdose.dcm",
        "SC_rgb_small_odd.dcm",
        "SC_rgb_jpeg_dcmd.dcm",
        "SC_rgb_2frame.dcm",  # pydicom-data from here on
        "liver.dcm",
        "emri_small_big_endian.dcm",
    ],
)
def test_native_frame_offsets(db, name):
    res = db.ingest_bytes(_data(name))
    assert res.status == "stored", res.reason
    ds = pydicom.dcmread(get_testdata_file(name))
    n = int(ds.get("NumberOfFrames", 1) or 1)
    frame_len = len(ds.PixelData) // n if len(ds.PixelData) % n == 0 else None
    got = _frames_via_offsets(db, res.sop_uid, n)
    frame_len = ds.Rows * ds.Columns * ds.SamplesPerPixel * ds.BitsAllocated // 8
    assert got == [ds.PixelData[i * frame_len : (i + 1) * frame_len] for i in range(n)]
    with pytest.raises(NotFoundError):
        db.frame_ranges(None, None, res.sop_uid, [n + 1])


@pytest.mark.parametrize(
    "name",
    [
        "JPEG2000.dcm",
        "JPEG-lossy.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "MR_small_RLE.dcm",
        "SC_rgb_rle_2frame.dcm",
        "examples_ybr_color.dcm",
        "rtdose_rle.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "emri_small_jpeg_2k_lossless.dcm",  # pydicom-data from here on
        "color3d_jpeg_baseline.dcm",
        "emri_small_RLE.dcm",
        "US1_J2KR.dcm",
    ],
)
def test_encapsulated_frame_offsets(db, name):
    res = db.ingest_bytes(_data(name))
    assert res.status == "stored", res.reason
    ds = pydicom.dcmread(get_testdata_file(name))
    n = int(ds.get("NumberOfFrames", 1) or 1)
    expected = list(generate_frames(ds.PixelData, number_of_frames=n))
    got = _frames_via_offsets(db, res.sop_uid, n)
    assert len(got) == n
    # fragments may carry one trailing pad byte; pydicom keeps it too
    assert got == expected


def _multi_fragment(has_bot: bool) -> tuple[bytes, list[bytes]]:
    frames = [b"\xff\xd8\xff\xe0" + bytes([i]) * 37 + b"\xff\xd9" for i in range(3)]
    frames = [f + b"\x00" if len(f) % 2 else f for f in frames]
    ds = pydicom.dcmread(
        io.BytesIO(make_instance(NumberOfFrames=3, BitsAllocated=8, BitsStored=8, HighBit=7))
    )
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate(frames, fragments_per_frame=2, has_bot=has_bot)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue(), frames


@pytest.mark.parametrize("has_bot", [True, False])
def test_multi_fragment_frames(db, has_bot):
    data, frames = _multi_fragment(has_bot)
    res = db.ingest_bytes(data)
    assert res.status == "stored", res.reason
    locs = db.frame_ranges(None, None, res.sop_uid, [1, 2, 3])
    assert all(len(loc.ranges) == 2 for loc in locs)
    assert [db.read_ranges(loc) for loc in locs] == frames
    assert locs[0].transfer_syntax_uid == JPEGBaseline8Bit


def test_deflated_falls_back_to_decoding(db):
    res = db.ingest_bytes(_data("image_dfl.dcm"))
    assert res.status == "stored", res.reason
    assert db.frame_ranges(None, None, res.sop_uid, [1]) is None
    ds = pydicom.dcmread(get_testdata_file("image_dfl.dcm"))
    assert db.decode_frames(res.sop_uid, [1]) == [ds.pixel_array.tobytes()]


def test_raw_dataset_without_meta_is_wrapped(db):
    res = db.ingest_bytes(_data("ExplVR_LitEndNoMeta.dcm"))
    assert res.status == "stored", res.reason
    path, _ = db.instance_file(res.sop_uid)
    assert path.read_bytes()[128:132] == b"DICM"


def test_duplicates_and_policy(db):
    data = make_instance(SOPInstanceUID="1.2.3.4.5")
    assert db.ingest_bytes(data).status == "stored"
    assert db.ingest_bytes(data).status == "duplicate"
    changed = make_instance(SOPInstanceUID="1.2.3.4.5", PatientName="Other^Name")
    refused = db.ingest_bytes(changed)
    assert (
        refused.status == "failed"
        and refused.failure_code == 0x0111
        and "different content" in refused.reason
    )
    assert db.search_instances()[0]["00080018"]["Value"] == ["1.2.3.4.5"]
    old_path, _ = db.instance_file("1.2.3.4.5")
    replaced = db.ingest_bytes(changed, policy="replace")
    assert replaced.status == "replaced"
    new_path, _ = db.instance_file("1.2.3.4.5")
    assert new_path != old_path and not old_path.exists() and new_path.read_bytes() == changed
    assert db.index.counts()["instances"] == 1
    assert len(list(db.store.iter_files())) == 1


def test_failures_have_reasons(db):
    assert db.ingest_bytes(b"not dicom at all").status == "failed"
    res = db.ingest_bytes(make_instance(StudyInstanceUID=None))
    assert res.status == "failed" and "StudyInstanceUID" in res.reason
    res = db.ingest_bytes(make_instance(SeriesInstanceUID="1.2/abc"))
    assert res.status == "failed" and "not a usable UID" in res.reason
    res = db.ingest_bytes(make_instance(StudyInstanceUID="1.2.3"), expected_study_uid="1.2.4")
    assert res.status == "failed" and res.failure_code == 0xA900
    assert db.index.counts()["instances"] == 0


def test_link_mode_references_in_place(db, tmp_path):
    src = tmp_path / "src" / "ct.dcm"
    src.parent.mkdir()
    shutil.copy(get_testdata_file("CT_small.dcm"), src)
    res = db.ingest_file(src, link=True)
    assert res.status == "stored"
    path, inst = db.instance_file(res.sop_uid)
    assert inst.linked and path == src.resolve()
    assert list(db.store.iter_files()) == []
    assert db.delete(res.study_uid) == 1
    assert src.exists()


def test_delete_maintains_counts(db):
    study = generate_uid()
    s1, s2 = generate_uid(), generate_uid()
    for i, (se, mod) in enumerate([(s1, "CT"), (s1, "CT"), (s2, "MR")]):
        db.ingest_bytes(
            make_instance(
                StudyInstanceUID=study, SeriesInstanceUID=se, Modality=mod, InstanceNumber=i + 1
            )
        )
    st = db.search_studies()[0]
    assert st["00080061"]["Value"] == ["CT", "MR"]
    assert (st["00201206"]["Value"], st["00201208"]["Value"]) == ([2], [3])
    assert db.delete(study, s2) == 1
    st = db.search_studies()[0]
    assert st["00080061"]["Value"] == ["CT"]
    assert (st["00201206"]["Value"], st["00201208"]["Value"]) == ([1], [2])
    sop = db.search_instances(study_uid=study)[0]["00080018"]["Value"][0]
    assert db.delete(study, s1, sop) == 1
    assert db.search_series(study_uid=study)[0]["00201209"]["Value"] == [1]
    assert db.delete(study) == 1
    assert db.index.counts() == {"patients": 0, "studies": 0, "series": 0, "instances": 0}
    assert list(db.store.iter_files()) == []
    with pytest.raises(NotFoundError):
        db.delete(study)


def test_import_folder_zip_dicomdir(db, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(get_testdata_file("CT_small.dcm"), folder / "a.dcm")
    shutil.copy(get_testdata_file("MR_small.dcm"), folder / "b")
    (folder / "README.txt").write_text("not DICOM")
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        zf.writestr("x/rt.dcm", _data("rtdose.dcm"))
        zf.writestr("x/ct_again.dcm", _data("CT_small.dcm"))
    calls = []
    report = db.import_paths(
        [folder, tmp_path / "set.zip", tmp_path / "missing"], progress=lambda n, r: calls.append(n)
    )
    assert (report.stored, report.duplicates, report.failed) == (3, 1, 2)
    assert {e[0].rsplit("/", 1)[-1] for e in report.errors} == {"README.txt", "missing"}
    assert calls == list(range(1, 7))

    dicomdir = get_testdata_file("DICOMDIR")
    ds = pydicom.dcmread(dicomdir)
    n_refs = sum(1 for r in ds.DirectoryRecordSequence if r.get("ReferencedFileID"))
    report = db.import_paths([dicomdir])
    assert report.total == n_refs and report.stored > 0, report.errors[:3]


def test_check_and_repair(db, tmp_path):
    results = [db.ingest_bytes(make_instance(InstanceNumber=i)) for i in range(4)]
    paths = [db.instance_file(r.sop_uid)[0] for r in results]
    paths[0].unlink()  # missing
    paths[1].write_bytes(paths[1].read_bytes() + b"\0\0")  # size mismatch (still readable)
    orphan = make_instance()
    orphan_rel = db.store.relative_path("1.2", "1.3", "1.4", "ab" * 32)
    db.store.write(orphan_rel, orphan)
    (paths[2].parent / ".junk.tmp").write_bytes(b"x")
    report = db.check(min_age_s=0)
    assert report.missing == [results[0].sop_uid]
    assert report.size_mismatch == [results[1].sop_uid]
    assert report.orphans == [orphan_rel]
    assert len(report.temp_files) == 1 and not report.ok
    fixed = db.check(repair=True, min_age_s=0)
    assert fixed.repaired
    again = db.check(min_age_s=0)
    assert again.ok, again
    assert db.index.counts()["instances"] == 4  # 3 kept/re-indexed + the orphan
    for r in results[1:]:
        path, inst = db.instance_file(r.sop_uid)
        assert path.stat().st_size == inst.file_size


def test_import_link_mode(db, tmp_path):
    folder = tmp_path / "linked"
    folder.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm"):
        shutil.copy(get_testdata_file(name), folder / name)
    report = db.import_paths([folder], link=True)
    assert report.stored == 2
    assert list(db.store.iter_files()) == []
    for inst in db.index.iter_all_instances():
        assert inst.linked and db.instance_path(inst).parent == folder.resolve()
    ct = pydicom.dcmread(folder / "CT_small.dcm")
    [loc] = db.frame_ranges(None, None, ct.SOPInstanceUID, [1])
    assert db.read_ranges(loc) == ct.PixelData
    assert db.check(min_age_s=0).ok


def test_import_in_batches_counts_every_file(db, tmp_path):
    # more files than one batch, with a duplicate inside the same batch and a broken file
    folder = tmp_path / "many"
    folder.mkdir()
    datas = [make_instance(InstanceNumber=i) for i in range(70)]
    for i, data in enumerate(datas):
        (folder / f"{i:03d}.dcm").write_bytes(data)
    (folder / "000-copy.dcm").write_bytes(datas[0])
    (folder / "zz-broken.dcm").write_bytes(b"DICM but not really")
    seen: list[tuple[int, str]] = []
    report = db.import_paths([folder], progress=lambda n, r: seen.append((n, r.status)))
    assert (report.stored, report.duplicates, report.failed) == (70, 1, 1)
    assert [n for n, _ in seen] == list(range(1, 73))
    assert seen[1] == (2, "duplicate")  # 000-copy.dcm sorts right after 000.dcm
    assert db.index.counts()["instances"] == 70
    assert db.check(min_age_s=0).ok


def test_nul_characters_in_text_values(db):
    # invalid DICOM that files do contain; PostgreSQL cannot keep NUL in text, so no engine does
    res = db.ingest_bytes(make_instance(PatientName="Nul\x00^Anna", StudyDescription="a\x00b"))
    assert res.status == "stored"
    (study,) = db.search_studies({"PatientName": "nul^anna", "includefield": "StudyDescription"})
    assert study["00081030"]["Value"] == ["ab"]
    assert study["00100010"]["Value"] == [{"Alphabetic": "Nul^Anna"}]
    with pytest.raises(QueryError, match="PatientID: values cannot contain a NUL character"):
        db.search_studies({"PatientID": "P\x00*"})
