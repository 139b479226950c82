"""Attacks carried inside data files, each against a real server process (issue 12, holes 1 and 5).

Hole 1: a detached NRRD header (``.nhdr``) whose ``data file`` names a file outside its own
folder must not read it, in any of the three ``data file`` forms, and the refusal must say
nothing about the target. Hole 5: a tiny file that declares, or inflates to, gigabytes must be
refused before the memory is used. Those tests measure the effect, not only the message: the
server's peak resident memory (``VmHWM``, reset through ``/proc/<pid>/clear_refs`` before each
request) and CPU time must stay small. Legitimate compressed files must still load, and
``--max-volume-size`` must move the limit.
"""

from __future__ import annotations

import bz2
import gzip
import io
import struct
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from tests.support.server import VoxwebProcess, wait_for

MB = 1 << 20
SECRET = b"root:x:0:0:the-secret-of-this-machine-that-must-never-leak::/::\n"  # 64 bytes
NRRD_64 = "NRRD0004\ntype: unsigned char\ndimension: 3\nsizes: 4 4 4\nencoding: raw\n"  # 64 voxels
BOMB_OUTPUT = 512 * MB  # what the compressed bombs inflate to (the old reader kept all of it)
PEAK_GROWTH_LIMIT = 200 * MB


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fileattack")
    assert len(SECRET) == 64
    (folder / "secret.bin").write_bytes(SECRET)
    (folder / "secret1.bin").write_bytes(SECRET)
    return folder


@pytest.fixture(scope="module")
def server(base):
    # uploads land in <base>/data/uploads/<uuid>/, so "../../../secret.bin" is <base>/secret.bin
    with VoxwebProcess(base / "data", ["--no-sample-download", "--log-console"]) as proc:
        yield proc


def upload(server, name: str, data: bytes):
    return server.post(f"/api/files?filename={name}", data=data, timeout=120)


def message(response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text


def scene_ids(server) -> list[str]:
    return server.get("/slicer/mrml/ids").json()


# --- measuring the server process ---------------------------------------------------------


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime in clock ticks (USER_HZ)


class Usage:
    """Peak memory growth and CPU time of the server process across a ``with`` block."""

    def __init__(self, server) -> None:
        self.pid = server.proc.pid

    def __enter__(self) -> Usage:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # VmHWM := current VmRSS
        self.start_peak = _status(self.pid, "VmHWM")
        self.start_cpu = _cpu_seconds(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_growth = _status(self.pid, "VmHWM") - self.start_peak
        self.cpu = _cpu_seconds(self.pid) - self.start_cpu


# --- hole 1: detached headers name files outside their folder -----------------------------


DETACHED_FORMS = {
    "absolute": "data file: {secret}\n\n",
    "relative": "data file: ../../../secret.bin\n\n",
    "printf": "data file: ../../../secret%d.bin 1 1 1 3\n\n",
    "list": "data file: LIST 3\n../../../secret.bin\n",
    "subfolder-then-up": "data file: a/../../../../secret.bin\n\n",
}


@pytest.mark.parametrize("form", sorted(DETACHED_FORMS))
def test_detached_header_cannot_read_a_file_outside_its_folder(server, base, form):
    before = scene_ids(server)
    header = NRRD_64 + DETACHED_FORMS[form].format(secret=base / "secret.bin")
    r = upload(server, "evil.nhdr", header.encode())
    assert r.status_code == 400, (r.status_code, r.text[:300])
    text = message(r)
    assert "a header may only name files in its own folder" in text
    assert b"the-secret" not in r.content
    assert scene_ids(server) == before
    # nothing got in: no volume holds the file's bytes
    for node_id in scene_ids(server):
        if node_id.startswith("vtkMRMLScalarVolumeNode"):
            assert b"the-secret" not in server.get(f"/slicer/volume?id={node_id}").content


def test_refusal_reveals_neither_size_nor_existence(server, base):
    # The old reader's size-mismatch message told the target's size ("8-64=-56").
    small = "NRRD0004\ntype: unsigned char\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n"
    replies = {}
    for target in ("secret.bin", "no-such-file.bin"):
        for spelled in (str(base / target), f"../../../{target}"):
            r = upload(server, "probe.nhdr", f"{small}data file: {spelled}\n\n".encode())
            assert r.status_code == 400
            text = message(r).replace(str(base), "BASE")  # pytest's folder may hold "64"
            assert "64" not in text and "56" not in text
            assert "exist" not in text
            replies[(target, spelled.startswith("/"))] = text.replace(target, "TARGET").replace(
                str(base), "BASE"
            )
    # an existing and a missing target get the same answer
    assert replies[("secret.bin", True)] == replies[("no-such-file.bin", True)]
    assert replies[("secret.bin", False)] == replies[("no-such-file.bin", False)]


# --- hole 5: small files, big memory --------------------------------------------------------


def _compressed_zeros(kind: str, size: int) -> bytes:
    step = bytes(MB)
    if kind == "bzip2":
        comp = bz2.BZ2Compressor(9)
    else:
        comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    parts = [comp.compress(step) for _ in range(size // MB)]
    return b"".join(parts) + comp.flush()


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {kind: _compressed_zeros(kind, BOMB_OUTPUT) for kind in ("bzip2", "gzip")}


@pytest.mark.parametrize("kind", ["bzip2", "gzip"])
def test_compressed_nrrd_bomb_upload_is_refused_without_the_memory(server, bombs, kind):
    data = (
        f"NRRD0004\ntype: unsigned char\ndimension: 3\nsizes: 4 4 4\nencoding: {kind}\n\n".encode()
        + bombs[kind]
    )
    assert len(data) < 600_000  # bzip2: under a kilobyte; gzip: about 500 KB
    before = scene_ids(server)
    with Usage(server) as usage:
        r = upload(server, "bomb.nrrd", data)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert usage.peak_growth < PEAK_GROWTH_LIMIT, usage.peak_growth
    assert f"the {kind} data decompresses to more than the 64 bytes the header" in message(r)
    assert scene_ids(server) == before


@pytest.mark.parametrize("kind", ["bzip2", "gzip"])
def test_compressed_bomb_posted_to_slicer_volume_is_refused(server, bombs, kind):
    data = (
        f"NRRD0004\ntype: unsigned char\ndimension: 3\nsizes: 4 4 4\nencoding: {kind}\n\n".encode()
        + bombs[kind]
    )
    with Usage(server) as usage:
        r = server.post("/slicer/volume?id=Bomb", data=data, timeout=120)
    assert r.status_code >= 400
    assert usage.peak_growth < PEAK_GROWTH_LIMIT, usage.peak_growth
    assert "decompresses to more than" in r.text
    assert not [i for i in scene_ids(server) if "Bomb" in i]


def test_tiny_nifti_gz_declaring_a_gigavoxel_is_refused_without_the_memory(server):
    header = nib.Nifti1Header()
    header.set_data_shape((1024, 1024, 1024))
    header.set_data_dtype(np.int16)  # 2 GiB declared, under the default 4 GiB limit
    header["magic"] = b"n+1"
    header["vox_offset"] = 352
    data = gzip.compress(header.binaryblock + bytes(4) + bytes(16))
    assert len(data) < 100
    with Usage(server) as usage:
        r = upload(server, "giga.nii.gz", data)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert usage.peak_growth < PEAK_GROWTH_LIMIT, usage.peak_growth
    assert "the header declares 2147483648 bytes" in message(r)


def test_nifti_declaring_more_than_the_limit_is_refused_by_its_header(server):
    header = nib.Nifti1Header()
    header.set_data_shape((4096, 4096, 1024))
    header.set_data_dtype(np.float32)  # 64 GiB
    header["magic"] = b"n+1"
    header["vox_offset"] = 352
    r = upload(server, "huge.nii.gz", gzip.compress(header.binaryblock + bytes(4)))
    assert r.status_code == 400
    text = message(r)
    assert "declares 68719476736 bytes" in text and "--max-volume-size" in text


def test_nifti_pair_header_disguised_as_nii_is_refused(server):
    buffer = io.BytesIO()
    pair = nib.Nifti1Pair(np.zeros((4, 4, 4), np.uint8), np.eye(4))
    buffer.write(pair.header.binaryblock)  # magic 'ni1': the voxels would live in a .img
    r = upload(server, "pair.nii", buffer.getvalue() + bytes(64))
    assert r.status_code == 400
    assert "not .hdr/.img pairs" in message(r)


PLY_WITHOUT_PROPERTIES = (
    b"ply\nformat ascii 1.0\ncomment 20 million rows that carry nothing\n"
    b"element vertex 20000000\nelement face 0\nproperty list uchar int vertex_indices\n"
    b"end_header\n"
)
PLY_WITH_PROPERTIES = (
    b"ply\nformat ascii 1.0\nelement vertex 20000000\nproperty float x\nproperty float y\n"
    b"property float z\nelement face 0\nproperty list uchar int vertex_indices\nend_header\n"
    b"0 0 0\n"
)
PLY_BINARY_FACES = (
    b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n"
    b"property float y\nproperty float z\nelement face 20000000\n"
    b"property list uchar int vertex_indices\nend_header\n" + bytes(36) + bytes(8)
)


@pytest.mark.parametrize(
    "data,expected",
    [
        (PLY_WITHOUT_PROPERTIES, "vertex element has no x, y and z"),
        (PLY_WITH_PROPERTIES, "declares 20000000 vertex, 0 face elements"),
        (PLY_BINARY_FACES, "declares 3 vertex, 20000000 face elements"),
    ],
    ids=["no-properties", "ascii", "binary"],
)
def test_small_ply_declaring_millions_of_elements_is_refused_cheaply(server, data, expected):
    assert len(data) < 300
    with Usage(server) as usage:
        r = upload(server, "many.ply", data)
    assert r.status_code == 400, (r.status_code, r.text[:300])
    assert usage.peak_growth < PEAK_GROWTH_LIMIT, usage.peak_growth
    assert usage.cpu < 1.5, usage.cpu
    assert expected in message(r)


def test_legacy_vtk_declaring_more_points_than_it_holds_is_refused(server):
    data = b"# vtk DataFile Version 3.0\nx\nASCII\nDATASET POLYDATA\nPOINTS 50000000 float\n0 0 0\n"
    with Usage(server) as usage:
        r = upload(server, "many.vtk", data)
    assert r.status_code == 400
    assert "declares 150000000 values but only" in message(r)
    assert usage.peak_growth < PEAK_GROWTH_LIMIT


def test_ascii_nrrd_declaring_more_values_than_its_text_holds_is_refused(server):
    data = b"NRRD0004\ntype: double\ndimension: 3\nsizes: 512 512 512\nencoding: ascii\n\n1 2 3\n"
    with Usage(server) as usage:
        r = upload(server, "text.nrrd", data)
    assert r.status_code == 400
    assert "bytes of text cannot hold 134217728 values" in message(r)
    assert usage.peak_growth < PEAK_GROWTH_LIMIT


# --- DICOM: pixel data that claims more than the file holds -------------------------------


def _ct_small() -> bytes:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=False)
    return out.getvalue()


def _stow(server, data: bytes):
    boundary = "attackb"
    body = (
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    return server.post("/dicom/studies", data=body, headers={"Content-Type": ctype})


def test_stow_refuses_pixel_data_running_past_the_end_of_the_file(server):
    data = _ct_small()
    at = data.index(struct.pack("<HH2s", 0x7FE0, 0x0010, b"OW"))
    declared = 0x7FFFFFF0
    data = data[: at + 8] + struct.pack("<I", declared) + data[at + 12 :]
    r = _stow(server, data)
    assert r.status_code in (200, 202, 409), r.text[:300]
    answer = r.json()
    assert "00081199" not in answer or not answer["00081199"].get("Value")
    assert len(answer["00081198"]["Value"]) == 1
    reason = f"Pixel Data declares {declared} bytes but the file has only"
    wait_for(lambda: reason in server.output(), 5, what="the refusal reason in the log")


def test_stow_refuses_native_pixel_data_shorter_than_its_frames(server):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.NumberOfFrames = 40000  # 128 x 128 x 2 bytes x 40000 = 1.3 GB claimed by 32 KB
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=False)
    r = _stow(server, out.getvalue())
    answer = r.json()
    assert len(answer["00081198"]["Value"]) == 1
    wait_for(
        lambda: "(128 x 128 x 1 x 16 x 40000) needs 1310720000" in server.output(),
        5,
        what="the refusal reason in the log",
    )


# --- no false refusals, and the limit flag --------------------------------------------------


def _ramp(shape: tuple[int, int, int]) -> np.ndarray:
    k, j, i = np.indices(shape, dtype=np.int32)
    return ((i * 7 + j * 13 + k * 29) % 4000 - 1000).astype(np.int16)


def _nrrd(array: np.ndarray, encoding: str) -> bytes:
    k, j, i = array.shape
    header = (
        f"NRRD0004\ntype: short\ndimension: 3\nsizes: {i} {j} {k}\nendian: little\n"
        f"encoding: {encoding}\nspace: left-posterior-superior\n"
        "space directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\n\n"
    ).encode()
    raw = array.astype("<i2").tobytes()
    body = {"raw": raw, "gzip": gzip.compress(raw, 6), "bzip2": bz2.compress(raw, 9)}[encoding]
    return header + body


def _voxels(server, node_id: str) -> bytes:
    body = server.get(f"/slicer/volume?id={node_id}").content
    return body[body.index(b"\n\n") + 2 :]


@pytest.mark.parametrize("name", ["big.nrrd-gzip", "big.nrrd-bzip2", "big.nii.gz"])
def test_legitimate_compressed_volumes_still_load(server, tmp_path, name):
    array = _ramp((80, 256, 256))  # 10 MB of voxels
    if name.endswith(".nii.gz"):
        nib.save(nib.Nifti1Image(array.transpose(2, 1, 0), np.eye(4)), tmp_path / name)
        data, filename = (tmp_path / name).read_bytes(), name
    else:
        data, filename = _nrrd(array, name.split("-")[1]), "big.nrrd"
    r = upload(server, filename, data)
    assert r.status_code == 200, r.text[:300]
    (node_id,) = r.json()["loadedNodeIDs"]
    assert _voxels(server, node_id) == array.astype("<i2").tobytes()


def test_legitimate_gzip_volume_posted_to_slicer_volume_loads(server):
    array = _ramp((40, 128, 128))
    r = server.post("/slicer/volume?id=Posted&json=1", data=_nrrd(array, "gzip"))
    assert r.status_code == 200, r.text[:300]
    assert _voxels(server, r.json()["id"]) == array.astype("<i2").tobytes()


def test_max_volume_size_flag_moves_the_limit(tmp_path):
    big = _ramp((100, 100, 100))  # 2,000,000 bytes
    small = _ramp((10, 10, 10))
    args = ["--no-sample-download", "--max-volume-size", "1000000"]
    with VoxwebProcess(tmp_path / "data", args) as limited:
        for encoding in ("raw", "gzip"):
            r = upload(limited, "big.nrrd", _nrrd(big, encoding))
            assert r.status_code == 400, r.text[:300]
            text = message(r)
            assert "declares 2000000 bytes" in text
            assert "limit of 1000000 bytes" in text and "--max-volume-size" in text
        posted = limited.post("/slicer/volume?id=Big", data=_nrrd(big, "raw"))
        assert posted.status_code >= 400 and "limit of 1000000 bytes" in posted.text
        r = upload(limited, "small.nrrd", _nrrd(small, "gzip"))
        assert r.status_code == 200, r.text[:300]
        (node_id,) = r.json()["loadedNodeIDs"]
        assert _voxels(limited, node_id) == small.astype("<i2").tobytes()
