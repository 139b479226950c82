"""3-D view camera math in RAS (numpy only): reset to bounds, look from an axis, orbit, roll,
pan, zoom, and the view/projection used by the numpy ray caster.

Cameras are immutable :class:`voxweb.scene.views.Camera` values; every function returns a new
one, so assigning it to a view records the change (and bumps the view's modification stamp).
"""

from __future__ import annotations

import math

import numpy as np

from voxweb.scene.views import Camera

#: lookFromAxis letters -> (direction from the focal point to the camera, view-up), as Slicer.
AXES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "r": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "l": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "a": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "p": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "s": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "i": ((0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
}


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _camera(position, focal, up, angle: float) -> Camera:
    return Camera(
        tuple(float(x) for x in position),  # type: ignore[arg-type]
        tuple(float(x) for x in focal),  # type: ignore[arg-type]
        tuple(float(x) for x in _unit(np.asarray(up, dtype=float))),  # type: ignore[arg-type]
        float(angle),
    )


def reset_camera(bounds: np.ndarray, axis: str = "a", view_angle: float = 30.0) -> Camera:
    """Look at the centre of RAS ``bounds`` (6 values) from ``axis`` so that they fit the view."""
    b = np.asarray(bounds, dtype=float).reshape(3, 2)
    centre = b.mean(axis=1)
    radius = max(float(np.linalg.norm(b[:, 1] - b[:, 0])) / 2.0, 1.0)
    distance = 0.8 * radius / math.sin(math.radians(view_angle) / 2.0)  # a snug fit
    direction, up = AXES[axis]
    return _camera(centre + np.asarray(direction) * distance, centre, up, view_angle)


def axis_letter(text: str) -> str:
    """``lookFromAxis`` value -> one of r l a p s i (first letter, any case); ValueError else."""
    letter = text.strip()[:1].lower()
    if letter not in AXES:
        raise ValueError(
            f"lookFromAxis must be one of right, left, anterior, posterior, superior, inferior "
            f"(or the first letter), not {text!r}"
        )
    return letter


def look_from_axis(camera: Camera, axis: str, bounds: np.ndarray | None = None) -> Camera:
    """Look from a RAS axis. With the scene's ``bounds``, as Slicer's look-from buttons: the
    zoom is reset and the scene centred (the camera fits the bounds from that axis); without,
    the camera keeps its focal point and distance."""
    letter = axis_letter(axis)
    if bounds is not None:
        return reset_camera(bounds, letter, camera.view_angle)
    focal = np.asarray(camera.focal_point)
    distance = float(np.linalg.norm(np.asarray(camera.position) - focal)) or 500.0
    direction, up = AXES[letter]
    return _camera(focal + np.asarray(direction) * distance, focal, up, camera.view_angle)


def centre_view(camera: Camera, bounds: np.ndarray) -> Camera:
    """Fit the camera to ``bounds`` keeping its viewing direction and view-up (Slicer's
    "Center view"): the focal point moves to the centre, the distance to a snug fit."""
    fitted = reset_camera(bounds, "a", camera.view_angle)
    centre = np.asarray(fitted.focal_point)
    distance = float(np.linalg.norm(np.asarray(fitted.position) - centre))
    forward, _, up = _frame(camera)
    return _camera(centre - forward * distance, centre, up, camera.view_angle)


def _frame(camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forward, right, up) unit vectors; up made orthogonal to forward."""
    forward = _unit(np.asarray(camera.focal_point) - np.asarray(camera.position))
    up = np.asarray(camera.view_up, dtype=float)
    right = _unit(np.cross(forward, up))
    if not np.any(right):
        right = _unit(np.cross(forward, [0.0, 0.0, 1.0] if abs(forward[2]) < 0.9 else [0, 1.0, 0]))
    return forward, right, np.cross(right, forward)


def _rotate(v: np.ndarray, axis: np.ndarray, degrees: float) -> np.ndarray:
    """Rodrigues rotation of ``v`` about unit ``axis``."""
    a = math.radians(degrees)
    k = _unit(np.asarray(axis, dtype=float))
    return v * math.cos(a) + np.cross(k, v) * math.sin(a) + k * (k @ v) * (1 - math.cos(a))


def orbit(camera: Camera, azimuth: float = 0.0, elevation: float = 0.0) -> Camera:
    """Rotate the camera about the focal point: azimuth about view-up, elevation about right."""
    focal = np.asarray(camera.focal_point)
    offset = np.asarray(camera.position) - focal
    _, right, up = _frame(camera)
    offset = _rotate(offset, up, azimuth)
    offset = _rotate(offset, right, elevation)
    up = _rotate(up, right, elevation)
    return _camera(focal + offset, focal, up, camera.view_angle)


def roll(camera: Camera, degrees: float) -> Camera:
    """Rotate view-up about the direction of projection."""
    forward, _, up = _frame(camera)
    return _camera(
        camera.position, camera.focal_point, _rotate(up, forward, degrees), camera.view_angle
    )


def pan(camera: Camera, dx: float, dy: float) -> Camera:
    """Move camera and focal point by ``dx`` mm to the right and ``dy`` mm up (screen axes)."""
    _, right, up = _frame(camera)
    shift = right * dx + up * dy
    return _camera(
        np.asarray(camera.position) + shift,
        np.asarray(camera.focal_point) + shift,
        camera.view_up,
        camera.view_angle,
    )


def zoom(camera: Camera, factor: float) -> Camera:
    """Dolly towards the focal point: ``factor`` 2 halves the distance (things look twice as big)."""
    if factor <= 0:
        raise ValueError(f"zoom must be a positive factor, not {factor}")
    focal = np.asarray(camera.focal_point)
    position = focal + (np.asarray(camera.position) - focal) / factor
    return _camera(position, focal, camera.view_up, camera.view_angle)


def rays(camera: Camera, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Ray origin (3,) and unit directions (h, w, 3) through pixel centres (row 0 on top)."""
    w, h = size
    forward, right, up = _frame(camera)
    tan = math.tan(math.radians(camera.view_angle) / 2.0)  # vertical half-angle, as VTK
    xs = ((np.arange(w) + 0.5) / w * 2 - 1) * tan * (w / h)
    ys = (1 - (np.arange(h) + 0.5) / h * 2) * tan
    d = forward[None, None, :] + xs[None, :, None] * right + ys[:, None, None] * up
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    return np.asarray(camera.position, dtype=float), d


def project(camera: Camera, size: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(N, 3) RAS -> (N, 3) of (column, row, depth along the view direction)."""
    w, h = size
    forward, right, up = _frame(camera)
    rel = np.asarray(points, dtype=float) - np.asarray(camera.position)
    depth = rel @ forward
    tan = math.tan(math.radians(camera.view_angle) / 2.0)
    safe = np.where(depth > 1e-6, depth, np.nan)
    x = (rel @ right) / (safe * tan * (w / h))
    y = (rel @ up) / (safe * tan)
    return np.c_[(x + 1) / 2 * w - 0.5, (1 - y) / 2 * h - 0.5, depth]
