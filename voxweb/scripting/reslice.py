"""The vtkImageReslice a slice layer logic hands out (``GetBackgroundLayer().GetReslice()``).

Scripts use it two ways: to pull the current slice out as image data (``Update()`` then
``GetOutput()``), and to turn on thick-slab reconstruction (``SetSlabModeToMax()``...). The
first works because the reslice is configured from the view's plane and the volume's
geometry; the second because the slab setters also record the mode on the scene's SliceView,
which the slice renderer honours.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from vtkmodules.vtkImagingCore import vtkImageReslice

from voxweb.scene.views import SliceView
from voxweb.scripting.registry import wrap
from voxweb.scripting.transformable import world_matrix
from voxweb.scripting.vtkconvert import fill_matrix

_MODES = {0: "min", 1: "max", 2: "mean", 3: "sum"}  # VTK_IMAGE_SLAB_*


class SliceReslice(vtkImageReslice):
    """vtkImageReslice whose slab setters (called from Python) also set the view's slab."""

    _voxweb_view: SliceView | None = None

    def _record(self, **fields: Any) -> None:
        view = self._voxweb_view
        if view is not None:
            for key, value in fields.items():
                setattr(view, key, value)

    def SetSlabMode(self, mode: int) -> None:  # noqa: N802
        super().SetSlabMode(mode)
        self._record(slab_mode=_MODES.get(int(mode), "mean"))

    def SetSlabModeToMin(self) -> None:  # noqa: N802
        self.SetSlabMode(0)

    def SetSlabModeToMax(self) -> None:  # noqa: N802
        self.SetSlabMode(1)

    def SetSlabModeToMean(self) -> None:  # noqa: N802
        self.SetSlabMode(2)

    def SetSlabModeToSum(self) -> None:  # noqa: N802
        self.SetSlabMode(3)

    def SetSlabNumberOfSlices(self, count: int) -> None:  # noqa: N802
        super().SetSlabNumberOfSlices(int(count))
        self._record(slab_slices=max(1, int(count)))

    def SetSlabSliceSpacingFraction(self, fraction: float) -> None:  # noqa: N802
        super().SetSlabSliceSpacingFraction(float(fraction))
        self._record(slab_spacing=float(fraction))


def xy_to_ras(view: SliceView) -> np.ndarray:
    """Slicer's XYToRAS for the view's pixel grid (square pixels, as voxweb renders)."""
    w, h = int(view.dimensions[0]), int(view.dimensions[1])
    spacing = max(float(view.field_of_view[0]) / w, float(view.field_of_view[1]) / h)
    xy_to_slice = np.array(
        [[spacing, 0, 0, -w / 2 * spacing], [0, spacing, 0, -h / 2 * spacing], [0, 0, 1, 0],
         [0, 0, 0, 1]]
    )  # fmt: skip
    return view.slice_to_ras() @ xy_to_slice


def slice_reslice(view: SliceView, volume: Any) -> SliceReslice:
    reslice = SliceReslice()
    reslice._voxweb_view = view
    w, h = int(view.dimensions[0]), int(view.dimensions[1])
    reslice.SetOutputExtent(0, w - 1, 0, h - 1, 0, 0)
    reslice.SetOutputSpacing(1.0, 1.0, 1.0)
    reslice.SetOutputOrigin(0.0, 0.0, 0.0)
    reslice.SetInterpolationModeToLinear()
    if view.slab_mode != "none":
        super(SliceReslice, reslice).SetSlabMode(
            {v: k for k, v in _MODES.items()}.get(view.slab_mode, 2)
        )
        super(SliceReslice, reslice).SetSlabNumberOfSlices(int(view.slab_slices))
        super(SliceReslice, reslice).SetSlabSliceSpacingFraction(float(view.slab_spacing))
    if volume is not None:
        ras_to_ijk = np.linalg.inv(world_matrix(volume) @ volume.ijk_to_ras)
        reslice.SetInputData(wrap(volume).GetImageData())
        reslice.SetResliceAxes(fill_matrix(None, ras_to_ijk @ xy_to_ras(view)))
    return reslice
