"""``slicer.cli`` and the command-line modules voxweb runs in process.

Slicer runs CLI modules (ResampleScalarVolume, BRAINSResample, ...) as separate programs and
records each run in a ``vtkMRMLCommandLineModuleNode``. Here a run is a Python function on
the scene's volumes (``services.resample``), done at once: ``slicer.cli.run`` returns a node
already ``Completed`` (or ``CompletedWithErrors`` with the message in ``GetErrorText()``;
``runSync`` raises instead). Parameters may be nodes or node IDs; names the real module has
but voxweb does not use are accepted and ignored, unknown names are refused.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxweb.scene import geometry
from voxweb.scene.nodes import LabelMapVolume, ScalarVolume, TransformNode
from voxweb.scene.parameters import (
    STATUS_COMPLETED,
    STATUS_COMPLETED_WITH_ERRORS,
    STATUS_IDLE,
    STATUS_RUNNING,
    CommandLineModuleRun,
)
from voxweb.scripting.modules import _Logic, logic
from voxweb.scripting.node import vtkMRMLNode
from voxweb.scripting.registry import register, unwrap, wrap
from voxweb.services import resample as resampling
from voxweb.services.workspace import Workspace

log = logging.getLogger("voxweb.exec")


@dataclass
class CliModule:
    name: str  # Slicer's module name (ResampleScalarVolume)
    run: Callable[[Workspace, dict[str, str]], list[ScalarVolume]]  # returns output volumes
    used: tuple[str, ...]
    ignored: tuple[str, ...] = ()


_CLI: dict[str, CliModule] = {}


def cli_module(name: str, used: tuple[str, ...], ignored: tuple[str, ...] = ()) -> Callable:
    """Register ``function(workspace, parameters)`` as the command-line module ``name``."""

    def register_cli(function: Callable) -> Callable:
        module = CliModule(name, function, used, ignored)
        _CLI[name.lower()] = module

        @logic(name.lower())
        class CliLogic(_Logic):
            def CreateNodeInScene(self) -> Any:  # noqa: N802
                return wrap(_new_run(self._workspace, module))

            def ApplyAndWait(self, node: Any, update_display: bool = True) -> None:  # noqa: N802
                _execute(self._workspace, unwrap(node), module, bool(update_display))

            Apply = ApplyAndWait  # noqa: N815

        CliLogic.__name__ = f"{name}Logic"
        return function

    return register_cli


# --------------------------------------------------------------------------- parameters


def _volume(workspace: Workspace, parameters: dict[str, str], key: str) -> ScalarVolume:
    node_id = parameters.get(key)
    if not node_id:
        raise ValueError(f"parameter {key!r} is required (a volume node or its ID)")
    node = workspace.scene.get_node_by_id(node_id)
    if not isinstance(node, ScalarVolume):
        raise ValueError(f"{key}: {node_id!r} is not a scalar volume in the scene")
    return node


def _optional_volume(workspace: Workspace, parameters: dict[str, str], key: str):
    return _volume(workspace, parameters, key) if parameters.get(key) else None


def _numbers(text: str, key: str) -> list[float]:
    try:
        return [float(v) for v in str(text).replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{key}: expected comma-separated numbers, got {text!r}") from None


def _flag(text: str | None) -> bool:
    return str(text).strip().lower() in ("1", "true", "yes", "on")


def _transform_matrix(workspace: Workspace, node_id: str | None, inverse: bool) -> np.ndarray:
    """Output RAS -> input RAS for a transform node: the inverse of its world matrix (the
    input moves by the transform, as when it sits under it), or the matrix with ``inverse``."""
    if not node_id:
        return np.eye(4)
    node = workspace.scene.get_node_by_id(node_id)
    if not isinstance(node, TransformNode):
        raise ValueError(f"{node_id!r} is not a transform node in the scene")
    matrix = workspace.scene.transform_to_world(node)  # grid transforms raise, naming them
    return matrix if inverse else np.linalg.inv(matrix)


def _write_output(
    workspace: Workspace, parameters: dict[str, str], key: str, array: np.ndarray, matrix
) -> ScalarVolume:
    output = _volume(workspace, parameters, key)
    output.set_array(array, matrix)
    return output


_PIXEL_TYPES = {
    "float": np.float32,
    "double": np.float64,
    "short": np.int16,
    "ushort": np.uint16,
    "int": np.int32,
    "uint": np.uint32,
    "uchar": np.uint8,
    "char": np.int8,
}


# --------------------------------------------------------------------------- the modules


@cli_module(
    "ResampleScalarVolume",
    used=("InputVolume", "OutputVolume", "outputPixelSpacing", "interpolationType"),
)
def resample_scalar_volume(workspace: Workspace, parameters: dict[str, str]) -> list:
    """New spacing, same origin, directions and physical extent."""
    volume = _volume(workspace, parameters, "InputVolume")
    spacing = _numbers(parameters.get("outputPixelSpacing", "0,0,0"), "outputPixelSpacing")
    interpolation = {
        "linear": "linear",
        "nearestneighbor": "nearest",
        "bspline": "bspline",
    }.get(parameters.get("interpolationType", "linear").lower())
    if interpolation is None:
        raise NotImplementedError(
            f"interpolationType {parameters['interpolationType']!r} (a windowed-sinc kernel) "
            "is not available in voxweb; use linear, nearestNeighbor or bspline"
        )
    shape, matrix = resampling.spacing_grid(volume.ijk_to_ras, volume.array.shape, spacing)
    array = resampling.resample(
        volume.array,
        volume.ijk_to_ras,
        shape,
        matrix,
        interpolation,
        max_bytes=workspace.max_volume_size,
    )
    return [_write_output(workspace, parameters, "OutputVolume", array, matrix)]


@cli_module(
    "BRAINSResample",
    used=(
        "inputVolume",
        "referenceVolume",
        "outputVolume",
        "warpTransform",
        "interpolationMode",
        "pixelType",
        "inverseTransform",
        "defaultValue",
    ),
    ignored=("gridSpacing", "numberOfThreads", "deformationVolume"),
)
def brains_resample(workspace: Workspace, parameters: dict[str, str]) -> list:
    """The input on the reference volume's grid, moved by an optional linear transform."""
    volume = _volume(workspace, parameters, "inputVolume")
    reference = _optional_volume(workspace, parameters, "referenceVolume") or volume
    mode = parameters.get("interpolationMode", "Linear")
    interpolation = {"linear": "linear", "nearestneighbor": "nearest", "bspline": "bspline"}.get(
        mode.lower()
    )
    if interpolation is None:
        raise NotImplementedError(
            f"interpolationMode {mode!r} is not available in voxweb; "
            "use Linear, NearestNeighbor or BSpline"
        )
    pixel_type = parameters.get("pixelType", "float").lower()
    if pixel_type == "binary":
        dtype: Any = np.uint8
        interpolation = "nearest"
    elif pixel_type in _PIXEL_TYPES:
        dtype = _PIXEL_TYPES[pixel_type]
    else:
        raise ValueError(f"pixelType must be one of {', '.join(_PIXEL_TYPES)} or binary")
    moving = _transform_matrix(
        workspace, parameters.get("warpTransform"), _flag(parameters.get("inverseTransform"))
    )
    array = resampling.resample(
        volume.array,
        volume.ijk_to_ras,
        reference.array.shape,
        reference.ijk_to_ras,
        interpolation,
        float(parameters.get("defaultValue", 0) or 0),
        moving,
        dtype,
        max_bytes=workspace.max_volume_size,
    )
    if pixel_type == "binary":
        array = (array != 0).astype(np.uint8)
    return [_write_output(workspace, parameters, "outputVolume", array, reference.ijk_to_ras)]


@cli_module(
    "ResampleScalarVectorDWIVolume",
    used=(
        "inputVolume",
        "outputVolume",
        "referenceVolume",
        "transformationFile",
        "interpolationType",
        "Inverse_ITK_Transformation",
        "spacing",
        "size",
        "origin",
        "direction_matrix",
        "defaultPixelValue",
    ),
    ignored=(
        "numberOfThread",
        "notbulk",
        "space",
        "centered_transform",
        "image_center",
        "window_function",
        "spline_order",
        "transform_order",
        "transform_matrix",
        "transform",
    ),  # fmt: skip
)
def resample_scalar_vector_dwi_volume(workspace: Workspace, parameters: dict[str, str]) -> list:
    """The input on the reference grid (or its own), with spacing/size/origin/direction
    overrides (origin and direction in LPS, as the module takes them)."""
    volume = _volume(workspace, parameters, "inputVolume")
    grid = _optional_volume(workspace, parameters, "referenceVolume") or volume
    spacing = geometry.spacing_of(grid.ijk_to_ras)
    origin = geometry.origin_of(grid.ijk_to_ras)
    directions = geometry.directions_of(grid.ijk_to_ras)
    shape = list(grid.array.shape)
    flip = np.diag([-1.0, -1.0, 1.0])
    if parameters.get("spacing"):
        spacing = np.array(_numbers(parameters["spacing"], "spacing"))
        if not parameters.get("size") and grid is volume:
            extent = np.array(volume.shape_ijk) * geometry.spacing_of(volume.ijk_to_ras)
            shape = list(np.maximum(1, np.floor(extent / spacing + 0.5)).astype(int)[::-1])
    if parameters.get("size"):
        shape = [int(v) for v in _numbers(parameters["size"], "size")][::-1]
    if parameters.get("origin"):
        origin = flip @ np.array(_numbers(parameters["origin"], "origin"))
    if parameters.get("direction_matrix"):
        lps = np.array(_numbers(parameters["direction_matrix"], "direction_matrix")).reshape(3, 3)
        directions = flip @ lps
    matrix = geometry.ijk_to_ras_matrix(spacing, origin, directions)
    kind = parameters.get("interpolationType", "linear").lower()
    interpolation = {"linear": "linear", "nn": "nearest", "bs": "bspline"}.get(kind)
    if interpolation is None:
        raise NotImplementedError(
            f"interpolationType {kind!r} is not available in voxweb; use linear, nn or bs"
        )
    if isinstance(volume, LabelMapVolume):
        interpolation = "nearest"
    moving = _transform_matrix(
        workspace,
        parameters.get("transformationFile"),
        _flag(parameters.get("Inverse_ITK_Transformation")),
    )
    array = resampling.resample(
        volume.array,
        volume.ijk_to_ras,
        shape,
        matrix,
        interpolation,
        float(parameters.get("defaultPixelValue", 0) or 0),
        moving,
        max_bytes=workspace.max_volume_size,
    )
    return [_write_output(workspace, parameters, "outputVolume", array, matrix)]


# --------------------------------------------------------------------------- runs


def _new_run(workspace: Workspace, module: CliModule) -> CommandLineModuleRun:
    node = CommandLineModuleRun(module.name)
    with workspace.scene.lock:
        workspace.scene.add(node, workspace.scene.unique_name(module.name))
    return node


def _set_parameters(node: CommandLineModuleRun, module: CliModule, parameters: dict) -> None:
    known = set(module.used) | set(module.ignored)
    for key, value in (parameters or {}).items():
        if key not in known:
            raise ValueError(
                f"{module.name} has no parameter {key!r}; voxweb's {module.name} takes: "
                + ", ".join(module.used)
            )
        if value is None:
            text = ""
        elif isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = repr(value)
        elif isinstance(value, (list, tuple)):
            text = ",".join(str(v) for v in value)
        else:
            text = unwrap(value).id
        if key in module.ignored:
            log.info("%s: parameter %s is accepted and ignored by voxweb", module.name, key)
        node.parameters[key] = text
    node.modified()


def _execute(
    workspace: Workspace, node: CommandLineModuleRun, module: CliModule, update_display: bool
) -> None:
    node.status = STATUS_RUNNING
    try:
        with workspace.scene.lock:
            outputs = module.run(workspace, dict(node.parameters))
            if update_display and outputs:
                workspace.show_volume(outputs[0], fit=False)
    except Exception as exc:
        node.error_text = f"{type(exc).__name__}: {exc}"
        node.status = STATUS_COMPLETED_WITH_ERRORS
        raise
    node.error_text = ""
    node.status = STATUS_COMPLETED


def _module_of(module: Any) -> CliModule:
    name = module if isinstance(module, str) else getattr(module, "name", None)
    found = _CLI.get(str(name).lower()) if name else None
    if found is None:
        raise ValueError(
            f"voxweb has no command-line module {name!r}; it runs: "
            + ", ".join(m.name for m in _CLI.values())
        )
    return found


@register
class vtkMRMLCommandLineModuleNode(vtkMRMLNode):  # noqa: N801
    """One run of a command-line module: parameters, status, messages."""

    Idle = STATUS_IDLE
    Scheduled = 0x01
    Running = STATUS_RUNNING
    Cancelling = 0x04
    Cancelled = 0x08
    Completing = 0x10
    Completed = STATUS_COMPLETED
    ErrorsMask = 0x40
    CompletedWithErrors = STATUS_COMPLETED_WITH_ERRORS
    StatusModifiedEvent = 19000  # vtkMRMLCommandLineModuleNode's status event number

    def GetStatus(self) -> int:  # noqa: N802
        return int(self._node.status)

    def GetStatusString(self) -> str:  # noqa: N802
        return self._node.status_name

    def IsBusy(self) -> bool:  # noqa: N802
        return self._node.status in (0x01, STATUS_RUNNING, 0x04, 0x10)

    def GetErrorText(self) -> str:  # noqa: N802
        return self._node.error_text

    def GetOutputText(self) -> str:  # noqa: N802
        return self._node.output_text

    def GetModuleTitle(self) -> str:  # noqa: N802
        return self._node.module

    GetModuleName = GetModuleTitle  # noqa: N815

    def GetParameterAsString(self, name: str) -> str:  # noqa: N802
        return self._node.parameters.get(str(name), "")

    def SetParameterAsString(self, name: str, value: Any) -> bool:  # noqa: N802
        _set_parameters(self._node, _module_of(self._node.module), {str(name): value})
        return True

    SetParameterAsNode = SetParameterAsString  # noqa: N815
    SetParameterAsDouble = SetParameterAsString  # noqa: N815
    SetParameterAsInt = SetParameterAsString  # noqa: N815
    SetParameterAsBool = SetParameterAsString  # noqa: N815

    def Cancel(self) -> None:  # noqa: N802
        """Runs finish before control returns to the script: nothing to cancel."""


def cli_namespace(workspace: Workspace) -> types.ModuleType:
    """``slicer.cli``: run, runSync, createNode, setNodeParameters, cancel."""
    cli = types.ModuleType("slicer.cli", "command-line modules, run in process by voxweb")

    def createNode(cliModule: Any, parameters: dict | None = None) -> Any:  # noqa: N802, N803
        module = _module_of(cliModule)
        node = _new_run(workspace, module)
        _set_parameters(node, module, parameters or {})
        return wrap(node)

    def setNodeParameters(node: Any, parameters: dict) -> None:  # noqa: N802
        run = unwrap(node)
        _set_parameters(run, _module_of(run.module), parameters)

    def _prepare(cliModule: Any, node: Any, parameters: dict | None) -> tuple:  # noqa: N803
        module = _module_of(cliModule)
        run = unwrap(node) if node is not None else _new_run(workspace, module)
        if run.module.lower() != module.name.lower():
            raise ValueError(f"{run.name!r} is a run of {run.module}, not of {module.name}")
        run.status = STATUS_IDLE
        _set_parameters(run, module, parameters or {})
        return module, run

    def run(
        cliModule: Any,  # noqa: N803
        node: Any = None,
        parameters: dict | None = None,
        wait_for_completion: bool = False,
        delete_temporary_files: bool = True,
        update_display: bool = True,
    ) -> Any:
        """Run at once (there is no background queue); errors end in the node's status."""
        module, record = _prepare(cliModule, node, parameters)
        try:
            _execute(workspace, record, module, bool(update_display))
        except Exception as exc:
            log.error("%s failed: %s", module.name, exc)
        return wrap(record)

    def runSync(  # noqa: N802
        cliModule: Any,  # noqa: N803
        node: Any = None,
        parameters: dict | None = None,
        delete_temporary_files: bool = True,
        update_display: bool = True,
    ) -> Any:
        """Run and raise if the module fails, as Slicer's runSync does."""
        module, record = _prepare(cliModule, node, parameters)
        try:
            _execute(workspace, record, module, bool(update_display))
        except Exception as exc:
            raise ValueError(f"CLI execution failed: {record.error_text}") from exc
        return wrap(record)

    def cancel(node: Any) -> None:
        """Nothing runs in the background: a run is over when ``run`` returns."""

    for function in (createNode, setNodeParameters, run, runSync, cancel):
        setattr(cli, function.__name__, function)
    return cli


__all__ = ["cli_module", "cli_namespace", "vtkMRMLCommandLineModuleNode"]
