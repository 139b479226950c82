"""voxweb.io.limits and its users: capped inflation, confined data files, declared sizes.

The end-to-end attacks are in tests/security/test_file_attacks.py; these pin down each rule
where it lives, on real files in a temporary folder.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os

import nibabel as nib
import numpy as np
import pytest

from voxweb.io import load_file
from voxweb.io import nifti as nifti_io
from voxweb.io import nrrd as nrrd_io
from voxweb.io import segmentation as seg_io
from voxweb.io import transforms as transforms_io
from voxweb.io.errors import (
    ModelFormatError,
    SegmentationFormatError,
    TransformFormatError,
    VolumeFormatError,
)
from voxweb.io.limits import check_declared_size, confined_path, format_size, inflate_into
from voxweb.io.models import read_model

HEADER = "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\nencoding: {}\n"
ARRAY = np.arange(24, dtype=np.int16).reshape(2, 3, 4)  # k, j, i


def inflate(data: bytes, size: int, encoding: str = "gzip", skip: int = 0) -> bytes:
    out = bytearray(size)
    inflate_into(io.BytesIO(data).read, encoding, memoryview(out), "test data", skip=skip)
    return bytes(out)


# --- inflate_into ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "bzip2"])
def test_inflate_fills_exactly_and_refuses_more_or_less(encoding):
    compress = gzip.compress if encoding == "gzip" else bz2.compress
    payload = os.urandom(3 << 20)
    assert inflate(compress(payload), len(payload), encoding) == payload
    with pytest.raises(VolumeFormatError, match="decompresses to more than the 1000 bytes"):
        inflate(compress(payload), 1000, encoding)
    with pytest.raises(VolumeFormatError, match=r"decompresses to 3145728 bytes \(3.0 MiB\)"):
        inflate(compress(payload), len(payload) + 1, encoding)
    with pytest.raises(VolumeFormatError, match="data is corrupt"):
        inflate(b"\x1f\x8b" + b"junk" * 10 if encoding == "gzip" else b"BZh9junk", 10, encoding)


def test_inflate_reads_concatenated_streams_and_skips():
    assert inflate(gzip.compress(b"abc") + gzip.compress(b"def"), 6) == b"abcdef"
    assert inflate(bz2.compress(b"xxabc"), 3, "bzip2", skip=2) == b"abc"


def test_inflate_keeps_memory_at_the_declared_size():
    bomb = gzip.compress(bytes(64 << 20))  # 64 MB of zeros in about 64 KB
    with pytest.raises(VolumeFormatError, match="more than the 16 bytes"):
        inflate(bomb, 16)


def test_declared_size_limit_names_size_limit_and_flag():
    check_declared_size(100, 100, "x")
    check_declared_size(10**15, None, "x")
    with pytest.raises(VolumeFormatError) as err:
        check_declared_size(3 << 30, 1 << 30, "NRRD file 'a.nrrd'")
    assert str(err.value) == (
        "NRRD file 'a.nrrd' declares 3221225472 bytes (3.0 GiB) of voxel data, more than the "
        "limit of 1073741824 bytes (1.0 GiB) (raise it with --max-volume-size)"
    )
    assert format_size(10) == "10 bytes"


# --- confined data files --------------------------------------------------------------------


def test_confined_path_allows_the_folder_and_below_only(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.raw").write_bytes(b"x")
    (tmp_path / "b.raw").write_bytes(b"x")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.raw"
    outside.write_bytes(b"secret")
    os.symlink(outside, tmp_path / "link.raw")
    os.symlink(tmp_path / "b.raw", tmp_path / "sub" / "inner-link.raw")
    assert confined_path(tmp_path, "sub/a.raw", "h") == str(tmp_path / "sub" / "a.raw")
    assert confined_path(tmp_path, "sub/../b.raw", "h") == str(tmp_path / "b.raw")
    assert confined_path(tmp_path, "sub/inner-link.raw", "h") == str(tmp_path / "b.raw")
    for name in (str(outside), f"../{outside.name}", "link.raw", "sub/../../x", "~/x"):
        with pytest.raises(VolumeFormatError, match="may only name files in its own folder"):
            confined_path(tmp_path, name, "h")
    with pytest.raises(VolumeFormatError, match="does not exist next to the header"):
        confined_path(tmp_path, "missing.raw", "h")
    with pytest.raises(VolumeFormatError, match="not exist|own folder"):
        confined_path(tmp_path, "sub", "h")  # a folder is not a data file


def _slices(folder, names):
    for k, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ARRAY[k].astype("<i2").tobytes())


@pytest.mark.parametrize(
    "data_file,names",
    [
        ("data file: vol.raw\n\n", None),
        ("data file: slices/s%03d.raw 0 1 1 2\n\n", ["slices/s000.raw", "slices/s001.raw"]),
        ("data file: s%d.raw 1 0 -1\n\n", ["s1.raw", "s0.raw"]),
        ("data file: LIST\nslices/a.raw\nslices/b.raw\n", ["slices/a.raw", "slices/b.raw"]),
    ],
    ids=["single", "printf", "printf-down", "list"],
)
def test_detached_forms_read_files_beside_the_header(tmp_path, data_file, names):
    if names is None:
        (tmp_path / "vol.raw").write_bytes(ARRAY.astype("<i2").tobytes())
    else:
        _slices(tmp_path, names)
    (tmp_path / "v.nhdr").write_text(HEADER.format("raw") + data_file)
    data, _ = nrrd_io.read_nrrd(tmp_path / "v.nhdr")
    np.testing.assert_array_equal(data, ARRAY)  # files in the order the header names them


def test_detached_gzip_written_by_voxweb_reads_back(tmp_path):
    nrrd_io.write_nrrd(tmp_path / "w.nhdr", ARRAY, {"endian": "little"}, compress=True)
    np.testing.assert_array_equal(nrrd_io.read_nrrd(tmp_path / "w.nhdr")[0], ARRAY)


@pytest.mark.parametrize(
    "data_file",
    [
        "data file: /etc/passwd\n\n",
        "data file: ../outside.raw\n\n",
        "data file: ../s%03d.raw 0 1 1 2\n\n",
        "data file: LIST\ninside.raw\n../outside.raw\n",
    ],
)
def test_every_reader_of_detached_nrrd_refuses_outside_files(tmp_path, data_file):
    folder = tmp_path / "h"
    folder.mkdir()
    (folder / "inside.raw").write_bytes(bytes(24))
    for name in ("outside.raw", "s000.raw", "s001.raw"):
        (tmp_path / name).write_bytes(bytes(48))
    text = HEADER.format("raw") + data_file
    for name in ("v.nhdr", "v.seg.nhdr"):
        (folder / name).write_text(text)
    (folder / "d.nhdr").write_text(
        text.replace("dimension: 3", "dimension: 4").replace("sizes: 4 3 2", "sizes: 3 4 1 2")
    )
    rule = "may only name files in its own folder"
    with pytest.raises(VolumeFormatError, match=rule):
        nrrd_io.read_volume(folder / "v.nhdr")
    with pytest.raises(SegmentationFormatError, match=rule):
        seg_io.read_segmentation(folder / "v.seg.nhdr")
    with pytest.raises(TransformFormatError, match=rule):
        transforms_io.read_transform(folder / "d.nhdr")


def test_data_file_counts_are_checked_before_names_are_made(tmp_path):
    header = HEADER.format("raw")
    cases = {
        "data file: s%d.raw 0 999999999999 1\n\n": "names 1000000000000 data files",
        "data file: s%d.raw 0 1 0\n\n": "empty or endless",
        "data file: s%999999d.raw 0 1 1\n\n": "exactly one %d",
        "data file: LIST\na.raw\n": "names 1 data files",
        "data file: LIST 9\na.raw\n": "subdimension must be 1..3",
    }
    for data_file, expected in cases.items():
        (tmp_path / "c.nhdr").write_text(header + data_file)
        with pytest.raises(VolumeFormatError, match=expected):
            nrrd_io.read_nrrd(tmp_path / "c.nhdr")


# --- declared sizes in each format ----------------------------------------------------------


def test_nrrd_limit_applies_to_every_source(tmp_path):
    raw = (HEADER.format("raw") + "\n").encode() + ARRAY.astype("<i2").tobytes()
    (tmp_path / "a.nrrd").write_bytes(raw)
    assert nrrd_io.read_volume(raw, max_bytes=48).array.shape == (2, 3, 4)
    for source in (raw, tmp_path / "a.nrrd"):
        with pytest.raises(VolumeFormatError, match="declares 48 bytes of voxel data"):
            nrrd_io.read_volume(source, max_bytes=47)
    with pytest.raises(VolumeFormatError, match="limit of 47 bytes"):
        load_file(tmp_path / "a.nrrd", "VolumeFile", max_volume_size=47)


def test_ascii_nrrd_and_skips(tmp_path):
    text = HEADER.format("ascii") + "line skip: 1\n\nskip me\n" + " ".join(map(str, range(24)))
    np.testing.assert_array_equal(nrrd_io.read_nrrd(text.encode())[0], ARRAY)
    with pytest.raises(VolumeFormatError, match="cannot hold 24 values"):
        nrrd_io.read_nrrd((HEADER.format("ascii") + "\n1 2 3").encode())
    tail = (HEADER.format("raw") + "byte skip: -1\n\n").encode() + b"junk"
    np.testing.assert_array_equal(nrrd_io.read_nrrd(tail + ARRAY.tobytes())[0], ARRAY)
    with pytest.raises(VolumeFormatError, match="only allowed with raw"):
        nrrd_io.read_nrrd((HEADER.format("gzip") + "byte skip: -1\n\n").encode() + b"x")


def test_nifti_header_is_checked_before_its_voxels(tmp_path):
    img = nib.Nifti1Image(ARRAY.transpose(2, 1, 0), np.eye(4))
    nib.save(img, tmp_path / "a.nii.gz")
    nib.save(img, tmp_path / "a.nii")
    for name in ("a.nii.gz", "a.nii"):
        np.testing.assert_array_equal(nifti_io.read_volume(tmp_path / name).array, ARRAY)
        with pytest.raises(VolumeFormatError, match="declares 48 bytes"):
            nifti_io.read_volume(tmp_path / name, max_bytes=40)
    truncated = (tmp_path / "a.nii").read_bytes()[:-10]
    (tmp_path / "t.nii").write_bytes(truncated)
    with pytest.raises(VolumeFormatError, match="holds 38 bytes of voxel data"):
        nifti_io.read_volume(tmp_path / "t.nii")
    with pytest.raises(TransformFormatError, match="declares"):
        transforms_io.read_transform(tmp_path / "a.nii.gz", max_bytes=8)


def test_nifti_pair_and_analyze_are_refused(tmp_path):
    nib.save(nib.Nifti1Pair(np.zeros((2, 2, 2), np.uint8), np.eye(4)), tmp_path / "p.hdr")
    (tmp_path / "p.nii").write_bytes((tmp_path / "p.hdr").read_bytes())
    with pytest.raises(VolumeFormatError, match="not .hdr/.img pairs"):
        nifti_io.read_volume(tmp_path / "p.nii")


def test_model_counts_are_checked_against_the_file(tmp_path):
    cases = {
        "a.ply": b"ply\nformat ascii 1.0\nelement vertex 9\nproperty float x\nproperty float y\n"
        b"property float z\nend_header\n0 0 0\n",
        "b.vtk": b"# vtk DataFile Version 3.0\nx\nBINARY\nDATASET POLYDATA\nPOINTS 9 float\n"
        + bytes(12),
        "c.vtk": b"# vtk DataFile Version 3.0\nx\nASCII\nDATASET POLYDATA\nPOINTS -1 float\n",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelFormatError, match="declares|negative"):
            read_model(tmp_path / name)
    # a binary STL whose triangle count does not match its length is not read as binary
    (tmp_path / "d.stl").write_bytes(bytes(80) + (10**6).to_bytes(4, "little") + bytes(50))
    with pytest.raises(ModelFormatError, match="neither binary STL nor ASCII"):
        read_model(tmp_path / "d.stl")
