"""``dicomweb-client`` (PyPI), unchanged, against a real voxweb server.

One server per module, loaded through STOW-RS by the client itself; then every search,
retrieve (default media types), metadata, rendered, bulk data, store and delete call.
"""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
import requests

from tests.http.dicomweb_support import (
    pydicom_file,
    renamed,
    split_multipart,
    synthetic_series,
    uids,
)
from tests.support.server import VoxwebProcess

dicomweb_client = pytest.importorskip("dicomweb_client")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    proc = VoxwebProcess(tmp_path_factory.mktemp("dw"), ["--dicom-delete"]).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def data():
    series = synthetic_series(6, 24)
    other = synthetic_series(
        3,
        16,
        patient_name="Jones^Bob",
        patient_id="J2",
        study_date="20191001",
        study_description="Chest CT",
        modality="CT",
    )
    files = {
        "ct": pydicom_file("CT_small.dcm"),
        "mr": pydicom_file("MR_small.dcm"),
        "j2k": renamed(pydicom_file("MR_small_jp2klossless.dcm")),
        "rle2": pydicom_file("SC_rgb_rle_2frame.dcm"),
        "dose": pydicom_file("rtdose.dcm"),
        "sr": pydicom_file("test-SR.dcm"),
    }
    return {"series": series, "other": other, "files": files}


@pytest.fixture(scope="module")
def client(served, data):
    c = dicomweb_client.DICOMwebClient(
        url=f"{served.url}/dicom", headers={"Authorization": f"Bearer {served.token}"}
    )
    datasets = [
        pydicom.dcmread(io.BytesIO(b))
        for b in [*data["series"], *data["other"], *data["files"].values()]
    ]
    answer = c.store_instances(datasets)
    assert len(answer.ReferencedSOPSequence) == len(datasets)
    return c


def test_search_studies_series_instances(client, data):
    studies = client.search_for_studies()
    assert len(studies) == 7  # synthetic x2, CT_small, MR_small (+j2k variant), rle, dose, sr
    s, r, i = uids(data["series"][0])
    hits = client.search_for_studies(search_filters={"PatientName": "smith*"})
    assert [h["0020000D"]["Value"][0] for h in hits] == [s]
    assert hits[0]["00201206"]["Value"] == [1] and hits[0]["00201208"]["Value"] == [6]
    assert hits[0]["00081030"]["Value"] == ["Brain MRI"]
    series = client.search_for_series(s)
    assert [x["0020000E"]["Value"][0] for x in series] == [r]
    assert series[0]["00201209"]["Value"] == [6]
    all_series = client.search_for_series(search_filters={"Modality": "CT"})
    assert len(all_series) == 2
    inst = client.search_for_instances(s, r)
    assert len(inst) == 6 and inst[0]["00080018"]["Value"][0] == i
    assert len(client.search_for_instances(s)) == 6
    assert len(client.search_for_instances()) == 15
    paged = client.search_for_studies(limit=2, offset=1)
    assert len(paged) == 2
    fuzzy = client.search_for_studies(fuzzymatching=True, search_filters={"PatientName": "jon"})
    assert len(fuzzy) == 1
    fields = client.search_for_studies(
        fields=["StudyDescription", "00080060"], search_filters={"PatientID": "J2"}
    )
    assert fields[0]["00081030"]["Value"] == ["Chest CT"]


def test_empty_search_is_200_empty_list(served, client):
    assert client.search_for_studies(search_filters={"PatientID": "nobody"}) == []
    r = requests.get(
        f"{served.url}/dicom/studies?PatientID=nobody",
        headers={"Authorization": f"Bearer {served.token}"},
    )
    assert r.status_code == 200 and r.json() == []


def test_retrieve_instance_series_study_byte_identical(served, client, data):
    s, r, i = uids(data["series"][2])
    ds = client.retrieve_instance(s, r, i)
    assert ds.SOPInstanceUID == i
    assert np.array_equal(
        ds.pixel_array, pydicom.dcmread(io.BytesIO(data["series"][2])).pixel_array
    )
    series = client.retrieve_series(s, r)
    assert sorted(x.SOPInstanceUID for x in series) == sorted(uids(b)[2] for b in data["series"])
    study = client.retrieve_study(s)
    assert len(study) == 6
    # the raw bytes: multipart parts are the stored files unchanged
    resp = requests.get(
        f"{served.url}/dicom/studies/{s}/series/{r}",
        headers={
            "Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*',
            "Authorization": f"Bearer {served.token}",
        },
    )
    parts = split_multipart(resp.content, resp.headers["content-type"])
    assert sorted(p for _, p in parts) == sorted(data["series"])
    assert all(h["content-type"] == "application/dicom" for h, _ in parts)
    # compressed instance retrieved as stored
    js, jr, ji = uids(data["files"]["j2k"])
    ds = client.retrieve_instance(js, jr, ji, media_types=(("application/dicom", "*"),))
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.90"


def test_metadata_all_levels_with_bulkdata_uri(served, client, data):
    s, r, i = uids(data["series"][0])
    series_md = client.retrieve_series_metadata(s, r)
    assert len(series_md) == 6
    study_md = client.retrieve_study_metadata(s)
    assert len(study_md) == 6
    inst_md = client.retrieve_instance_metadata(s, r, i)
    uri = inst_md["7FE00010"]["BulkDataURI"]
    assert uri.startswith(f"{served.url}/dicom/studies/{s}/series/{r}/instances/{i}/bulkdata/")
    (pixels,) = client.retrieve_bulkdata(uri)
    ds = pydicom.dcmread(io.BytesIO(data["series"][0]))
    assert pixels == ds.PixelData


def test_frames_default_and_explicit_media_types(client, data):
    s, r, i = uids(data["series"][1])
    native = pydicom.dcmread(io.BytesIO(data["series"][1])).PixelData
    (frame,) = client.retrieve_instance_frames(s, r, i, [1])  # type="*/*" by default
    assert frame == native
    (frame,) = client.retrieve_instance_frames(
        s, r, i, [1], media_types=(("application/octet-stream", "1.2.840.10008.1.2.1"),)
    )
    assert frame == native
    # multi-frame: two frames of an RLE RGB object, decoded to native on request
    ms, mr, mi = uids(data["files"]["rle2"])
    frames = client.retrieve_instance_frames(
        ms, mr, mi, [1, 2], media_types=(("application/octet-stream", "1.2.840.10008.1.2.1"),)
    )
    ref = pydicom.dcmread(io.BytesIO(data["files"]["rle2"])).pixel_array
    assert frames[0] == ref[0].tobytes() and frames[1] == ref[1].tobytes()
    # the compressed frame as stored
    js, jr, ji = uids(data["files"]["j2k"])
    (j2k,) = client.retrieve_instance_frames(
        js, jr, ji, [1], media_types=(("image/jp2", "1.2.840.10008.1.2.4.90"),)
    )
    assert j2k[:4] in (b"\xff\x4f\xff\x51", b"\x00\x00\x00\x0c")


def test_rendered_and_thumbnails(served, client, data):
    s, r, i = uids(data["series"][0])
    jpeg = client.retrieve_instance_rendered(s, r, i)
    assert jpeg[:2] == b"\xff\xd8"
    png = client.retrieve_instance_rendered(s, r, i, media_types=("image/png",))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    framed = client.retrieve_instance_frames_rendered(s, r, i, [1])
    assert framed[:2] == b"\xff\xd8"
    series_rendered = client.retrieve_series_rendered(s, r)
    assert series_rendered[:2] == b"\xff\xd8" or len(series_rendered) > 0
    auth = {"Authorization": f"Bearer {served.token}"}
    base = f"{served.url}/dicom/studies/{s}"
    for path in ("/thumbnail", f"/series/{r}/thumbnail", f"/series/{r}/instances/{i}/thumbnail"):
        resp = requests.get(
            base + path + "?viewport=64%2C64", headers={**auth, "Accept": "image/jpeg"}
        )
        assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg", path
        from PIL import Image

        img = Image.open(io.BytesIO(resp.content))
        assert max(img.size) == 64
    resp = requests.get(
        f"{base}/series/{r}/instances/{i}/rendered?window=100,50&quality=50&accept=image/png",
        headers=auth,
    )
    assert resp.headers["content-type"] == "image/png"
    ms, mr, mi = uids(data["files"]["rle2"])
    resp = requests.get(
        f"{served.url}/dicom/studies/{ms}/series/{mr}/instances/{mi}/thumbnail", headers=auth
    )
    assert resp.status_code == 200 and resp.content[:2] == b"\xff\xd8"


def test_store_duplicate_then_delete(served, client, data):
    extra = synthetic_series(2, 8, patient_id="DEL1", patient_name="Delete^Me")
    datasets = [pydicom.dcmread(io.BytesIO(b)) for b in extra]
    client.store_instances(datasets)
    again = client.store_instances(datasets)  # identical duplicate: still a success
    assert len(again.ReferencedSOPSequence) == 2
    s, r, i = uids(extra[0])
    client.delete_instance(s, r, i)
    assert len(client.search_for_instances(s, r)) == 1
    client.delete_series(s, r)  # the last series: the study goes with it
    assert client.search_for_studies(search_filters={"PatientID": "DEL1"}) == []
    with pytest.raises(requests.HTTPError):
        client.delete_study(s)
