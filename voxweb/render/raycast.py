"""A numpy ray caster for 3-D views when VTK or a GL context is unavailable.

Perspective rays from the view camera sample the volume (downsampled to at most 128 voxels
per axis for speed; ``quality="full"`` uses up to 256) with trilinear interpolation, composited
front to back through the same transfer function as the VTK path (or as a maximum intensity
projection). Surfaces are splatted per vertex into a depth buffer, shaded by their normals, and
cut the rays so volume and surfaces occlude each other. The image is computed at up to 256
pixels per side and scaled to the requested size. Slow (a few hundred ms) but dependency-free.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np
from PIL import Image

from voxweb.render import camera as cam
from voxweb.render.scene3d import RenderOptions, ThreeDScene, VolumeLayer, transfer_points
from voxweb.render.surfaces import box_lines
from voxweb.scene.views import Camera

logger = logging.getLogger(__name__)

_JITTER_SEED = 16  # any fixed seed: jittered images stay deterministic
_prepared: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()


def _prepare(layer: VolumeLayer, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """(float32 array downsampled by striding, its IJK->RAS)."""
    key = (layer.key, limit)
    found = _prepared.get(key)
    if found is not None:
        return found
    steps = [max(1, int(np.ceil(n / limit))) for n in layer.array.shape]
    small = np.ascontiguousarray(
        layer.array[:: steps[0], :: steps[1], :: steps[2]], dtype=np.float32
    )
    scale = np.diag([steps[2], steps[1], steps[0], 1.0])
    result = (small, np.asarray(layer.ijk_to_ras, dtype=float) @ scale)
    _prepared[key] = result
    while len(_prepared) > 4:
        try:
            _prepared.popitem(last=False)
        except KeyError:  # emptied by another thread meanwhile
            break
    return result


class NumpyRenderer:
    """Same interface as :class:`voxweb.render.threed.VtkRenderer`; thread-safe (pure numpy)."""

    name = "numpy"

    def render(self, scene: ThreeDScene, camera: Camera, options: RenderOptions) -> np.ndarray:
        w, h = options.size
        full = options.quality == "full"
        inner = max(1, min(256 if full else 160, max(w, h)))
        iw, ih = (
            (inner, max(1, round(inner * h / w)))
            if w >= h
            else (max(1, round(inner * w / h)), inner)
        )
        origin, dirs = cam.rays(camera, (iw, ih))
        depth, surface_rgb = self._surfaces(scene, camera, (iw, ih))
        rgb = np.broadcast_to(np.asarray(scene.background, dtype=np.float32), (ih, iw, 3)).copy()
        on_surface = np.isfinite(depth)
        rgb[on_surface] = surface_rgb[on_surface]
        if scene.volume is not None:
            self._volume(scene.volume, origin, dirs, depth, rgb, options, full, camera)
        image = Image.fromarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8))
        if scene.box is not None:
            self._box(image, scene.box, camera, (iw, ih))
        if (iw, ih) != (w, h):
            image = image.resize((w, h), Image.Resampling.BILINEAR)
        return np.asarray(image)

    def _surfaces(self, scene: ThreeDScene, camera: Camera, size: tuple[int, int]):
        iw, ih = size
        depth = np.full((ih, iw), np.inf)
        rgb = np.zeros((ih, iw, 3), dtype=np.float32)
        forward = np.asarray(camera.focal_point) - np.asarray(camera.position)
        forward /= np.linalg.norm(forward) or 1.0
        for surface in scene.surfaces:
            if not len(surface.vertices):
                continue
            # splat vertices and face centres (denser coverage)
            points = np.r_[surface.vertices, surface.vertices[surface.faces].mean(axis=1)]
            normals = np.r_[surface.normals, surface.normals[surface.faces].mean(axis=1)]
            colours = None
            if surface.vertex_colors is not None and len(surface.vertex_colors) == len(
                surface.vertices
            ):
                vc = np.asarray(surface.vertex_colors, dtype=np.float32)
                colours = np.r_[vc, vc[surface.faces].mean(axis=1)]
            proj = cam.project(camera, size, points)
            col = (
                np.round(proj[:, 0]).astype(np.int64, copy=False)
                if np.all(np.isfinite(proj[:, 0]))
                else None
            )
            if col is None:
                ok = np.isfinite(proj).all(axis=1)
                proj, normals = proj[ok], normals[ok]
                colours = None if colours is None else colours[ok]
                col = np.round(proj[:, 0]).astype(np.int64)
            row = np.round(proj[:, 1]).astype(np.int64)
            z = proj[:, 2]
            inside = (col >= 0) & (col < iw) & (row >= 0) & (row < ih) & (z > 0)
            col, row, z, normals = col[inside], row[inside], z[inside], normals[inside]
            colours = None if colours is None else colours[inside]
            shade = 0.35 + 0.65 * np.abs(normals @ forward)
            order = np.argsort(-z)  # far first: nearer splats overwrite
            for dr in (0, 1):
                for dc in (0, 1):
                    r = np.clip(row[order] + dr, 0, ih - 1)
                    c = np.clip(col[order] + dc, 0, iw - 1)
                    zz = z[order]
                    closer = zz < depth[r, c]
                    r, c, zz = r[closer], c[closer], zz[closer]
                    depth[r, c] = zz
                    base = (
                        np.asarray(surface.color, dtype=np.float32)
                        if colours is None
                        else colours[order][closer]
                    )
                    rgb[r, c] = base * shade[order][closer, None]
        return depth, rgb

    def _volume(self, layer, origin, dirs, depth, rgb, options, full, camera: Camera) -> None:
        from scipy.ndimage import map_coordinates

        array, ijk_to_ras = _prepare(layer, 256 if full else 128)
        camera_distance = float(np.linalg.norm(np.subtract(camera.position, camera.focal_point)))
        view_angle = camera.view_angle
        ras_to_ijk = np.linalg.inv(ijk_to_ras)
        o = ras_to_ijk[:3, :3] @ origin + ras_to_ijk[:3, 3]
        d = dirs @ ras_to_ijk[:3, :3].T  # per mm of ray length, in voxel units
        shape_ijk = np.array(array.shape[::-1], dtype=float)
        low, high = np.full(3, -0.5), shape_ijk - 0.5
        box = layer.crop_ijk(ijk_to_ras)
        if box is not None:  # cropping: rays only cross the box inside the volume
            low, high = np.maximum(low, box[:, 0]), np.minimum(high, box[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            t_a = (low - o) / d
            t_b = (high - o) / d
        t_near = np.nanmax(np.minimum(t_a, t_b), axis=-1).clip(min=0)
        t_far = np.nanmin(np.maximum(t_a, t_b), axis=-1)
        t_far = np.minimum(t_far, depth)
        hit = t_far > t_near
        # Samples a fixed distance apart that follows the voxel size and the zoom (finer when
        # a voxel covers several pixels), the first one jittered by a per-pixel random
        # fraction of a step: no wood-grain rings when zoomed in. The seed is fixed, so the
        # same view always gives the same image (cache, ETags).
        spacing = float(np.min(np.linalg.norm(ijk_to_ras[:3, :3], axis=0)))
        ih, iw = hit.shape
        pixel_mm = 2 * camera_distance * np.tan(np.radians(view_angle) / 2) / ih
        step = spacing * (0.5 if full else 1.0) * float(np.clip(pixel_mm / spacing, 0.5, 1.0))
        longest = float((t_far - t_near)[hit].max()) if hit.any() else 0.0
        cap = 768 if full else 384
        step = max(step, longest / cap)
        jitter = np.random.default_rng(_JITTER_SEED).random((ih, iw), dtype=np.float32)
        rays_o = o[None, :]
        rays_d = d[hit].astype(np.float32)
        start = t_near[hit].astype(np.float32) + jitter[hit] * step
        stop = t_far[hit].astype(np.float32)
        back = rgb[hit]  # background or the surface the ray stops at
        mip = options.mode == "mip"
        if not mip:
            opacity_pts, colour_pts = transfer_points(layer)
            ox, oy = zip(*opacity_pts, strict=True)
            cx = [p[0] for p in colour_pts]
            cy = [[p[i] for p in colour_pts] for i in (1, 2, 3)]
            mean_spacing = float(np.mean(np.linalg.norm(ijk_to_ras[:3, :3], axis=0)))
            exponent = step / mean_spacing  # opacity per unit length
        lo, hi = layer.level - layer.window / 2, layer.level + layer.window / 2
        peak = np.full(len(start), lo, dtype=np.float64)
        accumulated = np.zeros((len(start), 3), dtype=np.float64)
        transmit = np.ones(len(start), dtype=np.float64)
        live = np.arange(len(start))
        chunk = 48
        for first in range(0, int(np.ceil(longest / step)) + 1, chunk):
            if not len(live):
                break
            k = np.arange(first, first + chunk, dtype=np.float32)
            ts = start[live, None] + k[None, :] * step  # (rays, chunk)
            inside = ts < stop[live, None]
            pos = rays_o[:, None, :] + rays_d[live][:, None, :] * ts[..., None]  # IJK
            coords = np.stack([pos[..., 2], pos[..., 1], pos[..., 0]])
            values = map_coordinates(
                array,
                coords.reshape(3, -1),
                order=1,
                mode="constant",
                cval=np.nan,
                prefilter=False,
            ).reshape(len(live), chunk)
            values[~inside] = np.nan
            if mip:
                peak[live] = np.maximum(
                    peak[live], np.nanmax(np.where(np.isfinite(values), values, lo), axis=1)
                )
            else:
                v = np.nan_to_num(values, nan=-1e30)
                alpha = np.interp(v, ox, oy)
                alpha = 1 - (1 - alpha) ** exponent
                alpha[~np.isfinite(values)] = 0
                colour = np.stack([np.interp(v, cx, c) for c in cy], axis=-1)
                through = np.cumprod(1 - alpha, axis=1)
                before = np.c_[np.ones((len(live), 1)), through[:, :-1]] * transmit[live, None]
                accumulated[live] += (colour * (alpha * before)[..., None]).sum(axis=1)
                transmit[live] *= through[:, -1]
            # rays that left the volume, or (composite) are opaque already, are done
            going = inside[:, -1]
            if not mip:
                going &= transmit[live] > 1 / 512
            live = live[going]
        if mip:
            grey = np.clip((peak - lo) / max(hi - lo, 1e-9), 0, 1)[:, None]
            rgb[hit] = back * (1 - grey) + grey
            return
        rgb[hit] = accumulated + back * transmit[:, None]

    def _box(self, image: Image.Image, bounds, camera: Camera, size) -> None:
        from PIL import ImageDraw

        corners, edges = box_lines(bounds)
        proj = cam.project(camera, size, corners)
        draw = ImageDraw.Draw(image)
        for a, b in edges:
            if np.all(np.isfinite(proj[[a, b], :2])):
                draw.line(
                    [tuple(proj[a, :2] + 0.5), tuple(proj[b, :2] + 0.5)], fill=(255, 255, 255)
                )
