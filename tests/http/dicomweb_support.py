"""Shared test data and helpers for the DICOMweb end-to-end tests.

Builds series with ``voxweb.dicom.export`` from synthetic volumes, picks pydicom's test files,
and parses multipart/related answers independently of the server's own code.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file

from voxweb.dicom.export import volume_to_part10

COLIN27 = Path("/usr/share/mricron/templates/ch2.nii.gz")

PYDICOM_FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_RLE.dcm",
    "JPEG-lossy.dcm",
    "SC_rgb_rle_2frame.dcm",
    "rtdose.dcm",
    "test-SR.dcm",
]


def pydicom_file(name: str) -> bytes:
    return Path(get_testdata_file(name)).read_bytes()


def synthetic_series(
    slices: int = 6,
    size: int = 24,
    *,
    patient_name: str = "Smith^Anna",
    patient_id: str = "SYN1",
    study_date: str = "20210315",
    study_description: str = "Brain MRI",
    series_description: str = "T1 axial",
    **kwargs,
) -> list[bytes]:
    """Part-10 bytes of a small MR series with a known ramp pattern."""
    k, j, i = np.mgrid[0:slices, 0:size, 0:size]
    vol = (k * 100 + j * 3 + i).astype(np.int16)
    ijk_to_ras = np.diag([0.9, 0.9, 2.5, 1.0])
    return volume_to_part10(
        vol,
        ijk_to_ras,
        patient_name=patient_name,
        patient_id=patient_id,
        study_date=study_date,
        study_description=study_description,
        series_description=series_description,
        **kwargs,
    )


def colin27_series() -> list[bytes]:
    """The Colin27 head (mricron-data) as a 181-slice MR series."""
    import nibabel as nib

    img = nib.load(str(COLIN27))
    data = np.asarray(img.dataobj)
    vol = np.ascontiguousarray(np.transpose(data, (2, 1, 0))).astype(np.int16)
    return volume_to_part10(
        vol,
        img.affine,
        patient_name="Colin^Twentyseven",
        patient_id="COLIN27",
        study_date="20000101",
        study_description="Head MRI",
        series_description="Colin27 T1",
    )


def uids(data: bytes) -> tuple[str, str, str]:
    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def multipart_body(parts: list[bytes], boundary: str = "testboundary123") -> tuple[bytes, str]:
    body = b"".join(
        b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n"
        for p in parts
    )
    body += b"--" + boundary.encode() + b"--\r\n"
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


def split_multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """Parts of a multipart answer (headers lower-cased), checked for a closing boundary."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    assert m, content_type
    delim = b"--" + m.group(1).encode()
    assert body.startswith(delim), body[:80]
    chunks = body.split(b"\r\n" + delim)
    first = chunks[0][len(delim) :]
    out = []
    for chunk in [first, *chunks[1:]]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk[2:].partition(b"\r\n\r\n")
        headers = {}
        for line in head.split(b"\r\n"):
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode()
        out.append((headers, content))
    assert chunks[-1].startswith(b"--"), "multipart body not closed"
    return out


def renamed(data: bytes, **attrs: str) -> bytes:
    """The same object (pixel data untouched) with new UIDs, so variants of one file coexist."""
    from pydicom.uid import generate_uid

    ds = pydicom.dcmread(io.BytesIO(data))
    ds.SOPInstanceUID = attrs.pop("SOPInstanceUID", generate_uid())
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesInstanceUID = attrs.pop("SeriesInstanceUID", generate_uid())
    for k, v in attrs.items():
        setattr(ds, k, v)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
