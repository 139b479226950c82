"""Named color ramps for scalar volumes (Slicer's standard continuous color tables).

A scalar volume shown with a color table maps its window/level range onto the table's 256
entries instead of onto grey. Each ramp here is *computed*: an HSV sweep for Slicer's
procedural tables (Iron, Rainbow, Ocean, Red...), or piecewise-linear interpolation through a
few hand-picked anchor colours for the perceptual maps (Viridis, Magma, Inferno, Plasma) and
the PET tables. The slice renderer and the scripting color nodes read the same tables, so
``GetColor`` reports what the slice shows. Pure numpy; no scene, no drawing.
"""

from __future__ import annotations

import colorsys
import functools
from collections.abc import Callable, Sequence

import numpy as np

SIZE = 256


def _hsv_ramp(
    hue: tuple[float, float], saturation: tuple[float, float], value: tuple[float, float]
) -> np.ndarray:
    """A linear sweep in HSV from the first to the second value of each range."""
    t = np.linspace(0.0, 1.0, SIZE)
    h = hue[0] + (hue[1] - hue[0]) * t
    s = saturation[0] + (saturation[1] - saturation[0]) * t
    v = value[0] + (value[1] - value[0]) * t
    return np.array([colorsys.hsv_to_rgb(*hsv) for hsv in zip(h, s, v, strict=True)])


def _anchors(points: Sequence[tuple[float, float, float]]) -> np.ndarray:
    """Evenly spaced anchor colours joined by straight lines in RGB."""
    anchors = np.asarray(points, dtype=float)
    where = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, SIZE)
    return np.stack([np.interp(t, where, anchors[:, c]) for c in range(3)], axis=1)


def _hue(h: float) -> Callable[[], np.ndarray]:
    """Black to a fully saturated hue (Slicer's Red, Green, Blue... tables)."""
    return lambda: _hsv_ramp((h, h), (1.0, 1.0), (0.0, 1.0))


# name -> a function computing the (256, 3) float ramp
_RAMPS: dict[str, Callable[[], np.ndarray]] = {
    "Grey": lambda: _hsv_ramp((0, 0), (0, 0), (0, 1)),
    "InvertedGrey": lambda: _hsv_ramp((0, 0), (0, 0), (1, 0)),
    "Iron": lambda: _hsv_ramp((0.0, 0.15), (1.0, 1.0), (1.0, 1.0)),
    "Rainbow": lambda: _hsv_ramp((0.0, 0.8), (1.0, 1.0), (1.0, 1.0)),
    "ReverseRainbow": lambda: _hsv_ramp((0.8, 0.0), (1.0, 1.0), (1.0, 1.0)),
    "Ocean": lambda: _hsv_ramp((0.666667, 0.5), (1.0, 1.0), (1.0, 1.0)),
    "Desert": lambda: _hsv_ramp((0.0, 0.1), (0.0, 1.0), (1.0, 1.0)),
    "Red": _hue(0.0),
    "Green": _hue(1 / 3),
    "Blue": _hue(2 / 3),
    "Yellow": _hue(1 / 6),
    "Cyan": _hue(0.5),
    "Magenta": _hue(5 / 6),
    "Warm1": lambda: _hsv_ramp((1 / 6, 0.0), (1.0, 1.0), (1.0, 1.0)),
    "Warm2": lambda: _hsv_ramp((1 / 6, 0.0), (1.0, 1.0), (1.0, 0.6)),
    "Warm3": lambda: _hsv_ramp((1 / 6, 0.0), (0.5, 1.0), (1.0, 0.9)),
    "Cool1": lambda: _hsv_ramp((0.5, 2 / 3), (1.0, 1.0), (1.0, 1.0)),
    "Cool2": lambda: _hsv_ramp((0.5, 2 / 3), (1.0, 1.0), (1.0, 0.6)),
    "Cool3": lambda: _hsv_ramp((0.5, 2 / 3), (0.5, 1.0), (1.0, 0.9)),
    "HotToColdRainbow": lambda: _hsv_ramp((0.0, 2 / 3), (1.0, 1.0), (1.0, 1.0)),
    "ColdToHotRainbow": lambda: _hsv_ramp((2 / 3, 0.0), (1.0, 1.0), (1.0, 1.0)),
    "DivergingBlueRed": lambda: _anchors(
        [(0.23, 0.30, 0.75), (0.87, 0.87, 0.87), (0.71, 0.02, 0.15)]
    ),
    "Viridis": lambda: _anchors(
        [
            (0.27, 0.00, 0.33),
            (0.23, 0.32, 0.55),
            (0.13, 0.57, 0.55),
            (0.37, 0.79, 0.38),
            (0.99, 0.91, 0.14),
        ]
    ),  # fmt: skip
    "Magma": lambda: _anchors(
        [
            (0.00, 0.00, 0.02),
            (0.32, 0.07, 0.50),
            (0.72, 0.21, 0.47),
            (0.99, 0.53, 0.38),
            (0.99, 0.99, 0.75),
        ]
    ),  # fmt: skip
    "Inferno": lambda: _anchors(
        [
            (0.00, 0.00, 0.02),
            (0.34, 0.06, 0.43),
            (0.73, 0.21, 0.33),
            (0.98, 0.55, 0.04),
            (0.99, 1.00, 0.64),
        ]
    ),  # fmt: skip
    "Plasma": lambda: _anchors(
        [
            (0.05, 0.03, 0.53),
            (0.49, 0.01, 0.66),
            (0.80, 0.28, 0.47),
            (0.97, 0.59, 0.25),
            (0.94, 0.98, 0.13),
        ]
    ),  # fmt: skip
    "Cividis": lambda: _anchors([(0.0, 0.13, 0.30), (0.49, 0.49, 0.47), (1.0, 0.92, 0.27)]),
    "PET-Heat": lambda: _anchors([(0, 0, 0), (0.75, 0, 0), (1.0, 0.6, 0), (1, 1, 1)]),
    "PET-Rainbow": lambda: _anchors(
        [(0, 0, 0), (0, 0, 0.8), (0, 0.8, 0.8), (0, 0.8, 0), (1, 1, 0), (1, 0, 0)]
    ),
    "PET-Rainbow2": lambda: _anchors(
        [(0, 0, 0), (0.4, 0, 0.6), (0, 0, 1), (0, 1, 0), (1, 1, 0), (1, 0, 0), (1, 1, 1)]
    ),
    "PET-DICOM": lambda: _anchors([(0, 0, 0), (0, 0.5, 0.5), (0.5, 0, 1), (1, 0.5, 0), (1, 1, 1)]),
    "PET-MaximumIntensityProjection": lambda: _hsv_ramp((0, 0), (0, 0), (1, 0)),
}


def names() -> list[str]:
    """Every ramp this module computes."""
    return sorted(_RAMPS)


def has_ramp(name: str) -> bool:
    return name in _RAMPS


@functools.lru_cache(maxsize=64)
def ramp(name: str) -> np.ndarray:
    """(256, 4) float RGBA in 0..1 for a named table; KeyError naming the known ones."""
    try:
        rgb = _RAMPS[name]()
    except KeyError:
        raise KeyError(f"no color ramp {name!r} (known: {', '.join(names())})") from None
    out = np.ones((SIZE, 4))
    out[:, :3] = np.clip(rgb, 0.0, 1.0)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=64)
def lut(name: str) -> np.ndarray | None:
    """(256, 3) uint8 for the slice renderer, or None for Grey (the renderer's own path) and
    for names that are not continuous ramps (label tables on a scalar volume show as grey)."""
    if name == "Grey" or name not in _RAMPS:
        return None
    table = np.round(ramp(name)[:, :3] * 255.0).astype(np.uint8)
    table.setflags(write=False)
    return table


__all__ = ["SIZE", "has_ramp", "lut", "names", "ramp"]
