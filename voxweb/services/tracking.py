"""Slicer's ``/tracking``: a "tracker" transform moving a "trackingDevice" box in the scene."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxweb.scene import LinearTransform, Model, Scene


def box_model(size: tuple[float, float, float], name: str) -> Model:
    """A closed box centred on the origin, ``size`` = (x, y, z) edge lengths in mm."""
    hx, hy, hz = (s / 2 for s in size)
    vertices = np.array(
        [[x, y, z] for x in (-hx, hx) for y in (-hy, hy) for z in (-hz, hz)], dtype=float
    )
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = np.array(
        [tri for a, b, c, d in quads for tri in ((a, b, c), (a, c, d))], dtype=np.int64
    )
    model = Model(vertices, faces, name=name)
    model.color = (1.0, 1.0, 0.0)
    return model


def quaternion_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    """3x3 rotation of a (normalised) quaternion given as w, x, y, z."""
    q = np.array([w, x, y, z], dtype=float)
    norm = np.linalg.norm(q)
    if norm == 0:
        raise ValueError("quaternion q must not be all zeros")
    w, x, y, z = q / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def update_tracker(
    scene: Scene,
    rotation: np.ndarray | None = None,
    translation: Sequence[float] | None = None,
) -> LinearTransform:
    """Find or create ``tracker`` + ``trackingDevice`` and set the tracker's rotation/translation."""
    with scene.lock:
        tracker = scene.get_first_node_by_name("tracker")
        if not isinstance(tracker, LinearTransform):
            tracker = scene.add(LinearTransform(name="tracker"))
        device = scene.get_first_node_by_name("trackingDevice")
        if not isinstance(device, Model):
            device = scene.add(box_model((30.0, 70.0, 5.0), "trackingDevice"))
        if device.parent_transform_id != tracker.id:
            scene.set_parent_transform(device, tracker)
        matrix = np.array(tracker.matrix_to_parent, dtype=float)
        if rotation is not None:
            matrix[:3, :3] = rotation
        if translation is not None:
            matrix[:3, 3] = [float(v) for v in translation]
        tracker.matrix_to_parent = matrix
        return tracker
