"""STOW-RS of DICOM JSON metadata plus bulk data (PS3.18 10.5), by round trip between servers.

An instance stored on one server is fetched as WADO-RS metadata plus the bytes behind each
BulkDataURI, sent to a second server as ``multipart/related; type="application/dicom+json"``
(Content-Location of each bulk part = its URI), and read back from there.
"""

from __future__ import annotations

import base64
import io
import json

import pydicom
import pytest
import requests
from pydicom.encaps import generate_frames

from tests.http.dicomweb_support import multipart_body, pydicom_file, synthetic_series, uids
from tests.support.server import VoxwebProcess

DJ = "application/dicom+json"
KEYS = [
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "PatientName",
    "PatientID",
    "Modality",
    "Rows",
    "Columns",
    "BitsAllocated",
    "PixelRepresentation",
    "NumberOfFrames",
    "ImagePositionPatient",
    "PixelSpacing",
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    source = VoxwebProcess(tmp_path_factory.mktemp("src"), ["--auth", "none"]).start()
    target = VoxwebProcess(tmp_path_factory.mktemp("dst"), ["--auth", "none"]).start()
    yield source, target
    source.stop()
    target.stop()


@pytest.fixture(scope="module")
def originals(servers):
    source, _ = servers
    files = [
        *synthetic_series(2, 16, patient_id="JSON-1"),
        pydicom_file("MR_small_RLE.dcm"),  # compressed: PixelData comes back encapsulated
        pydicom_file("SC_rgb_rle_2frame.dcm"),
        pydicom_file("rtdose.dcm"),  # multi-frame native
    ]
    body, ctype = multipart_body(files)
    r = requests.post(f"{source.url}/dicom/studies", data=body, headers={"Content-Type": ctype})
    assert r.status_code == 200, r.text
    return files


def bulk_uris(node, found):
    if isinstance(node, dict):
        if "BulkDataURI" in node:
            found.append(node["BulkDataURI"])
        for v in node.values():
            bulk_uris(v, found)
    elif isinstance(node, list):
        for v in node:
            bulk_uris(v, found)
    return found


def json_bulk_body(metadata, bulk, boundary="jsonbulk42"):
    """``bulk``: (Content-Location, Content-Type, bytes) for each part after the metadata."""
    b = boundary.encode()
    out = [b"--" + b + b"\r\nContent-Type: application/dicom+json\r\n\r\n"]
    out.append(json.dumps(metadata).encode() + b"\r\n")
    for location, ctype, data in bulk:
        out.append(
            b"--"
            + b
            + f"\r\nContent-Type: {ctype}\r\nContent-Location: {location}\r\n\r\n".encode()
        )
        out.append(data + b"\r\n")
    out.append(b"--" + b + b"--\r\n")
    ctype = f'multipart/related; type="application/dicom+json"; boundary={boundary}'
    return b"".join(out), ctype


def fetch_as_json_and_bulk(server, data):
    s, r, i = uids(data)
    md = requests.get(
        f"{server.url}/dicom/studies/{s}/series/{r}/instances/{i}/metadata",
        headers={"Accept": DJ},
    ).json()
    ts = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).file_meta.TransferSyntaxUID
    bulk = []
    for uri in bulk_uris(md, []):
        got = requests.get(uri, headers={"Accept": "application/octet-stream"})
        assert got.status_code == 200, uri
        ctype = "application/octet-stream"
        if uri.endswith("7FE00010") and ts.is_compressed:
            ctype += f"; transfer-syntax={ts}"
        bulk.append((uri, ctype, got.content))
    return md, bulk


def pixel_frames(ds):
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        return list(
            generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames", 1)))
        )
    return [ds.PixelData]


def test_round_trip_through_json_and_bulk_data(servers, originals):
    source, target = servers
    metadata, bulk = [], []
    for data in originals:
        md, parts = fetch_as_json_and_bulk(source, data)
        metadata += md
        bulk += parts
    assert bulk, "the source server gave no BulkDataURI"
    body, ctype = json_bulk_body(metadata, bulk)
    resp = requests.post(f"{target.url}/dicom/studies", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == DJ
    assert len(resp.json()["00081199"]["Value"]) == len(originals)
    for data in originals:
        s, r, i = uids(data)
        back = requests.get(f"{target.url}/dicom/studies/{s}/series/{r}/instances/{i}")
        assert back.status_code == 200
        want = pydicom.dcmread(io.BytesIO(data))
        got = pydicom.dcmread(io.BytesIO(back.content))
        for key in KEYS:
            assert got.get(key) == want.get(key), key
        want_ts = want.file_meta.TransferSyntaxUID
        # native pixel data is written as explicit VR little endian; compressed stays as sent
        assert got.file_meta.TransferSyntaxUID == (
            want_ts if want_ts.is_compressed else "1.2.840.10008.1.2.1"
        )
        assert pixel_frames(got) == pixel_frames(want)
        frame = f"/dicom/studies/{s}/series/{r}/instances/{i}/frames/1"
        accept = {"Accept": 'multipart/related; type="application/octet-stream"; transfer-syntax=*'}
        assert (
            requests.get(target.url + frame, headers=accept).content.split(b"\r\n\r\n", 1)[1][:200]
            == requests.get(source.url + frame, headers=accept).content.split(b"\r\n\r\n", 1)[1][
                :200
            ]
        )


def test_inline_binary_and_relative_locations(servers, originals):
    source, target = servers
    data = synthetic_series(1, 8, patient_id="JSON-INLINE")[0]
    ds = pydicom.dcmread(io.BytesIO(data))
    md = json.loads(ds.to_json(bulk_data_threshold=1 << 30))
    pixels = ds.PixelData
    md["7FE00010"] = {"vr": "OW", "InlineBinary": base64.b64encode(pixels).decode()}
    body, ctype = json_bulk_body([md], [])
    resp = requests.post(f"{target.url}/dicom/studies", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 200, resp.text
    # a relative BulkDataURI and a relative Content-Location name the same part
    other = synthetic_series(1, 8, patient_id="JSON-REL")[0]
    ods = pydicom.dcmread(io.BytesIO(other))
    omd = json.loads(ods.to_json(bulk_data_threshold=1 << 30))
    omd["7FE00010"] = {"vr": "OW", "BulkDataURI": "pixels/1"}
    body, ctype = json_bulk_body([omd], [("pixels/1", "application/octet-stream", ods.PixelData)])
    resp = requests.post(f"{target.url}/dicom/studies", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 200, resp.text
    s, r, i = uids(other)
    md_back = requests.get(f"{target.url}/dicom/studies/{s}/series/{r}/instances/{i}/metadata")
    uri = md_back.json()[0]["7FE00010"]["BulkDataURI"]
    assert requests.get(uri).content == ods.PixelData


def test_malformed_json_stow(servers, originals):
    _, target = servers
    url = f"{target.url}/dicom/studies"

    def post(metadata_bytes, bulk=()):
        b = b"--mj\r\nContent-Type: application/dicom+json\r\n\r\n" + metadata_bytes + b"\r\n"
        for location, data in bulk:
            b += (
                b"--mj\r\nContent-Type: application/octet-stream\r\nContent-Location: "
                + location.encode()
                + b"\r\n\r\n"
                + data
                + b"\r\n"
            )
        b += b"--mj--\r\n"
        ctype = 'multipart/related; type="application/dicom+json"; boundary=mj'
        return requests.post(url, data=b, headers={"Content-Type": ctype})

    for bad in (b"{not json", b"", b"42", b"[1, 2]", b"[]"):
        resp = post(bad)
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["message"]
    # an object without the UIDs of an instance
    assert post(b'[{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "X"}]}}]').status_code == 400
    # a BulkDataURI naming no part: the instance is named in the failure list (409)
    data = synthetic_series(1, 8, patient_id="JSON-BAD")[0]
    ds = pydicom.dcmread(io.BytesIO(data))
    md = json.loads(ds.to_json(bulk_data_threshold=1 << 30))
    md["7FE00010"] = {"vr": "OW", "BulkDataURI": "http://elsewhere/none"}
    resp = post(json.dumps([md]).encode())
    assert resp.status_code == 409, resp.text
    failed = resp.json()["00081198"]["Value"]
    assert failed[0]["00081155"]["Value"] == [ds.SOPInstanceUID]
    assert failed[0]["00081197"]["Value"] == [0xC000]
    # a bad VR value in one instance, a good instance beside it: 202
    good = synthetic_series(1, 8, patient_id="JSON-GOOD")[0]
    gds = pydicom.dcmread(io.BytesIO(good))
    gmd = json.loads(gds.to_json(bulk_data_threshold=1 << 30))
    gmd["7FE00010"] = {"vr": "OW", "BulkDataURI": "p"}
    bad = dict(md, **{"00280010": {"vr": "US", "Value": ["many"]}})
    bad["7FE00010"] = {"vr": "OW", "BulkDataURI": "p"}
    resp = post(json.dumps([gmd, bad]).encode(), [("p", gds.PixelData)])
    assert resp.status_code == 202, resp.text
    assert len(resp.json()["00081199"]["Value"]) == 1
    # other multipart types are still refused
    other = requests.post(
        url,
        data=b"--x\r\n\r\n\r\n--x--\r\n",
        headers={"Content-Type": 'multipart/related; type="application/dicom+xml"; boundary=x'},
    )
    assert other.status_code == 415
