"""Volume rendering presets: named transfer functions (Slicer's preset names, voxweb's curves).

A preset maps voxel values to opacity and colour. CT presets are written in Hounsfield units
(they suit any CT); MR presets in fractions of the volume's window (0 = ``level - window/2``,
1 = ``level + window/2``) since MR intensities have no fixed scale. The curves are voxweb's
own, shaped to show what each name promises (bone, soft tissue, lung, vessels...). Both 3-D
renderers read them through :func:`voxweb.render.scene3d.transfer_points`. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    name: str
    opacity: tuple[tuple[float, float], ...]  # (value, opacity)
    colour: tuple[tuple[float, float, float, float], ...]  # (value, r, g, b)
    relative: bool = False  # values are fractions of the window (MR), not HU (CT)

    def points(
        self, window: float, level: float
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float, float, float]]]:
        """Absolute (opacity points, colour points) for a volume's window/level."""
        if not self.relative:
            return list(self.opacity), list(self.colour)
        lo, span = level - window / 2.0, max(window, 1e-6)
        return (
            [(lo + x * span, a) for x, a in self.opacity],
            [(lo + x * span, r, g, b) for x, r, g, b in self.colour],
        )


_BONE = ((150.0, 0.55, 0.25, 0.15), (300.0, 0.9, 0.8, 0.6), (1200.0, 1.0, 1.0, 0.95))

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "CT-Bone",
            ((-1000.0, 0.0), (150.0, 0.0), (300.0, 0.15), (1200.0, 0.6), (3000.0, 0.8)),
            ((-1000.0, 0.3, 0.3, 1.0), *_BONE),
        ),
        Preset(
            "CT-Bones",
            ((-1000.0, 0.0), (100.0, 0.0), (200.0, 0.3), (800.0, 0.7), (3000.0, 0.85)),
            ((100.0, 0.6, 0.35, 0.2), (250.0, 0.95, 0.85, 0.7), (1000.0, 1.0, 1.0, 1.0)),
        ),
        Preset(
            "CT-Soft-Tissue",
            ((-1000.0, 0.0), (-150.0, 0.0), (-50.0, 0.1), (80.0, 0.3), (300.0, 0.4)),
            (
                (-150.0, 0.4, 0.1, 0.05),
                (-50.0, 0.8, 0.5, 0.35),
                (80.0, 0.95, 0.75, 0.65),
                (300.0, 1.0, 1.0, 0.9),
            ),
        ),  # fmt: skip
        Preset(
            "CT-Muscle",
            ((-1000.0, 0.0), (-10.0, 0.0), (60.0, 0.35), (200.0, 0.5), (3000.0, 0.7)),
            (
                (-10.0, 0.3, 0.0, 0.0),
                (60.0, 0.8, 0.2, 0.15),
                (200.0, 1.0, 0.85, 0.75),
                (1000.0, 1.0, 1.0, 1.0),
            ),
        ),  # fmt: skip
        Preset(
            "CT-Lung",
            (
                (-1000.0, 0.0),
                (-950.0, 0.0),
                (-800.0, 0.12),
                (-550.0, 0.04),
                (-400.0, 0.0),
                (3000.0, 0.0),
            ),
            ((-950.0, 0.2, 0.3, 0.8), (-800.0, 0.85, 0.55, 0.55), (-550.0, 1.0, 0.8, 0.8)),
        ),  # fmt: skip
        Preset(
            "CT-AAA",
            ((-1000.0, 0.0), (100.0, 0.0), (180.0, 0.35), (450.0, 0.6), (3000.0, 0.8)),
            (
                (100.0, 0.5, 0.0, 0.0),
                (180.0, 0.9, 0.15, 0.1),
                (450.0, 1.0, 0.9, 0.8),
                (1500.0, 1.0, 1.0, 1.0),
            ),
        ),  # fmt: skip
        Preset(
            "CT-Air",
            ((-1024.0, 0.12), (-750.0, 0.06), (-500.0, 0.0), (3000.0, 0.0)),
            ((-1024.0, 0.6, 0.8, 1.0), (-500.0, 0.2, 0.4, 0.9)),
        ),
        Preset(
            "CT-MIP",
            ((-1000.0, 0.0), (3000.0, 0.6)),
            ((-1000.0, 0.0, 0.0, 0.0), (3000.0, 1.0, 1.0, 1.0)),
        ),
        Preset(
            "MR-Default",
            ((0.0, 0.0), (0.2, 0.0), (0.45, 0.08), (1.0, 0.5)),
            (
                (0.0, 0.0, 0.0, 0.0),
                (0.3, 0.55, 0.3, 0.2),
                (0.6, 0.9, 0.75, 0.6),
                (1.0, 1.0, 1.0, 1.0),
            ),
            relative=True,
        ),  # fmt: skip
        Preset(
            "MR-Angio",
            ((0.0, 0.0), (0.55, 0.0), (0.75, 0.3), (1.0, 0.8)),
            ((0.55, 0.6, 0.0, 0.0), (0.75, 1.0, 0.4, 0.1), (1.0, 1.0, 1.0, 0.6)),
            relative=True,
        ),
        Preset(
            "MR-T2-Brain",
            ((0.0, 0.0), (0.3, 0.0), (0.5, 0.1), (1.0, 0.4)),
            ((0.3, 0.3, 0.1, 0.4), (0.6, 0.7, 0.6, 0.9), (1.0, 1.0, 1.0, 1.0)),
            relative=True,
        ),
        Preset(
            "MR-MIP",
            ((0.0, 0.0), (1.0, 0.6)),
            ((0.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 1.0)),
            relative=True,
        ),
    )
}


def find_preset(name: str | None) -> Preset | None:
    """The preset of that name in any case (``ct-bone`` finds ``CT-Bone``), or None."""
    if not name:
        return None
    wanted = str(name).strip().lower()
    for key, preset in PRESETS.items():
        if key.lower() == wanted:
            return preset
    return None


def preset_names() -> list[str]:
    return list(PRESETS)


def transfer_points_for(
    name: str, window: float, level: float
) -> tuple[list[tuple[float, float]], list[tuple[float, float, float, float]]]:
    """(opacity, colour) points of a preset by name; unknown CT-ish names fall back to
    CT-Bone, anything else to MR-Default."""
    preset = find_preset(name)
    if preset is None:
        preset = PRESETS["CT-Bone" if str(name).lower().startswith("ct") else "MR-Default"]
    return preset.points(window, level)


__all__ = ["PRESETS", "Preset", "find_preset", "preset_names", "transfer_points_for"]
