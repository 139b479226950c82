"""NIfTI-1/2 (``.nii``, ``.nii.gz``) files <-> volume and displacement-field nodes, via nibabel.

NIfTI's affine already maps voxel (i, j, k) to RAS, so no LPS flip is needed for geometry; the
array is transposed to voxweb's (k, j, i) order. Voxel dtypes are kept; ``scl_slope`` /
``scl_inter`` are applied (giving floats) only when the file sets them. Displacement fields
follow ITK's convention (vectors stored in LPS). No HTTP, no scene bookkeeping.
"""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np

from voxweb.io.errors import VolumeFormatError
from voxweb.scene.nodes import GridTransform, LabelMapVolume, ScalarVolume


def _name_from(path: str | os.PathLike, default: str) -> str:
    base = os.path.basename(os.fspath(path))
    for ext in (".nii.gz", ".nii"):
        if base.lower().endswith(ext):
            return base[: -len(ext)] or default
    return os.path.splitext(base)[0] or default


def _load(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(array in nibabel (i, j, k, ...) order, 4x4 affine)."""
    target = os.fspath(path)
    try:
        img = nib.load(target)
    except FileNotFoundError as exc:
        raise VolumeFormatError(f"NIfTI file {target!r} does not exist") from exc
    except Exception as exc:
        raise VolumeFormatError(f"cannot read NIfTI file {target!r}: {exc}") from exc
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise VolumeFormatError(f"{target!r} is not a NIfTI image ({type(img).__name__})")
    try:
        proxy = img.dataobj
        slope = getattr(proxy, "slope", 1.0)
        inter = getattr(proxy, "inter", 0.0)
        scaled = not (
            slope is None
            or np.isnan(slope)
            or slope == 0
            or (slope == 1.0 and (inter is None or np.isnan(inter) or inter == 0.0))
        )
        data = np.asanyarray(proxy) if scaled else proxy.get_unscaled()
    except Exception as exc:
        raise VolumeFormatError(f"cannot read the voxels of NIfTI file {target!r}: {exc}") from exc
    affine = img.affine
    if affine is None:
        affine = np.eye(4)
    data = np.asarray(data)
    if data.dtype.byteorder not in ("=", "|"):
        data = data.astype(data.dtype.newbyteorder("="))
    return data, np.array(affine, dtype=float)


def read_volume(
    path: str | os.PathLike, labelmap: bool = False, name: str | None = None
) -> ScalarVolume:
    """Read a 3-D NIfTI volume (trailing size-1 axes allowed) into a (label map) volume."""
    data, affine = _load(path)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise VolumeFormatError(
            f"NIfTI file {os.fspath(path)!r} has shape {data.shape}; a scalar volume needs 3 axes"
        )
    array = np.ascontiguousarray(data.transpose(2, 1, 0))
    node_name = name or _name_from(path, "Volume")
    cls = LabelMapVolume if labelmap else ScalarVolume
    return cls(array, affine, name=node_name)


def read_displacement_field(path: str | os.PathLike, name: str | None = None) -> GridTransform:
    """Read an ITK-style NIfTI displacement field (x, y, z, 1, 3) with LPS vectors."""
    data, affine = _load(path)
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
        np.ascontiguousarray(vectors), affine, name=name or _name_from(path, "GridTransform")
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
