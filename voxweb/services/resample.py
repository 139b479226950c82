"""Resampling volumes onto other grids, and the grids crop and resample operations ask for.

A grid is a shape (k, j, i) and an IJK-to-RAS matrix. :func:`resample` fills a target grid
from a source volume: each target voxel centre is mapped to RAS, optionally through a 4x4
"target RAS to source RAS" matrix (the inverse of the transform a volume sits under), then
into source IJK, and sampled by scipy.ndimage (nearest, linear or cubic B-spline). Points
farther than half a voxel outside the source get the fill value; points within that half
voxel take the border value, as ITK's interpolators do. Integer outputs are rounded and
clipped to the type. Plain numpy in and out: no scene, no scripting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxweb.io.limits import DEFAULT_MAX_VOLUME_SIZE, check_declared_size
from voxweb.scene import geometry

#: Interpolation names -> spline order.
ORDERS = {"nearest": 0, "linear": 1, "bspline": 3}

_MAX_POINTS_PER_CHUNK = 1 << 21


def resample(
    source: np.ndarray,
    source_ijk_to_ras: np.ndarray,
    shape_kji: Sequence[int],
    target_ijk_to_ras: np.ndarray,
    interpolation: str = "linear",
    fill: float = 0.0,
    target_to_source: np.ndarray | None = None,
    dtype: np.dtype | type | None = None,
    max_bytes: int | None = DEFAULT_MAX_VOLUME_SIZE,
) -> np.ndarray:
    """The source sampled on the target grid (see the module docstring). An output grid over
    ``max_bytes`` (a tiny output spacing, a huge ROI) is refused before anything is allocated."""
    from scipy import ndimage

    if interpolation not in ORDERS:
        raise ValueError(f"interpolation must be one of {', '.join(ORDERS)}, not {interpolation!r}")
    order = ORDERS[interpolation]
    out_dtype = np.dtype(dtype or source.dtype)
    shape = tuple(int(s) for s in shape_kji)
    if any(s < 1 for s in shape):
        raise ValueError(f"the output grid is empty: shape {shape}")
    count = shape[0] * shape[1] * shape[2]  # Python ints: no overflow
    check_declared_size(count * out_dtype.itemsize, max_bytes, f"the resampled grid {shape}")
    target_ijk_to_source_ijk = np.linalg.inv(np.asarray(source_ijk_to_ras, dtype=float))
    if target_to_source is not None:
        target_ijk_to_source_ijk = target_ijk_to_source_ijk @ np.asarray(target_to_source)
    target_ijk_to_source_ijk = target_ijk_to_source_ijk @ np.asarray(target_ijk_to_ras, float)

    values = np.asarray(source, dtype=np.float64)
    if order > 1:
        values = ndimage.spline_filter(values, order=order, mode="nearest")
    limits = np.array(source.shape[::-1], dtype=float) - 0.5  # i, j, k
    out = np.empty(shape, dtype=out_dtype)
    k_n, j_n, i_n = shape
    slab = max(1, _MAX_POINTS_PER_CHUNK // max(1, j_n * i_n))
    for k0 in range(0, k_n, slab):
        k1 = min(k_n, k0 + slab)
        kk, jj, ii = np.meshgrid(np.arange(k0, k1), np.arange(j_n), np.arange(i_n), indexing="ij")
        ijk = np.stack([ii.ravel(), jj.ravel(), kk.ravel(), np.ones(ii.size)]).astype(float)
        src = (target_ijk_to_source_ijk @ ijk)[:3]  # i, j, k in the source
        inside = np.all((src >= -0.5) & (src <= limits[:, None]), axis=0)
        sampled = ndimage.map_coordinates(
            values, src[::-1], order=order, mode="nearest", prefilter=False
        )
        sampled[~inside] = fill
        out[k0:k1] = _cast(sampled, out_dtype).reshape(k1 - k0, j_n, i_n)
    return out


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    if dtype.kind == "b":
        return values > 0.5
    return values.astype(dtype)


def voxel_crop_box(
    ijk_to_ras: np.ndarray,
    shape_kji: Sequence[int],
    corners_ras: np.ndarray,
    limit_to_input: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) IJK index bounds, inclusive, of the voxels whose centres lie in the box
    spanned (in IJK) by the ROI corners; clipped to the volume when ``limit_to_input``."""
    ras_to_ijk = np.linalg.inv(ijk_to_ras)
    corners = np.c_[np.asarray(corners_ras, float), np.ones(len(corners_ras))]
    ijk = (ras_to_ijk @ corners.T)[:3]
    tolerance = 1e-6  # a ROI face through voxel centres keeps those voxels
    low = np.ceil(ijk.min(axis=1) - tolerance).astype(int)
    high = np.floor(ijk.max(axis=1) + tolerance).astype(int)
    if limit_to_input:
        size = np.array(shape_kji[::-1])
        low, high = np.maximum(low, 0), np.minimum(high, size - 1)
    if np.any(high < low):
        raise ValueError("the ROI does not contain any voxel centre of the volume")
    return low, high


def roi_grid(
    center: np.ndarray,
    size: np.ndarray,
    axes: np.ndarray,
    spacing: np.ndarray,
) -> tuple[tuple[int, int, int], np.ndarray]:
    """(shape (k, j, i), IJK-to-RAS) of a grid along the ROI axes with the given spacing,
    as many whole voxels as fit in the ROI, centred on the ROI."""
    spacing = np.asarray(spacing, float)
    counts = np.maximum(1, np.floor(np.asarray(size, float) / spacing + 1e-6)).astype(int)
    origin = np.asarray(center, float) - np.asarray(axes, float) @ ((counts - 1) * spacing / 2.0)
    matrix = geometry.ijk_to_ras_matrix(spacing, origin, np.asarray(axes, float))
    return (int(counts[2]), int(counts[1]), int(counts[0])), matrix


def spacing_grid(
    ijk_to_ras: np.ndarray, shape_kji: Sequence[int], spacing: Sequence[float]
) -> tuple[tuple[int, int, int], np.ndarray]:
    """The volume's grid with a new spacing: same origin and directions, the same physical
    extent in as many voxels as round to it."""
    old = geometry.spacing_of(ijk_to_ras)
    new = np.asarray([float(s) for s in spacing])
    if new.shape != (3,) or np.any(new <= 0):
        raise ValueError(f"the output spacing must be 3 positive numbers, not {list(spacing)}")
    counts = np.maximum(1, np.floor(np.array(shape_kji[::-1]) * old / new + 0.5)).astype(int)
    matrix = geometry.ijk_to_ras_matrix(
        new, geometry.origin_of(ijk_to_ras), geometry.directions_of(ijk_to_ras)
    )
    return (int(counts[2]), int(counts[1]), int(counts[0])), matrix


__all__ = ["ORDERS", "resample", "roi_grid", "spacing_grid", "voxel_crop_box"]
