"""DICOMweb over HTTP, request by request: what OHIF, Slicer-style clients and curl send.

One server per module with auth off (Slicer clients send no token), loaded by STOW-RS; the
exact URLs and Accept headers of spec/dicomweb.md, WADO-URI forms, matching rules through
HTTP, STOW edge cases, concurrency, Slicer-compatible shapes, DELETE switched off.
"""

from __future__ import annotations

import io
import json
import threading
from urllib.parse import quote

import pydicom
import pytest
import requests

from tests.http.dicomweb_support import (
    multipart_body,
    pydicom_file,
    renamed,
    split_multipart,
    synthetic_series,
    uids,
)
from tests.support.server import VoxwebProcess


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    proc = VoxwebProcess(tmp_path_factory.mktemp("dwhttp"), ["--auth", "none"]).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def data(served):
    series = synthetic_series(5, 20, patient_name="Smith^Anna", patient_id="SMITH-1")
    second = synthetic_series(
        2,
        16,
        patient_name="Müller^Zoë",
        patient_id="MUE,2",
        study_date="20200102",
        study_description="Knee MRI",
        accession_number="ACC42",
    )
    third = synthetic_series(
        2,
        16,
        patient_name="Smithers^Bob",
        patient_id="SMITH-3",
        study_date="20221231",
        study_description="Chest CT",
        modality="CT",
    )
    j2k = renamed(pydicom_file("MR_small_jp2klossless.dcm"))
    rle2 = pydicom_file("SC_rgb_rle_2frame.dcm")
    sr = pydicom_file("test-SR.dcm")
    body, ctype = multipart_body([*series, *second, *third, j2k, rle2, sr])
    r = requests.post(f"{served.url}/dicom/studies", data=body, headers={"Content-Type": ctype})
    assert r.status_code == 200, r.text
    return {"series": series, "second": second, "third": third, "j2k": j2k, "rle2": rle2, "sr": sr}


def get(served, path, accept=None, **kw):
    headers = {"Accept": accept} if accept is not None else {}
    return requests.get(served.url + path, headers=headers, **kw)


def study_uids(items):
    return [x["0020000D"]["Value"][0] for x in items]


# -- OHIF v3 request sequence (spec/dicomweb.md "What real clients do") ------------------------
def test_ohif_request_sequence(served, data):
    s, r, i = uids(data["series"][0])
    dj = "application/dicom+json"
    lst = get(
        served,
        "/dicom/studies?limit=101&offset=0&fuzzymatching=false"
        "&includefield=00081030%2C00080060%2C00080090%2C00100030",
        dj,
    )
    assert lst.status_code == 200 and lst.headers["content-type"] == dj
    assert len(lst.json()) == 6
    for flt, expect in [
        ("PatientName=*smith*", 2),
        ("00100020=*SMITH*", 2),
        ("AccessionNumber=*ACC*", 1),
        ("StudyDescription=*Knee*", 1),
        ("ModalitiesInStudy=CT", 1),
        ("StudyDate=20200101-20201231", 1),
    ]:
        q = "/dicom/studies?limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060"
        encoded = flt.split("=")[0] + "=" + quote(flt.split("=", 1)[1], safe="")
        got = get(served, f"{q}&{encoded}", dj).json()
        assert len(got) == expect, flt
    by_uid = get(served, f"/dicom/studies?StudyInstanceUID={s}", dj).json()
    assert study_uids(by_uid) == [s]
    series = get(
        served,
        f"/dicom/studies/{s}/series?includefield=00080021%2C00080031%2C0008103E%2C00200011",
        dj,
    ).json()
    assert series[0]["0008103E"]["Value"] == ["T1 axial"]
    prior = get(served, "/dicom/studies?PatientID=SMITH-1", dj).json()
    assert study_uids(prior) == [s]
    md = get(served, f"/dicom/studies/{s}/series/{r}/metadata", dj)
    assert md.status_code == 200 and len(md.json()) == 5
    accept = "multipart/related; type=application/octet-stream; transfer-syntax=*"
    fr = get(served, f"/dicom/studies/{s}/series/{r}/instances/{i}/frames/1", accept)
    assert fr.status_code == 200
    ((headers, frame),) = split_multipart(fr.content, fr.headers["content-type"])
    assert frame == pydicom.dcmread(io.BytesIO(data["series"][0])).PixelData
    assert headers["content-type"].startswith("application/octet-stream")
    th = get(
        served,
        f"/dicom/studies/{s}/series/{r}/instances/{i}/thumbnail?viewport=256%2C256",
        "image/jpeg",
    )
    assert th.status_code == 200 and th.content[:2] == b"\xff\xd8"
    rd = get(served, f"/dicom/studies/{s}/series/{r}/instances/{i}/rendered?accept=image/jpeg")
    assert rd.status_code == 200 and rd.headers["content-type"] == "image/jpeg"
    bulk = md.json()[0]["7FE00010"]["BulkDataURI"]
    bd = requests.get(
        bulk, headers={"Accept": 'multipart/related; type="application/octet-stream"'}
    )
    assert bd.status_code == 200


def test_study_includefield_series_attribute_and_all(served, data):
    got = get(served, "/dicom/studies?includefield=00080060&PatientID=SMITH-1").json()
    assert len(got) == 1
    full = get(served, "/dicom/studies?includefield=all&PatientID=SMITH-1").json()
    assert "00081030" in full[0] and "00201206" in full[0]


# -- WADO-RS Accept forms --------------------------------------------------------------------
@pytest.mark.parametrize(
    "accept",
    [
        'multipart/related; type="application/dicom"; transfer-syntax=*',
        "multipart/related; type=application/octet-stream; transfer-syntax=*",
        'multipart/related; type="*/*"',
        "application/octet-stream",
        "*/*",
        'application/dicom+json, multipart/related; type="application/octet-stream"; transfer-syntax=*',
    ],
)
def test_frame_accept_forms(served, data, accept):
    s, r, i = uids(data["series"][1])
    resp = get(served, f"/dicom/studies/{s}/series/{r}/instances/{i}/frames/1", accept)
    pixels = pydicom.dcmread(io.BytesIO(data["series"][1])).PixelData
    if accept.startswith('multipart/related; type="application/dicom"'):
        assert resp.status_code == 406  # frames are not Part-10 objects
        return
    assert resp.status_code == 200, resp.text
    if resp.headers["content-type"].startswith("multipart/"):
        ((_, frame),) = split_multipart(resp.content, resp.headers["content-type"])
    else:
        frame = resp.content
    assert frame == pixels


@pytest.mark.parametrize(
    "accept",
    [
        'multipart/related; type="application/dicom"; transfer-syntax=*',
        'multipart/related; type="application/dicom"',
        'multipart/related; type="*/*"',
        "*/*",
        'application/dicom+json, multipart/related; type="application/dicom"',
    ],
)
def test_series_retrieve_accept_forms(served, data, accept):
    s, r, _ = uids(data["second"][0])
    resp = get(served, f"/dicom/studies/{s}/series/{r}", accept)
    assert resp.status_code == 200
    parts = split_multipart(resp.content, resp.headers["content-type"])
    assert sorted(p for _, p in parts) == sorted(data["second"])


def test_compressed_frames_as_stored_decoded_or_406(served, data):
    s, r, i = uids(data["j2k"])
    base = f"/dicom/studies/{s}/series/{r}/instances/{i}/frames/1"
    stored = get(
        served, base, "multipart/related; type=application/octet-stream; transfer-syntax=*"
    )
    ((h, frame),) = split_multipart(stored.content, stored.headers["content-type"])
    assert "transfer-syntax=1.2.840.10008.1.2.4.90" in h["content-type"]
    native = get(
        served,
        base,
        "multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1",
    )
    ((_, raw),) = split_multipart(native.content, native.headers["content-type"])
    assert raw == pydicom.dcmread(io.BytesIO(data["j2k"])).pixel_array.tobytes()
    jpeg = get(
        served, base, 'multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.50'
    )
    assert jpeg.status_code == 406 and "transfer-syntax" in jpeg.json()["message"]


def test_metadata_content_types(served, data):
    s, r, i = uids(data["series"][0])
    path = f"/dicom/studies/{s}/series/{r}/instances/{i}/metadata"
    assert get(served, path).headers["content-type"] == "application/dicom+json"  # PS3.18 default
    assert get(served, path, "application/json").headers["content-type"] == "application/json"
    assert (
        get(served, path, "application/dicom+json, application/json").headers["content-type"]
        == "application/dicom+json"
    )
    assert get(served, path, "application/dicom+xml").status_code == 406


BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)


@pytest.mark.parametrize(
    "accept, expected",
    [
        (None, "application/dicom+json"),
        (BROWSER_ACCEPT, "application/dicom+json"),
        ("*/*", "application/dicom+json"),
        ("application/*", "application/dicom+json"),
        ("application/json", "application/json"),
        ("application/json, */*;q=0.1", "application/json"),
        ("application/json;q=0.5, application/dicom+json", "application/dicom+json"),
        ("application/dicom+json;q=0.4, application/json;q=0.9", "application/json"),
        ('multipart/related; type="application/dicom+json"', "application/dicom+json"),
    ],
)
def test_qido_and_metadata_default_to_dicom_json(served, data, accept, expected):
    s, r, i = uids(data["series"][0])
    paths = [
        "/dicom/studies",
        "/dicom/series",
        "/dicom/instances",
        f"/dicom/studies/{s}/series",
        f"/dicom/studies/{s}/instances",
        f"/dicom/studies/{s}/series/{r}/instances",
        f"/dicom/studies/{s}/metadata",
        f"/dicom/studies/{s}/series/{r}/metadata",
        f"/dicom/studies/{s}/series/{r}/instances/{i}/metadata",
        f"/dicom-web/studies/{s}/metadata",
    ]
    for path in paths:
        resp = get(served, path, accept)
        assert resp.status_code == 200, (path, resp.text)
        assert resp.headers["content-type"] == expected, path
        assert isinstance(resp.json(), list) and resp.json()


def test_bulkdata_single_and_multipart(served, data):
    s, r, i = uids(data["series"][0])
    md = get(served, f"/dicom/studies/{s}/series/{r}/instances/{i}/metadata").json()[0]
    uri = md["7FE00010"]["BulkDataURI"]
    pixels = pydicom.dcmread(io.BytesIO(data["series"][0])).PixelData
    assert requests.get(uri).content == pixels
    mp = requests.get(uri, headers={"Accept": 'multipart/related; type="application/octet-stream"'})
    assert split_multipart(mp.content, mp.headers["content-type"])[0][1] == pixels


def test_rendered_levels_and_parameters(served, data):
    s, r, i = uids(data["series"][0])
    base = f"/dicom/studies/{s}"
    assert get(served, base + "/rendered").headers["content-type"].startswith("multipart/related")
    assert (
        get(served, base + f"/series/{r}/rendered", "image/png")
        .headers["content-type"]
        .startswith('multipart/related; type="image/png"')
    )
    one = get(
        served,
        base
        + f"/series/{r}/instances/{i}/rendered?viewport=40,40&window=200,400,sigmoid&quality=30",
    )
    assert one.status_code == 200 and one.content[:2] == b"\xff\xd8"
    bad = get(served, base + f"/series/{r}/instances/{i}/rendered?window=abc")
    assert bad.status_code == 400
    gif = get(served, base + f"/series/{r}/instances/{i}/rendered", "image/gif")
    assert gif.status_code == 406
    ms, mr, mi = uids(data["rle2"])
    frame2 = get(
        served, f"/dicom/studies/{ms}/series/{mr}/instances/{mi}/frames/2/rendered", "image/png"
    )
    assert frame2.status_code == 200 and frame2.content[:4] == b"\x89PNG"
    ss, sr_, si = uids(data["sr"])
    no_pixels = get(served, f"/dicom/studies/{ss}/series/{sr_}/instances/{si}/rendered")
    assert no_pixels.status_code == 404


# -- WADO-URI --------------------------------------------------------------------------------
def test_wado_uri_forms(served, data):
    s, r, i = uids(data["series"][2])
    q = f"requestType=WADO&studyUID={s}&seriesUID={r}&objectUID={i}"
    dicom = get(served, f"/dicom?{q}&contentType=application%2Fdicom")
    assert dicom.headers["content-type"] == "application/dicom"
    assert dicom.content == data["series"][2]
    # percent-encoded everything (some clients encode the dots too)
    enc = "&".join(
        f"{k}={quote(v, safe='')}".replace(".", "%2E")
        for k, v in [("requestType", "WADO"), ("studyUID", s), ("seriesUID", r), ("objectUID", i)]
    )
    assert get(served, f"/dicom?{enc}&contentType=application%2Fdicom").content == data["series"][2]
    jpeg = get(
        served,
        f"/dicom?{q}&contentType=image%2Fjpeg&rows=10&columns=10&windowCenter=100&windowWidth=200",
    )
    assert jpeg.headers["content-type"] == "image/jpeg" and jpeg.content[:2] == b"\xff\xd8"
    png = get(served, f"/dicom?{q}&contentType=image/png&frameNumber=1")
    assert png.content[:4] == b"\x89PNG"
    assert get(served, "/dicom?requestType=WADO").status_code == 404
    assert get(served, f"/dicom?requestType=WADO&objectUID={i}x").status_code == 404
    assert get(served, f"/dicom?requestType=WADO&studyUID=1.2.3&objectUID={i}").status_code == 404
    js, jr, ji = uids(data["j2k"])
    tx = get(served, f"/dicom?requestType=WADO&objectUID={ji}&transferSyntax=1.2.840.10008.1.2.1")
    assert (
        pydicom.dcmread(io.BytesIO(tx.content)).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    )


# -- QIDO matching through HTTP --------------------------------------------------------------
@pytest.mark.parametrize(
    "query, patient_ids",
    [
        ("PatientID=SMITH-1", ["SMITH-1"]),
        ("00100020=SMITH-1", ["SMITH-1"]),
        ("PatientID=SMITH%2A", ["SMITH-3", "SMITH-1"]),
        ("PatientID=SMITH-%3F", ["SMITH-3", "SMITH-1"]),
        ("PatientID=MUE%2C2", ["MUE,2"]),
        ("PatientName=smith%5Eanna", ["SMITH-1"]),
        ("PatientName=m%C3%BCller*", ["MUE,2"]),
        ("PatientName=muller*", ["MUE,2"]),
        ("PatientName=zo&fuzzymatching=true", ["MUE,2"]),
        ("StudyDate=20221231", ["SMITH-3"]),
        ("StudyDate=20210101-", ["SMITH-3", "SMITH-1"]),
        ("StudyDate=-20201231", ["MUE,2", "ID1", "4MR1"]),
        ("StudyDate=20191201-20201231", ["MUE,2"]),
        ("StudyDate=20200101-20211231", ["SMITH-1", "MUE,2"]),
        ("ModalitiesInStudy=CT", ["SMITH-3"]),
        ("Modality=CT", ["SMITH-3"]),
        ("StudyDescription=", None),
    ],
)
def test_study_matching(served, data, query, patient_ids):
    resp = get(served, f"/dicom/studies?{query}")
    assert resp.status_code == 200, resp.text
    ids = [x["00100020"].get("Value", [""])[0] for x in resp.json()]
    if patient_ids is None:
        assert len(ids) == 6 and all("00081030" in x for x in resp.json())
    else:
        assert ids == patient_ids


def test_uid_list_paging_and_errors(served, data):
    s1, s2 = uids(data["series"][0])[0], uids(data["second"][0])[0]
    for sep in ("%2C", "%5C", ","):
        got = get(served, f"/dicom/studies?StudyInstanceUID={s1}{sep}{s2}").json()
        assert sorted(study_uids(got)) == sorted([s1, s2])
    everything = study_uids(get(served, "/dicom/studies").json())
    page = study_uids(get(served, "/dicom/studies?offset=1&limit=2").json())
    assert page == everything[1:3]
    assert get(served, "/dicom/studies?limit=x").status_code == 400
    assert get(served, "/dicom/studies?StudyDate=2020").status_code == 400
    series = get(served, f"/dicom/series?StudyInstanceUID={s1}").json()
    assert len(series) == 1
    inst = get(served, f"/dicom/instances?SOPInstanceUID={uids(data['series'][3])[2]}").json()
    assert len(inst) == 1


# -- STOW-RS ---------------------------------------------------------------------------------
def test_stow_malformed_non_dicom_and_duplicate(served, data):
    good = synthetic_series(1, 8, patient_id="STOW-1")[0]
    s, r, i = uids(data["series"][0])
    conflicting = renamed(data["series"][4], SOPInstanceUID=i, SeriesInstanceUID=r)
    body, ctype = multipart_body([good, b"this is not DICOM at all", good[:300], conflicting])
    resp = requests.post(f"{served.url}/dicom/studies", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 202
    assert resp.headers["content-type"] == "application/dicom+json"
    answer = resp.json()
    assert len(answer["00081199"]["Value"]) == 1
    failed = answer["00081198"]["Value"]
    assert len(failed) == 3
    assert all("00081197" in f for f in failed)
    assert failed[2]["00081155"]["Value"] == [i] and failed[2]["00081197"]["Value"] == [0x0111]
    # a non-DICOM part declared as something else
    odd = b"--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1--\r\n"
    resp = requests.post(
        f"{served.url}/dicom/studies",
        data=odd,
        headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=b1'},
    )
    assert resp.status_code == 400 and "not application/dicom" in resp.json()["message"]


@pytest.mark.parametrize(
    "parts",
    [
        [b""],
        [b"random bytes \x00\x01\x02 that are not DICOM" * 20],
        [b"\x00" * 128 + b"DICM"],  # a preamble and magic, nothing after
        [b"", b"junk"],
    ],
    ids=["empty", "random", "preamble-only", "two-bad"],
)
def test_stow_of_nothing_dicom_is_400(served, data, parts):
    url = f"{served.url}/dicom/studies"
    body, ctype = multipart_body(parts)
    resp = requests.post(url, data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 400, resp.text
    assert resp.json()["success"] is False and "DICOM" in resp.json()["message"]
    if len(parts) == 1:
        bare = requests.post(url, data=parts[0], headers={"Content-Type": "application/dicom"})
        assert bare.status_code == 400 and bare.json()["message"]


def test_stow_truncated_and_conflict_keep_the_failure_list(served, data):
    url = f"{served.url}/dicom/studies"
    s, r, i = uids(data["series"][0])
    conflicting = renamed(data["series"][4], SOPInstanceUID=i, SeriesInstanceUID=r)
    truncated = synthetic_series(1, 8, patient_id="STOW-T")[0][:400]
    body, ctype = multipart_body([truncated, conflicting])
    resp = requests.post(url, data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 409
    failed = resp.json()["00081198"]["Value"]
    assert [f["00081197"]["Value"] for f in failed] == [[0xC000], [0x0111]]


def test_stow_bad_requests(served, data):
    url = f"{served.url}/dicom/studies"
    good = synthetic_series(1, 8, patient_id="STOW-2")[0]
    no_boundary = requests.post(url, data=good, headers={"Content-Type": "multipart/related"})
    assert no_boundary.status_code == 400
    unclosed = requests.post(
        url,
        data=b"--zz\r\nContent-Type: application/dicom\r\n\r\n" + good,
        headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=zz'},
    )
    assert unclosed.status_code == 400
    assert (
        requests.post(url, data=b"{}", headers={"Content-Type": "application/json"}).status_code
        == 415
    )
    # into a named study: an instance of another study is refused (A900)
    s = uids(data["series"][0])[0]
    body, ctype = multipart_body([good])
    resp = requests.post(f"{url}/{s}", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 409
    assert resp.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xA900]


def test_concurrent_stow_and_qido(served, data):
    errors: list[str] = []
    series = [synthetic_series(4, 8, patient_id=f"CONC-{n}") for n in range(4)]

    def store(parts):
        body, ctype = multipart_body(parts)
        r = requests.post(f"{served.url}/dicom/studies", data=body, headers={"Content-Type": ctype})
        if r.status_code != 200:
            errors.append(r.text)

    def query():
        for _ in range(15):
            r = requests.get(f"{served.url}/dicom/studies?PatientID=CONC-*&limit=50")
            if r.status_code != 200:
                errors.append(r.text)

    threads = [threading.Thread(target=store, args=(p,)) for p in series]
    threads += [threading.Thread(target=query) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    got = get(served, "/dicom/studies?PatientID=CONC-*").json()
    assert len(got) == 4 and all(x["00201208"]["Value"] == [4] for x in got)


# -- Slicer-compatible shapes (spec §5, checklist item 16) ------------------------------------
def test_slicer_shapes(served, data):
    s, r, i = uids(data["series"][0])
    studies = get(served, "/dicom/studies").json()
    item = next(x for x in studies if x["0020000D"]["Value"] == [s])
    for key in ("0020000D", "00100020", "00080061", "00080020", "00100010", "00080056"):
        assert key in item
    assert item["00200206"] == {"vr": "IS", "Value": [1]} and item["00200208"] == {
        "vr": "IS",
        "Value": [5],
    }
    assert item["00201206"]["Value"] == [1] and item["00201208"]["Value"] == [5]
    assert len(get(served, "/dicom/studies?offset=1&limit=1").json()) == 1
    assert study_uids(get(served, "/dicom/studies?PatientID=SMITH-1").json()) == [s]
    inst = get(served, f"/dicom/studies/{s}/series/{r}/instances/{i}")
    assert inst.headers["content-type"] == "application/dicom" and inst.content == data["series"][0]
    md = get(served, f"/dicom/studies/{s}/series/{r}/instances/{i}/metadata")
    assert md.headers["content-type"] == "application/dicom+json" and len(md.json()) == 1
    assert get(served, f"/dicom/studies/{s}/metadata").status_code == 200
    assert get(served, "/dicom/studies/1.2.3/series/4.5/instances/6.7").status_code == 404


def test_dicom_web_root_and_options(served, data):
    s, r, _ = uids(data["series"][0])
    assert study_uids(get(served, f"/dicom-web/studies?StudyInstanceUID={s}").json()) == [s]
    rt = get(served, f"/dicom-web/studies/{s}/series?includefield=all").json()
    assert rt[0]["00081190"]["Value"][0].startswith(f"{served.url}/dicom-web/studies/{s}/series/")
    caps = requests.options(f"{served.url}/dicom")
    assert caps.status_code == 200 and "QIDO-RS" in json.loads(caps.content)["services"]
    assert "DELETE" in caps.headers["allow"]
    assert requests.options(f"{served.url}/dicom/studies").status_code == 204


def test_delete_is_off_by_default(served, data):
    s = uids(data["series"][0])[0]
    resp = requests.delete(f"{served.url}/dicom/studies/{s}")
    assert resp.status_code == 405 and "DELETE" not in resp.headers["allow"]
    assert len(get(served, f"/dicom/studies?StudyInstanceUID={s}").json()) == 1


def test_token_required_when_auth_is_on(voxweb):
    server = voxweb()
    assert requests.get(f"{server.url}/dicom/studies").status_code == 401
    ok = requests.get(
        f"{server.url}/dicom/studies", headers={"Authorization": f"Bearer {server.token}"}
    )
    assert ok.status_code == 200 and ok.json() == []
