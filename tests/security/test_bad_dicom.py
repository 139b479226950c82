"""Bad DICOM and bad multipart: ingest refuses cleanly, the database stays consistent.

Mutated and truncated Part-10 files (wrong VRs, huge lengths, bad transfer syntaxes) go
straight into ``DicomDatabase.ingest_bytes`` (many cases, in-process), and random multipart
bodies go to STOW-RS over HTTP. Nothing may raise past the ingest API, every refusal carries
a reason, and whatever was stored must read back whole.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from tests.support.server import VoxwebProcess
from voxweb.dicom import DicomDatabase

CT_SMALL = Path(get_testdata_file("CT_small.dcm")).read_bytes()
HEADER_END = 132 + 200  # inside the file meta and the first data elements


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    db = DicomDatabase(tmp_path_factory.mktemp("baddicom"), fsync=False)
    yield db
    db.close()


def assert_consistent(db: DicomDatabase) -> None:
    report = db.check(min_age_s=0)
    assert not report.missing and not report.size_mismatch


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.integers(0, len(CT_SMALL) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ),
    st.integers(0, len(CT_SMALL)),
)
def test_mutated_and_truncated_files(database, flips, keep):
    data = bytearray(CT_SMALL)
    for position, value in flips:
        data[position] = value
    result = database.ingest_bytes(bytes(data[: max(keep, 1)]))
    if not result.ok:
        assert result.status == "failed" and result.reason
        assert result.failure_code is not None


def element(tag: tuple[int, int], vr: bytes, value: bytes, length: int | None = None) -> bytes:
    group, elem = tag
    declared = len(value) if length is None else length
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"UC"):
        return struct.pack("<HH2sHI", group, elem, vr, 0, declared) + value
    return struct.pack("<HH2sH", group, elem, vr, declared & 0xFFFF) + value


@pytest.mark.parametrize(
    "case",
    ["huge length", "wrong VR", "unknown transfer syntax", "no pixel data", "pixel data too short"],
)
def test_handcrafted_bad_files(database, case):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    if case == "unknown transfer syntax":
        ds.file_meta.TransferSyntaxUID = "1.2.3.4.5.6.7.8.9"
        data = _save(ds)
    elif case == "no pixel data":
        del ds.PixelData
        data = _save(ds)
    elif case == "pixel data too short":
        ds.PixelData = ds.PixelData[:100]
        data = _save(ds)
    else:
        data = _save(ds)
        marker = data.index(struct.pack("<HH", 0x0010, 0x0010))  # PatientName
        if case == "huge length":
            patched = element((0x0010, 0x0010), b"OB", b"x", length=0x7FFFFFF0)
        else:
            patched = element((0x0010, 0x0010), b"ZZ", b"Doe^John")
        data = data[:marker] + patched + data[marker + 8 + 10 :]
    result = database.ingest_bytes(data)
    assert result.status in ("failed", "stored", "duplicate", "replaced")
    if not result.ok:
        assert result.reason
    assert_consistent(database)


def _save(ds: pydicom.Dataset) -> bytes:
    import io

    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=False)
    return out.getvalue()


# --- STOW-RS over HTTP ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with VoxwebProcess(tmp_path_factory.mktemp("stowfuzz"), ["--auth", "none"]) as proc:
        yield proc


def multipart(parts: list[tuple[str, bytes]], boundary: str = "fuzzb") -> bytes:
    body = b""
    for content_type, data in parts:
        body += f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["application/dicom", "application/octet-stream", "text/plain", "image/png"]
            ),
            st.one_of(st.binary(max_size=300), st.just(CT_SMALL[:400]), st.just(CT_SMALL)),
        ),
        max_size=3,
    ),
    st.sampled_from(["fuzzb", "other", ""]),
    st.binary(max_size=40),
)
def test_random_stow_bodies(server, parts, header_boundary, junk):
    body = junk + multipart(parts)
    ctype = f'multipart/related; type="application/dicom"; boundary={header_boundary}'
    r = server.post("/dicom/studies", data=body, headers={"Content-Type": ctype})
    assert r.status_code in (200, 202, 400, 409, 415), (r.status_code, r.text[:200])
    if r.status_code >= 400 and r.headers.get("content-type", "").startswith("application/json"):
        assert r.text
    assert server.get("/slicer/system/version").status_code == 200


def test_stow_failures_are_reported_per_part(server):
    body = multipart(
        [
            ("application/dicom", CT_SMALL),
            ("application/dicom", b"not dicom"),
            ("text/plain", b"hi"),
        ]
    )
    r = server.post(
        "/dicom/studies",
        data=body,
        headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=fuzzb'},
    )
    assert r.status_code == 202
    answer = r.json()
    assert len(answer["00081199"]["Value"]) == 1  # the good one
    assert len(answer["00081198"]["Value"]) == 2  # the two bad ones, each with a reason code
    for failed in answer["00081198"]["Value"]:
        assert failed["00081197"]["Value"][0] > 0
