"""A real head: the Colin27 MR (Debian mricron-data) as a 181-slice series through DICOMweb."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
import requests

from tests.http.dicomweb_support import (
    COLIN27,
    colin27_series,
    multipart_body,
    split_multipart,
    uids,
)
from voxweb.dicom.export import geometry_from_datasets

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not COLIN27.exists(), reason="needs Debian's mricron-data (Colin27)"),
]


def test_colin27_series_round_trip(voxweb):
    server = voxweb("--auth", "none")
    parts = colin27_series()
    assert len(parts) == 181
    body, ctype = multipart_body(parts)
    resp = requests.post(f"{server.url}/dicom/studies", data=body, headers={"Content-Type": ctype})
    assert resp.status_code == 200 and len(resp.json()["00081199"]["Value"]) == 181
    study, series, _ = uids(parts[0])
    inst = requests.get(f"{server.url}/dicom/studies/{study}/series/{series}/instances").json()
    assert len(inst) == 181
    md = requests.get(
        f"{server.url}/dicom/studies/{study}/series/{series}/metadata",
        headers={"Accept": "application/dicom+json"},
    ).json()
    assert len(md) == 181 and all("BulkDataURI" in m["7FE00010"] for m in md)
    # the middle slice's frame is the stored pixel data, byte for byte
    mid = parts[90]
    sop = uids(mid)[2]
    fr = requests.get(
        f"{server.url}/dicom/studies/{study}/series/{series}/instances/{sop}/frames/1",
        headers={"Accept": "multipart/related; type=application/octet-stream; transfer-syntax=*"},
    )
    ((_, frame),) = split_multipart(fr.content, fr.headers["content-type"])
    assert frame == pydicom.dcmread(io.BytesIO(mid)).PixelData
    # the geometry the headers describe is the one the converter wrote
    datasets = [pydicom.dcmread(io.BytesIO(p), stop_before_pixels=True) for p in parts]
    import nibabel as nib

    np.testing.assert_allclose(
        geometry_from_datasets(datasets), nib.load(str(COLIN27)).affine, atol=1e-3
    )
    thumb = requests.get(f"{server.url}/dicom/studies/{study}/thumbnail")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
