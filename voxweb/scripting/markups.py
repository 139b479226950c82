"""Markups nodes for scripts: point lists, lines, angles, curves, planes and ROIs.

Every ``vtkMRMLMarkups...Node`` view reads and writes a :mod:`voxweb.scene.markups` node:
control points (node and world coordinates, labels, flags, position status), measurements
(``GetMeasurement('length').GetValue()``), and each type's own calls (line ends, angle mode,
curve type and curve points as ``vtkPoints``, plane origin/normal/axes/size, ROI centre/size/
orientation/bounds). The markups display node (``vtkMRMLMarkupsDisplayNode``) is a view of
the display properties kept on the same scene node; the JSON storage node writes ``.mrk.json``.
Point events (``PointAddedEvent``, ``PointModifiedEvent``...) are reported to observers by
comparing the control points before and after each change of the node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from voxweb.scene.markups import (
    CURVE_TYPES,
    GLYPH_TYPES,
    MarkupsAngle,
    MarkupsClosedCurve,
    MarkupsCurve,
    MarkupsFiducial,
    MarkupsLine,
    MarkupsNode,
    MarkupsPlane,
    MarkupsROI,
)
from voxweb.scripting import node as node_module
from voxweb.scripting.display import DisplayView, StorageView, property_view
from voxweb.scripting.registry import register
from voxweb.scripting.transformable import vtkMRMLTransformableNode, world_matrix
from voxweb.scripting.vtkconvert import fill_matrix, matrix_array

# vtkMRMLMarkupsNode event IDs (voxweb's numbering from Slicer's base 19000; scripts use the
# names, ``slicer.vtkMRMLMarkupsNode.PointModifiedEvent``).
MARKUPS_EVENTS = {
    "LockModifiedEvent": 19000,
    "LabelFormatModifiedEvent": 19001,
    "MeasurementsCollectionModifiedEvent": 19002,
    "PointAddedEvent": 19003,
    "PointRemovedEvent": 19004,
    "PointPositionDefinedEvent": 19005,
    "PointPositionUndefinedEvent": 19006,
    "PointPositionMissingEvent": 19007,
    "PointPositionNonMissingEvent": 19008,
    "PointModifiedEvent": 19009,
    "PointStartInteractionEvent": 19010,
    "PointEndInteractionEvent": 19011,
    "CenterOfRotationModifiedEvent": 19012,
    "FixedNumberOfControlPointsModifiedEvent": 19013,
    "PointAboutToBeRemovedEvent": 19014,
}
_EVENT_BY_ID = {v: k for k, v in MARKUPS_EVENTS.items()}
_STATUS = {"undefined": 0, "preview": 1, "defined": 2}


def _xyz(args: tuple[Any, ...]) -> list[float]:
    """(x, y, z), ([x, y, z]) or (vtkVector3d) -> [x, y, z]."""
    if len(args) == 1:
        value = args[0]
        if hasattr(value, "GetX") and hasattr(value, "GetZ"):  # vtkVector3d
            return [float(value.GetX()), float(value.GetY()), float(value.GetZ())]
        values = list(value)
    else:
        values = list(args)
    if len(values) < 3:
        raise TypeError(f"a position needs 3 coordinates, got {len(values)}")
    return [float(v) for v in values[:3]]


def _out(values: Any, out: Any) -> Any:
    """Fill ``out`` (a list, numpy array or vtkVector) when given, else return a list."""
    values = [float(v) for v in np.asarray(values, dtype=float).reshape(-1)]
    if out is None:
        return values
    if hasattr(out, "Set") and hasattr(out, "GetZ"):
        out.Set(*values[:3])
        return out
    out[: len(values)] = values
    return out


def _to_world(view: Any, point: Any) -> np.ndarray:
    m = world_matrix(view)
    return m[:3, :3] @ np.asarray(point, dtype=float) + m[:3, 3]


def _from_world(view: Any, point: Any) -> np.ndarray:
    m = np.linalg.inv(world_matrix(view))
    return m[:3, :3] @ np.asarray(point, dtype=float) + m[:3, 3]


def _vtk_points(points: np.ndarray, out: Any = None) -> Any:
    from vtkmodules.vtkCommonCore import vtkPoints

    target = vtkPoints() if out is None else out
    target.Reset()
    for p in np.asarray(points, dtype=float).reshape(-1, 3):
        target.InsertNextPoint(float(p[0]), float(p[1]), float(p[2]))
    target.Modified()
    return target


def _points_array(points: Any) -> np.ndarray:
    """(N, 3) from vtkPoints, a numpy array or nested lists."""
    if hasattr(points, "GetNumberOfPoints"):
        return np.array([points.GetPoint(i) for i in range(points.GetNumberOfPoints())]).reshape(
            -1, 3
        )
    return np.asarray(points, dtype=float).reshape(-1, 3)


class vtkMRMLMeasurement:  # noqa: N801
    """One measurement of a markup (``GetMeasurement('length')``), read when asked."""

    def __init__(self, node: MarkupsNode, name: str) -> None:
        self._node, self._name = node, name

    def __repr__(self) -> str:
        return f"<vtkMRMLMeasurement {self._name} = {self.GetValueWithUnitsAsPrintableString()}>"

    def _current(self) -> Any:
        return self._node.measurement(self._name)

    def GetName(self) -> str:  # noqa: N802
        return self._name

    def GetValue(self) -> float:  # noqa: N802
        m = self._current()
        return 0.0 if m is None else float(m.value)

    def GetValueDefined(self) -> bool:  # noqa: N802
        return self._current() is not None

    def GetUnits(self) -> str:  # noqa: N802
        m = self._current()
        return "" if m is None else m.units

    def GetEnabled(self) -> bool:  # noqa: N802
        m = self._current()
        return bool(m is not None and m.enabled)

    def SetEnabled(self, enabled: Any) -> None:  # noqa: N802
        if bool(enabled) == self.GetEnabled():
            return
        switches = getattr(self._node, "enabled_measurements", None)
        if switches is None:
            raise NotImplementedError(
                f"voxweb cannot switch the {self._name!r} measurement of a "
                f"{self._node.slicer_class} {'on' if enabled else 'off'}"
            )
        if enabled:
            switches.add(self._name)
        else:
            switches.discard(self._name)
        self._node.modified()

    def EnabledOn(self) -> None:  # noqa: N802
        self.SetEnabled(True)

    def EnabledOff(self) -> None:  # noqa: N802
        self.SetEnabled(False)

    def GetPrintFormat(self) -> str:  # noqa: N802
        return "%-#4.4g%s"

    def GetValueWithUnitsAsPrintableString(self) -> str:  # noqa: N802
        return f"{self.GetValue():.4g}{self.GetUnits()}"

    def GetClassName(self) -> str:  # noqa: N802
        return "vtkMRMLMeasurement"


@register
class vtkMRMLMarkupsNode(vtkMRMLTransformableNode):  # noqa: N801
    """Control points, flags, measurements and point events common to every markup."""

    locals().update(MARKUPS_EVENTS)  # PointAddedEvent... as class constants
    PositionUndefined, PositionPreview, PositionDefined = 0, 1, 2  # noqa: N815

    # --- counting -----------------------------------------------------------------------
    def GetNumberOfControlPoints(self) -> int:  # noqa: N802
        return len(self._node.control_points)

    def GetNumberOfDefinedControlPoints(self, includePreview: bool = False) -> int:  # noqa: N802, N803
        allowed = ("defined", "preview") if includePreview else ("defined",)
        return sum(cp.position_status in allowed for cp in self._node.control_points)

    def GetNumberOfUndefinedControlPoints(self, includePreview: bool = False) -> int:  # noqa: N802, N803
        counted = ("undefined", "preview") if includePreview else ("undefined",)
        return sum(cp.position_status in counted for cp in self._node.control_points)

    def GetMaximumNumberOfControlPoints(self) -> int:  # noqa: N802
        limit = self._node.max_points
        return -1 if limit is None else int(limit)

    def GetRequiredNumberOfControlPoints(self) -> int:  # noqa: N802
        return self.GetMaximumNumberOfControlPoints()

    def ControlPointExists(self, index: int) -> bool:  # noqa: N802
        return 0 <= int(index) < len(self._node.control_points)

    # Slicer's older names (4.x point-list API)
    def GetNumberOfFiducials(self) -> int:  # noqa: N802
        return self.GetNumberOfControlPoints()

    def GetNumberOfMarkups(self) -> int:  # noqa: N802
        return self.GetNumberOfControlPoints()

    # --- adding and removing -------------------------------------------------------------
    def _split(self, args: tuple[Any, ...]) -> tuple[list[float], str | None]:
        if len(args) >= 3 and not hasattr(args[0], "__len__") and not hasattr(args[0], "GetX"):
            position, rest = args[:3], args[3:]
        elif args:
            position, rest = (args[0],), args[1:]
        else:
            raise TypeError("AddControlPoint needs a position")
        label = str(rest[0]) if rest and rest[0] not in (None, "") else None
        return _xyz(position), label

    def AddControlPoint(self, *args: Any) -> int:  # noqa: N802
        """AddControlPoint(vtkVector3d | [x, y, z] | x, y, z [, label]) -> the new index."""
        position, label = self._split(args)
        self._node.add_point(position, label)
        return len(self._node.control_points) - 1

    def AddControlPointWorld(self, *args: Any) -> int:  # noqa: N802
        position, label = self._split(args)
        self._node.add_point(_from_world(self, position), label)
        return len(self._node.control_points) - 1

    def AddFiducial(self, x: float, y: float, z: float, label: str = "") -> int:  # noqa: N802
        return self.AddControlPoint(x, y, z, label)

    def AddFiducialFromArray(self, position: Any, label: str = "") -> int:  # noqa: N802
        return self.AddControlPoint(position, label)

    def InsertControlPoint(self, index: int, *args: Any) -> bool:  # noqa: N802
        position, label = self._split(args)
        self._node.insert_point(int(index), position, label)
        return True

    def InsertControlPointWorld(self, index: int, *args: Any) -> bool:  # noqa: N802
        position, label = self._split(args)
        self._node.insert_point(int(index), _from_world(self, position), label)
        return True

    def RemoveNthControlPoint(self, index: int) -> None:  # noqa: N802
        self._node.remove_point(int(index))

    def RemoveAllControlPoints(self) -> None:  # noqa: N802
        self._node.clear_points()

    RemoveAllMarkups = RemoveAllControlPoints  # noqa: N815 - Slicer 4's name

    def SetControlPointPositionsWorld(self, points: Any, *_: Any) -> None:  # noqa: N802
        """Replace every control point with the positions of ``points`` (vtkPoints)."""
        node = self._node
        world = _points_array(points)
        inverse = np.linalg.inv(world_matrix(self))
        local = world @ inverse[:3, :3].T + inverse[:3, 3]
        with node.scene.lock if node.scene is not None else _nothing():
            keep = node.control_points[: len(local)]
            node.control_points[:] = keep
            for index, p in enumerate(local):
                if index < len(keep):
                    keep[index].position = tuple(float(v) for v in p)  # type: ignore[assignment]
                    keep[index].position_status = "defined"
                else:
                    node.control_points.append(node._new_point(p, None))
            node.modified()

    def GetControlPointPositionsWorld(self, points: Any = None) -> Any:  # noqa: N802
        world = np.array(
            [_to_world(self, cp.position) for cp in self._node.control_points]
        ).reshape(-1, 3)
        return _vtk_points(world, points)

    # --- positions ----------------------------------------------------------------------
    def _point(self, index: Any) -> Any:
        return self._node.point(int(index))

    def SetNthControlPointPosition(self, index: int, *position: Any) -> None:  # noqa: N802
        self._node.set_point_position(int(index), _xyz(position))

    SetNthControlPointPositionFromArray = SetNthControlPointPosition  # noqa: N815
    SetNthFiducialPosition = SetNthControlPointPosition  # noqa: N815
    SetNthFiducialPositionFromArray = SetNthControlPointPosition  # noqa: N815

    def SetNthControlPointPositionWorld(self, index: int, *position: Any) -> None:  # noqa: N802
        self._node.set_point_position(int(index), _from_world(self, _xyz(position)))

    SetNthControlPointPositionWorldFromArray = SetNthControlPointPositionWorld  # noqa: N815

    def GetNthControlPointPosition(self, index: int, out: Any = None) -> Any:  # noqa: N802
        return _out(self._point(index).position, out)

    GetNthFiducialPosition = GetNthControlPointPosition  # noqa: N815

    def GetNthControlPointPositionVector(self, index: int) -> Any:  # noqa: N802
        from vtkmodules.vtkCommonDataModel import vtkVector3d

        return vtkVector3d(*self.GetNthControlPointPosition(index))

    def GetNthControlPointPositionWorld(self, index: int, out: Any = None) -> Any:  # noqa: N802
        return _out(_to_world(self, self._point(index).position), out)

    GetNthFiducialWorldCoordinates = GetNthControlPointPositionWorld  # noqa: N815

    def GetNthControlPointPositionStatus(self, index: int) -> int:  # noqa: N802
        return _STATUS.get(self._point(index).position_status, 2)

    def UnsetNthControlPointPosition(self, index: int) -> None:  # noqa: N802
        self._point(index).position_status = "undefined"
        self._node.modified()

    ResetNthControlPointPosition = UnsetNthControlPointPosition  # noqa: N815

    def GetNthControlPointOrientationMatrix(self, index: int, out: Any = None) -> Any:  # noqa: N802
        self._point(index)
        return _out(np.eye(3).reshape(-1), out)

    # --- per-point properties -------------------------------------------------------------
    def _set(self, index: int, attr: str, value: Any) -> None:
        setattr(self._point(index), attr, value)
        self._node.modified()

    def GetNthControlPointLabel(self, index: int) -> str:  # noqa: N802
        return self._point(index).label

    def SetNthControlPointLabel(self, index: int, label: str) -> None:  # noqa: N802
        self._set(index, "label", str(label))

    GetNthFiducialLabel = GetNthControlPointLabel  # noqa: N815
    SetNthFiducialLabel = SetNthControlPointLabel  # noqa: N815

    def GetNthControlPointDescription(self, index: int) -> str:  # noqa: N802
        return self._point(index).description

    def SetNthControlPointDescription(self, index: int, text: str) -> None:  # noqa: N802
        self._set(index, "description", str(text))

    def GetNthControlPointSelected(self, index: int) -> bool:  # noqa: N802
        return bool(self._point(index).selected)

    def SetNthControlPointSelected(self, index: int, selected: Any) -> None:  # noqa: N802
        self._set(index, "selected", bool(selected))

    GetNthFiducialSelected = GetNthControlPointSelected  # noqa: N815
    SetNthFiducialSelected = SetNthControlPointSelected  # noqa: N815

    def GetNthControlPointLocked(self, index: int) -> bool:  # noqa: N802
        return bool(self._point(index).locked)

    def SetNthControlPointLocked(self, index: int, locked: Any) -> None:  # noqa: N802
        self._set(index, "locked", bool(locked))

    def GetNthControlPointVisibility(self, index: int) -> bool:  # noqa: N802
        return bool(self._point(index).visible)

    def SetNthControlPointVisibility(self, index: int, visible: Any) -> None:  # noqa: N802
        self._set(index, "visible", bool(visible))

    GetNthFiducialVisibility = GetNthControlPointVisibility  # noqa: N815
    SetNthFiducialVisibility = SetNthControlPointVisibility  # noqa: N815

    def GetNthControlPointID(self, index: int) -> str:  # noqa: N802
        return self._point(index).id

    def GetNthControlPointIndexByID(self, point_id: str) -> int:  # noqa: N802
        for index, cp in enumerate(self._node.control_points):
            if cp.id == str(point_id):
                return index
        return -1

    GetControlPointIndexByID = GetNthControlPointIndexByID  # noqa: N815

    def GetNthControlPointAssociatedNodeID(self, index: int) -> str:  # noqa: N802
        self._point(index)
        return ""

    def GetControlPointLabels(self, labels: Any = None) -> Any:  # noqa: N802
        names = [cp.label for cp in self._node.control_points]
        if labels is None:
            return names
        for name in names:
            labels.InsertNextValue(name)
        return labels

    # --- node-wide flags -------------------------------------------------------------------
    def GetLocked(self) -> bool:  # noqa: N802
        return bool(self._node.locked)

    def SetLocked(self, locked: Any) -> None:  # noqa: N802
        self._node.locked = bool(locked)

    def LockedOn(self) -> None:  # noqa: N802
        self.SetLocked(True)

    def LockedOff(self) -> None:  # noqa: N802
        self.SetLocked(False)

    def GetFixedNumberOfControlPoints(self) -> bool:  # noqa: N802
        return bool(self._node.fixed_number_of_points)

    def SetFixedNumberOfControlPoints(self, fixed: Any) -> None:  # noqa: N802
        self._node.fixed_number_of_points = bool(fixed)

    def GetMarkupLabelFormat(self) -> str:  # noqa: N802
        return self._node.label_format

    def SetMarkupLabelFormat(self, text: str) -> None:  # noqa: N802
        self._node.label_format = str(text)

    def GetControlPointPlacementStartIndex(self) -> int:  # noqa: N802
        return 0

    # --- measurements -------------------------------------------------------------------
    def GetMeasurement(self, name: str) -> vtkMRMLMeasurement | None:  # noqa: N802
        """The measurement named ``name`` (``length``, ``angle``, ``area``...) or None."""
        names = self._measurement_names()
        match = next((n for n in names if n.lower() == str(name).lower()), None)
        return None if match is None else vtkMRMLMeasurement(self._node, match)

    def _measurement_names(self) -> list[str]:
        return [m.name for m in self._node.measurements()] or list(self._possible_measurements)

    _possible_measurements: ClassVar[tuple[str, ...]] = ()

    def GetNumberOfMeasurements(self) -> int:  # noqa: N802
        return len(self._node.measurements())

    def GetNthMeasurement(self, index: int) -> vtkMRMLMeasurement | None:  # noqa: N802
        names = [m.name for m in self._node.measurements()]
        index = int(index)
        return vtkMRMLMeasurement(self._node, names[index]) if 0 <= index < len(names) else None

    def GetNumberOfEnabledMeasurements(self) -> int:  # noqa: N802
        return sum(m.enabled for m in self._node.measurements())

    def UpdateAllMeasurements(self) -> None:  # noqa: N802
        """Measurements are computed when read: nothing to update."""

    # --- display and storage -----------------------------------------------------------------
    def GetDisplayNode(self) -> Any:  # noqa: N802
        return property_view(self._node, _display_class(self._node))

    GetMarkupsDisplayNode = GetDisplayNode  # noqa: N815

    def GetStorageNode(self) -> Any:  # noqa: N802
        return property_view(self._node, vtkMRMLMarkupsJsonStorageNode)

    def GetBounds(self, bounds: Any = None) -> Any:  # noqa: N802
        """Bounds of the control points in node coordinates (xmin, xmax, ymin, ...)."""
        return _out(_bounds(self._node.defined_positions()), bounds)

    def GetRASBounds(self, bounds: Any = None) -> Any:  # noqa: N802
        points = np.array([_to_world(self, p) for p in self._node.defined_positions()])
        return _out(_bounds(points.reshape(-1, 3)), bounds)

    # --- observers: point events from before/after snapshots ----------------------------------
    def AddObserver(self, event: Any, callback: Callable[..., Any], priority: float = 0.0) -> int:  # noqa: N802
        name = event if isinstance(event, str) else _EVENT_BY_ID.get(_int(event))
        if name not in MARKUPS_EVENTS:
            return super().AddObserver(event, callback, priority)
        tag = next(node_module._tags)
        view = self
        wants_index = hasattr(callback, "CallDataType")
        state = {"before": _snapshot(self._node)}

        def listener(scene_event: Any) -> None:
            if scene_event.kind != "modified" or scene_event.node is not view._node:
                return
            before, after = state["before"], _snapshot(view._node)
            state["before"] = after
            for index in _changes(name, before, after, view._node):
                if wants_index:
                    callback(view, name, index)
                else:
                    callback(view, name)

        self._observers[tag] = listener
        if self._node.scene is not None:
            self._node.scene.add_listener(listener)
        else:
            self._pending_observers = [*getattr(self, "_pending_observers", []), listener]
        return tag


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class _nothing:  # noqa: N801 - a null context manager for nodes outside a scene
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _bounds(points: np.ndarray) -> list[float]:
    if not len(points):
        return [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]  # VTK's "uninitialized" bounds
    lo, hi = points.min(axis=0), points.max(axis=0)
    return [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2])]


def _snapshot(node: MarkupsNode) -> tuple:
    return (
        tuple(cp.id for cp in node.control_points),
        tuple(
            (cp.position, cp.label, cp.description, cp.selected, cp.locked, cp.visible,
             cp.position_status)
            for cp in node.control_points
        ),
        bool(node.locked),
        node.label_format,
    )  # fmt: skip


def _changes(event: str, before: tuple, after: tuple, node: MarkupsNode) -> list[int | None]:
    """The point indices an event reports for the change before -> after ([] when none)."""
    ids_before, ids_after = before[0], after[0]
    if event == "PointAddedEvent":
        return [i for i, pid in enumerate(ids_after) if pid not in ids_before]
    if event in ("PointRemovedEvent", "PointAboutToBeRemovedEvent"):
        return [i for i, pid in enumerate(ids_before) if pid not in ids_after]
    if event == "PointModifiedEvent":
        old = dict(zip(ids_before, before[1], strict=True))
        return [
            i
            for i, (pid, state) in enumerate(zip(ids_after, after[1], strict=True))
            if pid in old and old[pid] != state
        ]
    if event == "PointPositionDefinedEvent":
        old = dict(zip(ids_before, before[1], strict=True))
        return [
            i
            for i, (pid, state) in enumerate(zip(ids_after, after[1], strict=True))
            if state[6] == "defined" and (pid not in old or old[pid][6] != "defined")
        ]
    if event == "PointPositionUndefinedEvent":
        new = dict(zip(ids_after, after[1], strict=True))
        return [
            i
            for i, (pid, state) in enumerate(zip(ids_before, before[1], strict=True))
            if state[6] == "defined" and (pid not in new or new[pid][6] != "defined")
        ]
    if event == "LockModifiedEvent":
        return [None] if before[2] != after[2] else []
    if event == "LabelFormatModifiedEvent":
        return [None] if before[3] != after[3] else []
    return []  # interaction events need a GUI: they never happen headless


# ----------------------------------------------------------------------------- node types


@register
class vtkMRMLMarkupsFiducialNode(vtkMRMLMarkupsNode):  # noqa: N801
    scene_class = MarkupsFiducial


@register
class vtkMRMLMarkupsLineNode(vtkMRMLMarkupsNode):  # noqa: N801
    scene_class = MarkupsLine
    _possible_measurements = ("length",)

    def GetLineLengthWorld(self) -> float:  # noqa: N802
        pts = [_to_world(self, p) for p in self._node.defined_positions()]
        return float(np.linalg.norm(pts[1] - pts[0])) if len(pts) == 2 else 0.0

    def _end(self, index: int, world: bool, out: Any) -> Any:
        if index >= len(self._node.control_points):
            return _out([0.0, 0.0, 0.0], out)
        position = self._node.control_points[index].position
        return _out(_to_world(self, position) if world else position, out)

    def _set_end(self, index: int, position: list[float], world: bool) -> None:
        local = _from_world(self, position) if world else position
        while len(self._node.control_points) <= index:
            self._node.add_point(local)
        self._node.set_point_position(index, local)

    def GetLineStartPosition(self, out: Any = None) -> Any:  # noqa: N802
        return self._end(0, False, out)

    def GetLineEndPosition(self, out: Any = None) -> Any:  # noqa: N802
        return self._end(1, False, out)

    def GetLineStartPositionWorld(self, out: Any = None) -> Any:  # noqa: N802
        return self._end(0, True, out)

    def GetLineEndPositionWorld(self, out: Any = None) -> Any:  # noqa: N802
        return self._end(1, True, out)

    def SetLineStartPosition(self, *position: Any) -> None:  # noqa: N802
        self._set_end(0, _xyz(position), False)

    def SetLineEndPosition(self, *position: Any) -> None:  # noqa: N802
        self._set_end(1, _xyz(position), False)

    def SetLineStartPositionWorld(self, *position: Any) -> None:  # noqa: N802
        self._set_end(0, _xyz(position), True)

    def SetLineEndPositionWorld(self, *position: Any) -> None:  # noqa: N802
        self._set_end(1, _xyz(position), True)


@register
class vtkMRMLMarkupsAngleNode(vtkMRMLMarkupsNode):  # noqa: N801
    scene_class = MarkupsAngle
    _possible_measurements = ("angle",)
    AngleMeasurementModeMinimal, AngleMeasurementModeOrientedSigned = 0, 1  # noqa: N815
    AngleMeasurementModeOrientedPositive = 2  # noqa: N815

    def GetAngleDegrees(self) -> float:  # noqa: N802
        return float(self._node.angle_degrees())

    def GetAngleMeasurementMode(self) -> int:  # noqa: N802
        return MarkupsAngle.MODES.index(self._node.mode)

    def SetAngleMeasurementMode(self, mode: Any) -> None:  # noqa: N802
        self._node.mode = MarkupsAngle.MODES[int(mode)]

    def SetAngleMeasurementModeToMinimal(self) -> None:  # noqa: N802
        self.SetAngleMeasurementMode(0)

    def SetAngleMeasurementModeToOrientedSigned(self) -> None:  # noqa: N802
        self.SetAngleMeasurementMode(1)

    def SetAngleMeasurementModeToOrientedPositive(self) -> None:  # noqa: N802
        self.SetAngleMeasurementMode(2)

    def GetOrientationRotationAxis(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._node.rotation_axis, out)

    def SetOrientationRotationAxis(self, *axis: Any) -> None:  # noqa: N802
        values = np.asarray(_xyz(axis))
        if np.linalg.norm(values) == 0:
            raise ValueError("the rotation axis must not be the zero vector")
        self._node.rotation_axis = tuple(float(v) for v in values / np.linalg.norm(values))


@register
class vtkMRMLMarkupsCurveNode(vtkMRMLMarkupsNode):  # noqa: N801
    scene_class = MarkupsCurve
    _possible_measurements = ("length",)
    CurveTypeLinear, CurveTypeCardinalSpline, CurveTypeKochanekSpline = 0, 1, 2  # noqa: N815
    CurveTypePolynomial, CurveTypeShortestDistanceOnSurface = 3, 4  # noqa: N815

    def GetCurveType(self) -> int:  # noqa: N802
        return CURVE_TYPES.index(self._node.curve_type)

    def GetCurveTypeAsString(self, curve_type: Any = None) -> str:  # noqa: N802
        return CURVE_TYPES[self.GetCurveType() if curve_type is None else int(curve_type)]

    def SetCurveType(self, curve_type: Any) -> None:  # noqa: N802
        name = CURVE_TYPES[int(curve_type)]
        if name not in ("Linear", "CardinalSpline", "KochanekSpline"):
            raise NotImplementedError(
                f"curve type {name} is not supported by voxweb (Linear, CardinalSpline, "
                "KochanekSpline drawn as a cardinal spline)"
            )
        self._node.curve_type = name

    def SetCurveTypeToLinear(self) -> None:  # noqa: N802
        self.SetCurveType(0)

    def SetCurveTypeToCardinalSpline(self) -> None:  # noqa: N802
        self.SetCurveType(1)

    def SetCurveTypeToKochanekSpline(self) -> None:  # noqa: N802
        self.SetCurveType(2)

    def SetCurveTypeToPolynomial(self) -> None:  # noqa: N802
        self.SetCurveType(3)

    def SetCurveTypeToShortestDistanceOnSurface(self, *_: Any) -> None:  # noqa: N802
        self.SetCurveType(4)

    def GetNumberOfPointsPerInterpolatingSegment(self) -> int:  # noqa: N802
        return int(self._node.points_per_segment)

    def SetNumberOfPointsPerInterpolatingSegment(self, n: int) -> None:  # noqa: N802
        if int(n) < 1:
            raise ValueError("a curve needs at least 1 point per interpolating segment")
        self._node.points_per_segment = int(n)

    def _curve_world(self) -> np.ndarray:
        m = world_matrix(self)
        pts = self._node.curve_points()
        return pts @ m[:3, :3].T + m[:3, 3] if len(pts) else pts.reshape(-1, 3)

    def GetCurvePoints(self) -> Any:  # noqa: N802
        return _vtk_points(self._node.curve_points())

    def GetCurvePointsWorld(self, points: Any = None) -> Any:  # noqa: N802
        return _vtk_points(self._curve_world(), points)

    def GetCurveWorld(self) -> Any:  # noqa: N802
        from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData

        pts = self._curve_world()
        poly = vtkPolyData()
        poly.SetPoints(_vtk_points(pts))
        lines = vtkCellArray()
        if len(pts) > 1:
            lines.InsertNextCell(len(pts))
            for i in range(len(pts)):
                lines.InsertCellPoint(i)
        poly.SetLines(lines)
        return poly

    def GetCurveLengthWorld(  # noqa: N802
        self,
        startCurvePointIndex: int = 0,  # noqa: N803
        numberOfCurvePoints: int = -1,  # noqa: N803
    ) -> float:
        pts = self._curve_world()
        start = max(0, int(startCurvePointIndex))
        stop = len(pts) if int(numberOfCurvePoints) < 0 else start + int(numberOfCurvePoints)
        part = pts[start:stop]
        return float(np.linalg.norm(np.diff(part, axis=0), axis=1).sum()) if len(part) > 1 else 0.0

    def GetCurveLength(self, *args: Any) -> float:  # noqa: N802
        return self.GetCurveLengthWorld(*args)

    def GetCurvePointIndexFromControlPointIndex(self, index: int) -> int:  # noqa: N802
        self._point(index)
        return int(index) * int(self._node.points_per_segment)

    def GetClosestCurvePointIndexToPositionWorld(self, *position: Any) -> int:  # noqa: N802
        pts = self._curve_world()
        if not len(pts):
            return -1
        return int(np.argmin(np.linalg.norm(pts - np.asarray(_xyz(position)), axis=1)))

    def ResampleCurveWorld(self, spacing: float) -> None:  # noqa: N802
        """Replace the control points by points every ``spacing`` mm along the curve."""
        pts = self._curve_world()
        if len(pts) < 2 or float(spacing) <= 0:
            return
        steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        along = np.r_[0.0, np.cumsum(steps)]
        targets = np.arange(0.0, along[-1] + 1e-9, float(spacing))
        if self._node.closed:
            targets = targets[targets < along[-1] - 1e-9]
        elif along[-1] - targets[-1] > 1e-9:
            targets = np.r_[targets, along[-1]]
        resampled = np.column_stack([np.interp(targets, along, pts[:, k]) for k in range(3)])
        self.SetControlPointPositionsWorld(resampled)


@register
class vtkMRMLMarkupsClosedCurveNode(vtkMRMLMarkupsCurveNode):  # noqa: N801
    scene_class = MarkupsClosedCurve
    _possible_measurements = ("length", "area")


@register
class vtkMRMLMarkupsPlaneNode(vtkMRMLMarkupsNode):  # noqa: N801
    scene_class = MarkupsPlane
    PlaneTypePointNormal, PlaneType3Points, PlaneTypePlaneFit = 0, 1, 2  # noqa: N815
    SizeModeAuto, SizeModeAbsolute = 0, 1  # noqa: N815

    def GetPlaneType(self) -> int:  # noqa: N802
        return MarkupsPlane.PLANE_TYPES.index(self._node.plane_type)

    def SetPlaneType(self, plane_type: Any) -> None:  # noqa: N802
        self._node.plane_type = MarkupsPlane.PLANE_TYPES[int(plane_type)]

    def GetSizeMode(self) -> int:  # noqa: N802
        return 0 if self._node.size_mode == "auto" else 1

    def SetSizeMode(self, mode: Any) -> None:  # noqa: N802
        self._node.size_mode = "auto" if int(mode) == 0 else "absolute"

    def SetSizeModeToAuto(self) -> None:  # noqa: N802
        self.SetSizeMode(0)

    def SetSizeModeToAbsolute(self) -> None:  # noqa: N802
        self.SetSizeMode(1)

    def GetAutoSizeScalingFactor(self) -> float:  # noqa: N802
        return float(self._node.auto_scaling_factor)

    def SetAutoSizeScalingFactor(self, factor: float) -> None:  # noqa: N802
        self._node.auto_scaling_factor = float(factor)

    # origin (Slicer 5 calls it centre too)
    def GetOrigin(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._node.origin(), out)

    def SetOrigin(self, *origin: Any) -> None:  # noqa: N802
        self._node.set_origin(_xyz(origin))

    def GetOriginWorld(self, out: Any = None) -> Any:  # noqa: N802
        return _out(_to_world(self, self._node.origin()), out)

    def SetOriginWorld(self, *origin: Any) -> None:  # noqa: N802
        self._node.set_origin(_from_world(self, _xyz(origin)))

    GetCenter, SetCenter = GetOrigin, SetOrigin  # noqa: N815
    GetCenterWorld, SetCenterWorld = GetOriginWorld, SetOriginWorld  # noqa: N815

    # orientation
    def GetNormal(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._node.normal(), out)

    def SetNormal(self, *normal: Any) -> None:  # noqa: N802
        self._node.set_normal(_xyz(normal))

    def GetNormalWorld(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._world_axes()[:, 2], out)

    def SetNormalWorld(self, *normal: Any) -> None:  # noqa: N802
        inverse = np.linalg.inv(world_matrix(self)[:3, :3])
        self._node.set_normal(inverse.T @ np.asarray(_xyz(normal)))

    def _world_axes(self) -> np.ndarray:
        axes = world_matrix(self)[:3, :3] @ self._node.axes()
        return axes / np.maximum(np.linalg.norm(axes, axis=0), 1e-12)

    def GetAxes(self, x: Any = None, y: Any = None, z: Any = None) -> Any:  # noqa: N802
        axes = self._node.axes()
        return _out(axes[:, 0], x), _out(axes[:, 1], y), _out(axes[:, 2], z)

    def SetAxes(self, x: Any, y: Any, z: Any) -> None:  # noqa: N802
        self._node.set_axes(_xyz((x,)), _xyz((y,)), _xyz((z,)))

    def GetAxesWorld(self, x: Any = None, y: Any = None, z: Any = None) -> Any:  # noqa: N802
        axes = self._world_axes()
        return _out(axes[:, 0], x), _out(axes[:, 1], y), _out(axes[:, 2], z)

    def SetAxesWorld(self, x: Any, y: Any, z: Any) -> None:  # noqa: N802
        inverse = np.linalg.inv(world_matrix(self)[:3, :3])
        self._node.set_axes(*(inverse @ np.asarray(_xyz((v,))) for v in (x, y, z)))

    # size
    def GetSize(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._node.plane_size(), out)

    def SetSize(self, *size: Any) -> None:  # noqa: N802
        values = list(size[0]) if len(size) == 1 else list(size)
        self._node.size = (float(values[0]), float(values[1]))
        self._node.size_mode = "absolute"

    SetSizeWorld = SetSize  # noqa: N815
    GetSizeWorld = GetSize  # noqa: N815

    def GetPlaneBounds(self, out: Any = None) -> Any:  # noqa: N802
        w, h = self._node.plane_size()
        return _out([-w / 2, w / 2, -h / 2, h / 2], out)

    def SetPlaneBounds(self, *bounds: Any) -> None:  # noqa: N802
        b = [float(v) for v in (bounds[0] if len(bounds) == 1 else bounds)]
        self._node.size = (b[1] - b[0], b[3] - b[2])
        self._node.size_mode = "absolute"

    # matrices
    def GetObjectToNodeMatrix(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, self._node.object_to_node())

    def GetObjectToWorldMatrix(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, world_matrix(self) @ self._node.object_to_node())

    def GetPlaneCornerPointsWorld(self, points: Any = None) -> Any:  # noqa: N802
        m = world_matrix(self)
        return _vtk_points(self._node.corners() @ m[:3, :3].T + m[:3, 3], points)


@register
class vtkMRMLMarkupsROINode(vtkMRMLMarkupsNode):  # noqa: N801
    scene_class = MarkupsROI
    ROITypeBox, ROITypeBoundingBox = 0, 1  # noqa: N815

    def GetROIType(self) -> int:  # noqa: N802
        return MarkupsROI.ROI_TYPES.index(self._node.roi_type)

    def SetROIType(self, roi_type: Any) -> None:  # noqa: N802
        self._node.roi_type = MarkupsROI.ROI_TYPES[int(roi_type)]

    def SetROITypeToBox(self) -> None:  # noqa: N802
        self.SetROIType(0)

    def SetROITypeToBoundingBox(self) -> None:  # noqa: N802
        self.SetROIType(1)

    def GetCenter(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._node.center(), out)

    def SetCenter(self, *center: Any) -> None:  # noqa: N802
        self._node.set_center(_xyz(center))

    def GetCenterWorld(self, out: Any = None) -> Any:  # noqa: N802
        return _out(_to_world(self, self._node.center()), out)

    def SetCenterWorld(self, *center: Any) -> None:  # noqa: N802
        self._node.set_center(_from_world(self, _xyz(center)))

    GetXYZ, SetXYZ = GetCenter, SetCenter  # noqa: N815 - the annotation ROI's names

    def GetSize(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._node.box_size(), out)

    def SetSize(self, *size: Any) -> None:  # noqa: N802
        values = _xyz(size)
        if min(values) < 0:
            raise ValueError(f"ROI sizes must not be negative, got {values}")
        self._node.size = tuple(values)

    GetSizeWorld, SetSizeWorld = GetSize, SetSize  # noqa: N815

    def GetRadiusXYZ(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._node.box_size() / 2.0, out)

    def SetRadiusXYZ(self, *radius: Any) -> None:  # noqa: N802
        self.SetSize([2.0 * v for v in _xyz(radius)])

    def GetBounds(self, bounds: Any = None) -> Any:  # noqa: N802
        """The box's bounds in node coordinates (xmin, xmax, ymin, ymax, zmin, zmax)."""
        return _out(self._node.bounds(), bounds)

    def GetRASBounds(self, bounds: Any = None) -> Any:  # noqa: N802
        return _out(self._node.bounds(world_matrix(self)), bounds)

    def GetObjectBounds(self, bounds: Any = None) -> Any:  # noqa: N802
        half = self._node.box_size() / 2
        return _out([-half[0], half[0], -half[1], half[1], -half[2], half[2]], bounds)

    def GetObjectToNodeMatrix(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, self._node.object_to_node())

    def GetObjectToWorldMatrix(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, world_matrix(self) @ self._node.object_to_node())

    def SetAndObserveObjectToNodeMatrix(self, matrix: Any) -> None:  # noqa: N802
        m = matrix_array(matrix)
        rotation = m[:3, :3]
        scale = np.linalg.norm(rotation, axis=0)
        if np.any(scale == 0):
            raise ValueError("the object-to-node matrix must not collapse an axis")
        self._node.orientation = rotation / scale
        self._node.set_center(m[:3, 3])

    def GetXAxisWorld(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._axis_world(0), out)

    def GetYAxisWorld(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._axis_world(1), out)

    def GetZAxisWorld(self, out: Any = None) -> Any:  # noqa: N802
        return _out(self._axis_world(2), out)

    def _axis_world(self, k: int) -> np.ndarray:
        axis = world_matrix(self)[:3, :3] @ np.asarray(self._node.orientation)[:, k]
        return axis / max(np.linalg.norm(axis), 1e-12)

    def GetInsideOut(self) -> bool:  # noqa: N802
        return bool(self._node.inside_out)

    def SetInsideOut(self, inside_out: Any) -> None:  # noqa: N802
        self._node.inside_out = bool(inside_out)

    def IsPointInROI(self, *point: Any) -> bool:  # noqa: N802
        local = np.linalg.inv(self._node.object_to_node())
        p = local[:3, :3] @ np.asarray(_xyz(point)) + local[:3, 3]
        inside = bool(np.all(np.abs(p) <= self._node.box_size() / 2 + 1e-9))
        return inside != bool(self._node.inside_out)

    def IsPointInROIWorld(self, *point: Any) -> bool:  # noqa: N802
        return self.IsPointInROI(_from_world(self, _xyz(point)))


# ----------------------------------------------------------------------------- display, storage


class vtkMRMLMarkupsDisplayNode(DisplayView):  # noqa: N801
    """The look of a markup: colours, glyphs, text, lines, visibility and opacity."""

    slicer_class = "vtkMRMLMarkupsDisplayNode"
    slicer_classes = ("vtkMRMLMarkupsDisplayNode", "vtkMRMLDisplayNode", "vtkMRMLNode")
    locals().update({name: n for n, name in enumerate(GLYPH_TYPES[:-1], start=1)})
    GlyphTypeInvalid = 0

    def _set(self, attr: str, value: Any) -> None:
        setattr(self._owner, attr, value)

    def _rgb(self, args: tuple[Any, ...]) -> tuple[float, float, float]:
        values = _xyz(args)
        return (values[0], values[1], values[2])

    # visibility and opacity live on the markups node itself
    def GetVisibility(self) -> bool:  # noqa: N802
        return bool(self._owner.visible)

    def SetVisibility(self, visible: Any) -> None:  # noqa: N802
        self._set("visible", bool(visible))

    def GetVisibility2D(self) -> bool:  # noqa: N802
        return bool(self._owner.visible_2d)

    def SetVisibility2D(self, visible: Any) -> None:  # noqa: N802
        self._set("visible_2d", bool(visible))

    def GetVisibility3D(self) -> bool:  # noqa: N802
        return bool(self._owner.visible_3d)

    def SetVisibility3D(self, visible: Any) -> None:  # noqa: N802
        self._set("visible_3d", bool(visible))

    def GetOpacity(self) -> float:  # noqa: N802
        return float(self._owner.opacity)

    def SetOpacity(self, opacity: float) -> None:  # noqa: N802
        self._set("opacity", min(max(float(opacity), 0.0), 1.0))

    # colours
    def GetColor(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(self._owner.color)

    def SetColor(self, *rgb: Any) -> None:  # noqa: N802
        self._set("color", self._rgb(rgb))

    def GetSelectedColor(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(self._owner.selected_color)

    def SetSelectedColor(self, *rgb: Any) -> None:  # noqa: N802
        self._set("selected_color", self._rgb(rgb))

    def GetActiveColor(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(self._owner.active_color)

    def SetActiveColor(self, *rgb: Any) -> None:  # noqa: N802
        self._set("active_color", self._rgb(rgb))

    # glyphs
    def GetGlyphScale(self) -> float:  # noqa: N802
        return float(self._owner.glyph_scale)

    def SetGlyphScale(self, scale: float) -> None:  # noqa: N802
        self._set("glyph_scale", float(scale))

    def GetGlyphSize(self) -> float:  # noqa: N802
        return float(self._owner.glyph_size)

    def SetGlyphSize(self, size: float) -> None:  # noqa: N802
        self._set("glyph_size", float(size))

    def GetUseGlyphScale(self) -> bool:  # noqa: N802
        return bool(self._owner.use_glyph_scale)

    def SetUseGlyphScale(self, on: Any) -> None:  # noqa: N802
        self._set("use_glyph_scale", bool(on))

    def UseGlyphScaleOn(self) -> None:  # noqa: N802
        self.SetUseGlyphScale(True)

    def UseGlyphScaleOff(self) -> None:  # noqa: N802
        self.SetUseGlyphScale(False)

    def GetGlyphType(self) -> int:  # noqa: N802
        name = self._owner.glyph_type
        return GLYPH_TYPES.index(name) + 1 if name in GLYPH_TYPES[:-1] else 0

    def SetGlyphType(self, glyph: Any) -> None:  # noqa: N802
        index = int(glyph)
        if not 1 <= index < len(GLYPH_TYPES):
            raise ValueError(f"glyph type must be 1..{len(GLYPH_TYPES) - 1}, got {glyph}")
        self._set("glyph_type", GLYPH_TYPES[index - 1])

    def GetGlyphTypeAsString(self, glyph: Any = None) -> str:  # noqa: N802
        if glyph is None:
            return self._owner.glyph_type
        index = int(glyph)
        return GLYPH_TYPES[index - 1] if 1 <= index < len(GLYPH_TYPES) else "GlyphTypeInvalid"

    def SetGlyphTypeFromString(self, name: str) -> None:  # noqa: N802
        if name not in GLYPH_TYPES:
            raise ValueError(f"unknown glyph type {name!r}; known: {', '.join(GLYPH_TYPES)}")
        self._set("glyph_type", str(name))

    # text and lines
    def GetTextScale(self) -> float:  # noqa: N802
        return float(self._owner.text_scale)

    def SetTextScale(self, scale: float) -> None:  # noqa: N802
        self._set("text_scale", float(scale))

    def GetPointLabelsVisibility(self) -> bool:  # noqa: N802
        return bool(self._owner.point_labels_visible)

    def SetPointLabelsVisibility(self, visible: Any) -> None:  # noqa: N802
        self._set("point_labels_visible", bool(visible))

    def PointLabelsVisibilityOn(self) -> None:  # noqa: N802
        self.SetPointLabelsVisibility(True)

    def PointLabelsVisibilityOff(self) -> None:  # noqa: N802
        self.SetPointLabelsVisibility(False)

    def GetPropertiesLabelVisibility(self) -> bool:  # noqa: N802
        return bool(self._owner.properties_label_visible)

    def SetPropertiesLabelVisibility(self, visible: Any) -> None:  # noqa: N802
        self._set("properties_label_visible", bool(visible))

    def PropertiesLabelVisibilityOn(self) -> None:  # noqa: N802
        self.SetPropertiesLabelVisibility(True)

    def PropertiesLabelVisibilityOff(self) -> None:  # noqa: N802
        self.SetPropertiesLabelVisibility(False)

    def GetLineThickness(self) -> float:  # noqa: N802
        return float(self._owner.line_thickness)

    def SetLineThickness(self, thickness: float) -> None:  # noqa: N802
        self._set("line_thickness", float(thickness))

    # stored for scripts that set them; voxweb's renderers do not use them
    def _kept(name: str, default: Any) -> tuple[Callable, Callable]:  # noqa: N805
        def getter(self: Any) -> Any:
            return self._extra.get(name, default)

        def setter(self: Any, value: Any) -> None:
            self._keep(name, value)

        return getter, setter

    GetSliceProjection, SetSliceProjection = _kept("sliceProjection", False)  # noqa: N815
    GetHandlesInteractive, SetHandlesInteractive = _kept("handlesInteractive", False)  # noqa: N815
    GetFillOpacity, SetFillOpacity = _kept("fillOpacity", 0.5)  # noqa: N815
    GetOutlineOpacity, SetOutlineOpacity = _kept("outlineOpacity", 1.0)  # noqa: N815
    GetFillVisibility, SetFillVisibility = _kept("fillVisibility", True)  # noqa: N815
    GetOutlineVisibility, SetOutlineVisibility = _kept("outlineVisibility", True)  # noqa: N815
    GetCurveLineSizeMode, SetCurveLineSizeMode = _kept("curveLineSizeMode", 0)  # noqa: N815
    GetLineDiameter, SetLineDiameter = _kept("lineDiameter", 1.0)  # noqa: N815
    GetSnapMode, SetSnapMode = _kept("snapMode", 0)  # noqa: N815
    GetOccludedVisibility, SetOccludedVisibility = _kept("occludedVisibility", False)  # noqa: N815
    del _kept


class vtkMRMLMarkupsFiducialDisplayNode(vtkMRMLMarkupsDisplayNode):  # noqa: N801
    slicer_class = "vtkMRMLMarkupsFiducialDisplayNode"
    slicer_classes = (
        "vtkMRMLMarkupsFiducialDisplayNode",
    ) + vtkMRMLMarkupsDisplayNode.slicer_classes


class vtkMRMLMarkupsPlaneDisplayNode(vtkMRMLMarkupsDisplayNode):  # noqa: N801
    slicer_class = "vtkMRMLMarkupsPlaneDisplayNode"
    slicer_classes = ("vtkMRMLMarkupsPlaneDisplayNode",) + vtkMRMLMarkupsDisplayNode.slicer_classes


class vtkMRMLMarkupsROIDisplayNode(vtkMRMLMarkupsDisplayNode):  # noqa: N801
    slicer_class = "vtkMRMLMarkupsROIDisplayNode"
    slicer_classes = ("vtkMRMLMarkupsROIDisplayNode",) + vtkMRMLMarkupsDisplayNode.slicer_classes


def _display_class(node: MarkupsNode) -> type[vtkMRMLMarkupsDisplayNode]:
    if isinstance(node, MarkupsFiducial):
        return vtkMRMLMarkupsFiducialDisplayNode
    if isinstance(node, MarkupsPlane):
        return vtkMRMLMarkupsPlaneDisplayNode
    if isinstance(node, MarkupsROI):
        return vtkMRMLMarkupsROIDisplayNode
    return vtkMRMLMarkupsDisplayNode


class vtkMRMLMarkupsJsonStorageNode(StorageView):  # noqa: N801
    """Writes and reads ``.mrk.json`` (``WriteData`` needs a file name in a --file-root)."""

    slicer_class = "vtkMRMLMarkupsJsonStorageNode"
    slicer_classes = ("vtkMRMLMarkupsJsonStorageNode", "vtkMRMLStorageNode", "vtkMRMLNode")


#: Classes the ``slicer`` module exposes besides the registered node views.
EXTRA_CLASSES = (
    vtkMRMLMarkupsDisplayNode,
    vtkMRMLMarkupsFiducialDisplayNode,
    vtkMRMLMarkupsPlaneDisplayNode,
    vtkMRMLMarkupsROIDisplayNode,
    vtkMRMLMarkupsJsonStorageNode,
    vtkMRMLMeasurement,
)

__all__ = [
    "EXTRA_CLASSES",
    "MARKUPS_EVENTS",
    "vtkMRMLMarkupsAngleNode",
    "vtkMRMLMarkupsClosedCurveNode",
    "vtkMRMLMarkupsCurveNode",
    "vtkMRMLMarkupsDisplayNode",
    "vtkMRMLMarkupsFiducialNode",
    "vtkMRMLMarkupsJsonStorageNode",
    "vtkMRMLMarkupsLineNode",
    "vtkMRMLMarkupsNode",
    "vtkMRMLMarkupsPlaneNode",
    "vtkMRMLMarkupsROINode",
    "vtkMRMLMeasurement",
]
