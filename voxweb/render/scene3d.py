"""What a 3-D view shows, as both renderers take it: the volume layer, the scene snapshot,
the render options and the transfer function of a preset.

Shared by ``threed.py`` (VTK) and ``raycast.py`` (numpy), so neither renderer imports the
other's module for its inputs. Pure data and functions: no VTK, no scene.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voxweb.render.surfaces import Surface


@dataclass(frozen=True)
class VolumeLayer:
    """A volume to show by volume rendering: data, geometry and transfer-function inputs."""

    key: tuple
    array: np.ndarray
    ijk_to_ras: np.ndarray
    window: float
    level: float
    preset: str = "auto"  # auto, mr, ct or a named preset (voxweb.render.presets)
    crop: tuple[float, ...] | None = None  # RAS box (xmin, xmax, ymin, ymax, zmin, zmax)

    def resolved_preset(self) -> str:
        kind = self.preset.lower().split("-")[0]
        if kind in ("mr", "ct"):
            return kind
        return "ct" if self.level - self.window / 2 < -200 else "mr"

    def crop_ijk(self, ijk_to_ras: np.ndarray | None = None) -> np.ndarray | None:
        """The crop box in continuous IJK of ``ijk_to_ras`` (default: the layer's own) as
        (3, 2) low/high per axis, or None when not cropping."""
        if self.crop is None:
            return None
        b = np.asarray(self.crop, dtype=float).reshape(3, 2)
        corners = np.array([[x, y, z, 1.0] for x in b[0] for y in b[1] for z in b[2]])
        matrix = np.asarray(self.ijk_to_ras if ijk_to_ras is None else ijk_to_ras, dtype=float)
        ijk = (np.linalg.inv(matrix) @ corners.T)[:3]
        return np.stack([ijk.min(axis=1), ijk.max(axis=1)], axis=1)


@dataclass
class ThreeDScene:
    """Everything a 3-D view shows, snapshotted from the scene."""

    background: tuple[float, float, float]
    volume: VolumeLayer | None = None
    surfaces: list[Surface] = field(default_factory=list)
    box: np.ndarray | None = None  # RAS bounds to outline, or None


@dataclass(frozen=True)
class RenderOptions:
    size: tuple[int, int] = (512, 512)
    quality: str = "fast"  # fast | full
    mode: str = "composite"  # composite | mip


def transfer_points(layer: VolumeLayer) -> tuple[list[tuple[float, float]], list[tuple]]:
    """(opacity points, colour points) for a preset, scaled to the volume's window/level."""
    from voxweb.render.presets import find_preset

    named = find_preset(layer.preset)
    if named is not None:
        return named.points(layer.window, layer.level)
    lo = layer.level - layer.window / 2
    hi = layer.level + layer.window / 2
    if layer.resolved_preset() == "ct":
        opacity = [(-1000.0, 0.0), (150.0, 0.0), (300.0, 0.15), (1200.0, 0.6), (3000.0, 0.8)]
        colour = [(-1000.0, 0.3, 0.3, 1.0), (150.0, 0.55, 0.25, 0.15), (300.0, 0.9, 0.8, 0.6),
                  (1200.0, 1.0, 1.0, 0.95)]  # fmt: skip
        return opacity, colour
    span = hi - lo
    opacity = [(lo, 0.0), (lo + 0.2 * span, 0.0), (lo + 0.45 * span, 0.08), (hi, 0.5)]
    colour = [(lo, 0.0, 0.0, 0.0), (lo + 0.3 * span, 0.55, 0.3, 0.2), (lo + 0.6 * span, 0.9, 0.75, 0.6),
              (hi, 1.0, 1.0, 1.0)]  # fmt: skip
    return opacity, colour
