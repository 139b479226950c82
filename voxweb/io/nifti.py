"""NIfTI-1/2 (``.nii``, ``.nii.gz``) files <-> volume and displacement-field nodes, via nibabel.

NIfTI's affine already maps voxel (i, j, k) to RAS, so no LPS flip is needed for geometry; the
array is transposed to voxweb's (k, j, i) order. Voxel dtypes are kept; ``scl_slope`` /
``scl_inter`` are applied (giving floats) only when the file sets them. Displacement fields
follow ITK's convention (vectors stored in LPS). No HTTP, no scene bookkeeping.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from typing import BinaryIO

import nibabel as nib
import numpy as np
from nibabel.volumeutils import apply_read_scaling

from voxweb.io.errors import VolumeFormatError
from voxweb.io.limits import (
    DEFAULT_MAX_VOLUME_SIZE,
    check_declared_size,
    format_size,
    inflate_into,
    read_exactly,
)
from voxweb.io.naming import node_name_from
from voxweb.scene.nodes import GridTransform, LabelMapVolume, ScalarVolume

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_SIZES = {348: nib.Nifti1Header, 540: nib.Nifti2Header}


def _read_header(fh: BinaryIO, compressed: bool, what: str) -> nib.Nifti1Header:
    """The NIfTI-1/2 header at the start of ``fh`` (decompressing only its first bytes)."""
    stream: BinaryIO = gzip.GzipFile(fileobj=fh, mode="rb") if compressed else fh
    try:
        head = stream.read(540)  # bounded: GzipFile inflates only what it returns, plus a step
    except (OSError, EOFError, zlib.error) as exc:
        raise VolumeFormatError(f"{what}: the gzip data is corrupt: {exc}") from exc
    sizes = {struct.unpack(order + "i", head[:4])[0] for order in "<>"} if len(head) >= 4 else set()
    size = next((n for n in _HEADER_SIZES if n in sizes), 0)
    if not size or len(head) < size:
        raise VolumeFormatError(
            f"cannot read {what}: it is not NIfTI-1 or NIfTI-2 (no valid header size)"
        )
    try:
        header = _HEADER_SIZES[size].from_fileobj(io.BytesIO(head[:size]))
    except Exception as exc:
        raise VolumeFormatError(f"cannot read NIfTI file header of {what}: {exc}") from exc
    magic = bytes(header["magic"]).rstrip(b"\0")
    if magic not in (b"n+1", b"n+2"):
        # 'ni1'/'ni2' is the header of a .hdr/.img pair, whose voxels live in another file
        raise VolumeFormatError(
            f"{what} has NIfTI magic {magic!r}, not 'n+1' or 'n+2': only single-file NIfTI "
            "(.nii, .nii.gz) is read, not .hdr/.img pairs or ANALYZE"
        )
    return header


def _load(
    path: str | os.PathLike, max_bytes: int | None = DEFAULT_MAX_VOLUME_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """(array in nibabel (i, j, k, ...) order, 4x4 affine).

    Reads the header first and refuses a declared size above ``max_bytes`` before anything is
    allocated; then reads exactly the declared voxels from this one file (gzip inflated with a
    cap), never from a file the header might point at.
    """
    target = os.fspath(path)
    what = f"NIfTI file {target!r}"
    try:
        fh = open(target, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError as exc:
        raise VolumeFormatError(f"NIfTI file {target!r} does not exist") from exc
    except OSError as exc:
        raise VolumeFormatError(
            f"cannot read NIfTI file {target!r}: {exc.strerror or exc}"
        ) from exc
    with fh:
        compressed = fh.read(2) == _GZIP_MAGIC
        fh.seek(0)
        header = _read_header(fh, compressed, what)
        shape = tuple(int(n) for n in header.get_data_shape())
        dtype = header.get_data_dtype()
        declared = dtype.itemsize
        for n in shape:
            declared *= n
        check_declared_size(declared, max_bytes, what)
        offset = int(header.get_data_offset())
        raw = np.empty(declared, dtype=np.uint8)  # pages are only touched as data arrives
        fh.seek(0)
        if compressed:
            inflate_into(fh.read, "gzip", memoryview(raw), what, skip=offset)
        else:
            fh.seek(offset)
            got = read_exactly(fh, memoryview(raw))
            if got < declared:
                raise VolumeFormatError(
                    f"{what} holds {format_size(got)} of voxel data; its header declares "
                    f"{format_size(declared)} (shape {shape}, {dtype.name})"
                )
    data = raw.view(dtype).reshape(shape[::-1]).T  # NIfTI stores i fastest
    slope, inter = header.get_slope_inter()
    slope = 1.0 if slope is None else float(slope)
    inter = 0.0 if inter is None else float(inter)
    scaled = not (
        np.isnan(slope) or slope == 0 or (slope == 1.0 and (np.isnan(inter) or inter == 0.0))
    )
    if scaled:
        data = apply_read_scaling(data, np.float32(slope), np.float32(inter))
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    return data, np.array(header.get_best_affine(), dtype=float)


def read_volume(
    path: str | os.PathLike,
    labelmap: bool = False,
    name: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_VOLUME_SIZE,
) -> ScalarVolume:
    """Read a 3-D NIfTI volume (trailing size-1 axes allowed) into a (label map) volume.

    ``max_bytes``: the most voxel data the header may declare (None: no limit).
    """
    data, affine = _load(path, max_bytes)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise VolumeFormatError(
            f"NIfTI file {os.fspath(path)!r} has shape {data.shape}; a scalar volume needs 3 axes"
        )
    array = np.ascontiguousarray(data.transpose(2, 1, 0))
    node_name = name or node_name_from(path, "Volume")
    cls = LabelMapVolume if labelmap else ScalarVolume
    return cls(array, affine, name=node_name)


def read_displacement_field(
    path: str | os.PathLike,
    name: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_VOLUME_SIZE,
) -> GridTransform:
    """Read an ITK-style NIfTI displacement field (x, y, z, 1, 3) with LPS vectors."""
    data, affine = _load(path, max_bytes)
    if data.ndim == 5 and data.shape[3] == 1:
        data = data[:, :, :, 0, :]
    if data.ndim != 4 or data.shape[3] != 3:
        raise VolumeFormatError(
            f"NIfTI file {os.fspath(path)!r} has shape {data.shape}; a displacement field "
            "needs (x, y, z, 1, 3) or (x, y, z, 3)"
        )
    vectors = np.array(data.transpose(2, 1, 0, 3), copy=True)
    vectors[..., 0] *= -1
    vectors[..., 1] *= -1
    return GridTransform(
        np.ascontiguousarray(vectors), affine, name=name or node_name_from(path, "GridTransform")
    )


def _save(img: nib.Nifti1Image, path: str | os.PathLike) -> None:
    img.set_qform(img.affine, code=1)
    img.set_sform(img.affine, code=1)
    try:
        nib.save(img, os.fspath(path))
    except OSError as exc:
        raise VolumeFormatError(
            f"cannot write NIfTI {os.fspath(path)!r}: {exc.strerror or exc}"
        ) from exc
    except Exception as exc:
        raise VolumeFormatError(f"cannot write NIfTI {os.fspath(path)!r}: {exc}") from exc


def write_volume(node: ScalarVolume, path: str | os.PathLike) -> None:
    """Write a volume as NIfTI (``.nii`` or ``.nii.gz``), keeping its dtype."""
    array = node.array.view(np.uint8) if node.array.dtype == np.bool_ else node.array
    data = np.asarray(array).transpose(2, 1, 0)
    img = nib.Nifti1Image(data, np.asarray(node.ijk_to_ras, dtype=float), dtype=data.dtype)
    img.header.set_xyzt_units("mm")
    _save(img, path)


def write_displacement_field(node: GridTransform, path: str | os.PathLike) -> None:
    """Write a grid transform as an ITK-style NIfTI vector image (x, y, z, 1, 3), LPS vectors."""
    vectors = np.array(node.displacement, copy=True)
    vectors[..., 0] *= -1
    vectors[..., 1] *= -1
    data = vectors.transpose(2, 1, 0, 3)[:, :, :, np.newaxis, :]
    img = nib.Nifti1Image(data, np.asarray(node.ijk_to_ras, dtype=float), dtype=data.dtype)
    img.header.set_intent("vector")
    img.header.set_xyzt_units("mm")
    _save(img, path)
