"""Parameter nodes: what a processing step was asked to do, kept in the scene as Slicer does.

``CropVolumeParameters`` holds the inputs and options of a crop (which volume, which ROI,
where the output goes, voxel-based or resampled, spacing, interpolation);
``CommandLineModuleRun`` records one run of a command-line module (its parameters, status
and messages). Both are hidden from editors, as Slicer's are. Plain state: the operations
that read them live in ``voxweb.services`` and the scripting layer.
"""

from __future__ import annotations

from typing import Any

from voxweb.scene.nodes import Node

#: Crop interpolation modes (the numbers of Slicer's crop parameters node).
INTERPOLATION_NEAREST = 1
INTERPOLATION_LINEAR = 2
INTERPOLATION_WINDOWED_SINC = 3
INTERPOLATION_BSPLINE = 4


class CropVolumeParameters(Node):
    slicer_class = "vtkMRMLCropVolumeParametersNode"
    slicer_classes = ("vtkMRMLCropVolumeParametersNode", "vtkMRMLNode")
    default_name = "CropVolumeParameters"

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self.hide_from_editors = True
        self.input_volume_id: str | None = None
        self.roi_id: str | None = None
        self.output_volume_id: str | None = None
        self.voxel_based: bool = False
        self.isotropic: bool = False
        self.spacing_scale: float = 1.0
        self.interpolation_mode: int = INTERPOLATION_LINEAR
        self.fill_value: float = 0.0

    def extra_properties(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "VoxelBased": int(self.voxel_based),
            "IsotropicResampling": int(self.isotropic),
            "SpacingScalingConst": float(self.spacing_scale),
            "InterpolationMode": int(self.interpolation_mode),
            "FillValue": float(self.fill_value),
        }
        refs = {
            "InputVolume": self.input_volume_id,
            "ROI": self.roi_id,
            "OutputVolume": self.output_volume_id,
        }
        refs = {k: [v] for k, v in refs.items() if v}
        if refs:
            out["Node references"] = refs
        return out


#: Command-line module run states (the bit values of Slicer's CLI node).
STATUS_IDLE = 0x00
STATUS_RUNNING = 0x02
STATUS_COMPLETED = 0x20
STATUS_ERRORS = 0x40
STATUS_COMPLETED_WITH_ERRORS = STATUS_COMPLETED | STATUS_ERRORS
STATUS_NAMES = {
    STATUS_IDLE: "Idle",
    0x01: "Scheduled",
    STATUS_RUNNING: "Running",
    0x04: "Cancelling",
    0x08: "Cancelled",
    0x10: "Completing",
    STATUS_COMPLETED: "Completed",
    STATUS_COMPLETED_WITH_ERRORS: "CompletedWithErrors",
}


class CommandLineModuleRun(Node):
    slicer_class = "vtkMRMLCommandLineModuleNode"
    slicer_classes = ("vtkMRMLCommandLineModuleNode", "vtkMRMLNode")
    default_name = "CommandLineModule"

    def __init__(self, module: str = "", name: str = "") -> None:
        super().__init__(name)
        self.hide_from_editors = True
        self.module: str = module
        self.parameters: dict[str, str] = {}
        self.status: int = STATUS_IDLE
        self.error_text: str = ""
        self.output_text: str = ""

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, "Idle")

    def extra_properties(self) -> dict[str, Any]:
        return {
            "ModuleName": self.module,
            "Status": self.status_name,
            "Parameters": dict(self.parameters),
            "ErrorText": self.error_text,
        }


__all__ = [
    "CommandLineModuleRun",
    "CropVolumeParameters",
    "INTERPOLATION_BSPLINE",
    "INTERPOLATION_LINEAR",
    "INTERPOLATION_NEAREST",
    "INTERPOLATION_WINDOWED_SINC",
    "STATUS_COMPLETED",
    "STATUS_COMPLETED_WITH_ERRORS",
    "STATUS_NAMES",
]
