"""Thick-slab reconstruction of a slice layer: mean, max, min or sum over parallel planes.

Slicer scripts turn it on through the slice layer's reslice (``SetSlabModeToMax()``,
``SetSlabNumberOfSlices(n)``, ``SetSlabSliceSpacingFraction(f)``); the view records the mode
and this module renders it. Planes are ``fraction`` x the smallest voxel size apart, centred
on the view's plane, and only those that cross the volume are sampled. Pure function of
(layer, geometry): no scene, no HTTP.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.ndimage import map_coordinates

from voxweb.render.layers import apply_window_level, plane_in_ijk

MAX_PLANES = 1024  # a MIP over a whole volume needs a few hundred


def slab_layer(layer, geometry, alpha: bool = True) -> Image.Image:
    """The layer's slab on the view plane, as ``LA`` (or ``L`` without ``alpha``)."""
    mode, count, fraction = layer.slab
    w, h = geometry.size
    m = plane_in_ijk(layer, geometry)
    ijk_to_ras = np.asarray(layer.ijk_to_ras, dtype=float)
    voxel = float(np.min(np.linalg.norm(ijk_to_ras[:3, :3], axis=0)))
    normal_ras = np.asarray(geometry.slice_to_ras, dtype=float)[:3, 2]
    normal_ijk = np.linalg.inv(ijk_to_ras[:3, :3]) @ (normal_ras * voxel * max(fraction, 1e-3))
    count = int(min(max(count, 1), MAX_PLANES))
    u = np.arange(w, dtype=np.float64) + 0.5
    v = np.arange(h, dtype=np.float64) + 0.5
    base = m[:3, 0, None, None] * u[None, None, :] + m[:3, 1, None, None] * v[None, :, None]
    base += m[:3, 3, None, None]  # (3, h, w) continuous IJK of the central plane
    shape_ijk = np.array(layer.array.shape[::-1], dtype=float)
    order = 1 if layer.interpolate else 0
    acc = None
    hits = np.zeros((h, w), dtype=np.int32)
    for step in np.arange(count) - (count - 1) / 2.0:
        ijk = base + (normal_ijk * step)[:, None, None]
        inside = np.ones((h, w), dtype=bool)
        for a in range(3):
            inside &= (ijk[a] >= -0.5) & (ijk[a] <= shape_ijk[a] - 0.5)
        if not inside.any():
            continue
        coords = np.stack([ijk[2], ijk[1], ijk[0]]).astype(np.float32)
        values = map_coordinates(
            layer.array, coords, order=order, mode="nearest", output=np.float32, prefilter=False
        )
        if acc is None:
            acc = np.full((h, w), -np.inf if mode == "max" else np.inf, dtype=np.float32)
            if mode in ("mean", "sum"):
                acc[:] = 0
        if mode == "max":
            acc = np.where(inside, np.maximum(acc, values), acc)
        elif mode == "min":
            acc = np.where(inside, np.minimum(acc, values), acc)
        else:
            acc += np.where(inside, values, 0)
        hits += inside
    covered = hits > 0
    if acc is None:
        acc = np.zeros((h, w), dtype=np.float32)
    elif mode == "mean":
        acc = acc / np.maximum(hits, 1)
    acc[~covered] = 0
    grey = apply_window_level(acc, layer.window, layer.level)
    grey[~covered] = 0
    if not alpha:
        return Image.fromarray(grey)
    return Image.fromarray(np.dstack([grey, np.where(covered, 255, 0).astype(np.uint8)]))
