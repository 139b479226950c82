"""``slicer.modules.markups.logic()`` and the markups helpers of ``slicer.util``.

The logic adds and loads markups nodes, places points in the active list, jumps the slice
views to a position and sets flags on every point of a list; the ``slicer.util`` helpers move
control points, curve points and per-point data between markups and numpy. Everything goes
through the scene nodes, so the result shows at once in ``/slicer/mrml`` and the views.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from voxweb.scene.markups import MarkupsCurve, MarkupsFiducial, MarkupsNode
from voxweb.scripting.modules import _Logic, logic
from voxweb.scripting.registry import unwrap, view_class, wrap
from voxweb.scripting.transformable import world_matrix
from voxweb.services.workspace import Workspace

_ACTIVE = "voxweb.activePlaceNodeID"  # the selection attribute holding the active list


@logic("markups")
class MarkupsLogic(_Logic):
    # --- nodes ----------------------------------------------------------------------------
    def AddNewMarkupsNode(self, className: str, nodeName: str = "", scene: Any = None) -> Any:  # noqa: N802, N803
        """A new markups node of ``className`` in the scene (its display node comes with it)."""
        cls = view_class(str(className))
        if cls is None or cls.scene_class is None or not issubclass(cls.scene_class, MarkupsNode):
            raise ValueError(f"{className!r} is not a markups node class voxweb can create")
        node = cls.scene_class(str(nodeName))
        with self._scene.lock:
            self._scene.add(node, str(nodeName) or None)
        return wrap(node)

    def AddNewFiducialNode(self, name: str = "F", scene: Any = None) -> str:  # noqa: N802
        """A new point list; returns its ID (and makes it the active list, as Slicer does)."""
        node = MarkupsFiducial(str(name))
        with self._scene.lock:
            self._scene.add(node)
            self._workspace.selection().attributes[_ACTIVE] = node.id
        return node.id

    def GetActiveListID(self) -> str:  # noqa: N802
        node_id = self._workspace.selection().attributes.get(_ACTIVE, "")
        return node_id if self._scene.get_node_by_id(node_id) is not None else ""

    def SetActiveListID(self, node: Any) -> None:  # noqa: N802
        self._workspace.selection().attributes[_ACTIVE] = "" if node is None else unwrap(node).id

    SetActiveList = SetActiveListID  # noqa: N815

    def AddControlPoint(self, r: float = 0.0, a: float = 0.0, s: float = 0.0) -> int:  # noqa: N802
        """Add a point to the active list (a new point list when there is none)."""
        node = self._scene.get_node_by_id(self.GetActiveListID())
        if not isinstance(node, MarkupsNode):
            node = self._scene.get_node_by_id(self.AddNewFiducialNode())
        node.add_point([float(r), float(a), float(s)])
        return len(node.control_points) - 1

    AddFiducial = AddControlPoint  # noqa: N815

    def StartPlaceMode(self, persistent: Any = 0) -> bool:  # noqa: N802
        """Switch the (headless) mouse mode to placing points: remembered, nothing to click."""
        from voxweb.scripting.app import ApplicationLogic

        interaction = ApplicationLogic(self._workspace).GetInteractionNode()
        interaction.SetPlaceModePersistence(bool(persistent))
        interaction.SetCurrentInteractionMode(interaction.Place)
        return True

    # --- files ----------------------------------------------------------------------------
    def LoadMarkups(self, fileName: str, fidsName: str = "", *_: Any) -> str:  # noqa: N802, N803
        """Load a .mrk.json or .fcsv file (inside --file-root); returns the first node's ID."""
        props = {"name": str(fidsName)} if fidsName else {}
        nodes = self._workspace.load_client_file(str(fileName), "MarkupsFile", props)
        return nodes[0].id if nodes else ""

    LoadMarkupsFiducials = LoadMarkups  # noqa: N815
    LoadMarkupsFromFcsv = LoadMarkups  # noqa: N815
    LoadMarkupsFromJson = LoadMarkups  # noqa: N815

    # --- views ----------------------------------------------------------------------------
    def JumpSlicesToLocation(  # noqa: N802
        self, x: float, y: float, z: float, centered: bool = False, *_: Any
    ) -> None:
        """Move every slice view to the plane through (x, y, z); centre it there if asked."""
        point = np.array([float(x), float(y), float(z)])
        with self._scene.lock:
            for view in self._workspace.slice_views():
                local = point @ view.axes()
                view.offset = float(local[2])
                if centered:
                    view.center_xy = (float(local[0]), float(local[1]))

    def JumpSlicesToNthPointInMarkup(  # noqa: N802
        self, node_id: str, index: int, centered: bool = False, *_: Any
    ) -> None:
        view = wrap(self._scene.get_node_by_id(str(node_id)))
        if view is None:
            raise ValueError(f"no markups node with ID {node_id!r}")
        x, y, z = view.GetNthControlPointPositionWorld(int(index))
        self.JumpSlicesToLocation(x, y, z, centered)

    def FocusCamerasOnNthPointInMarkup(self, *args: Any) -> None:  # noqa: N802
        from voxweb.scripting.headless import HeadlessError

        raise HeadlessError("headless: FocusCamerasOnNthPointInMarkup needs interactive views")

    # --- every point of a list ---------------------------------------------------------------
    def _all(self, node: Any, attr: str, value: bool | None) -> None:
        target = unwrap(node)
        for cp in target.control_points:
            setattr(cp, attr, (not getattr(cp, attr)) if value is None else bool(value))
        target.modified()

    def SetAllControlPointsVisibility(self, node: Any, flag: Any) -> None:  # noqa: N802
        self._all(node, "visible", flag)

    def ToggleAllControlPointsVisibility(self, node: Any) -> None:  # noqa: N802
        self._all(node, "visible", None)

    def SetAllControlPointsLocked(self, node: Any, flag: Any) -> None:  # noqa: N802
        self._all(node, "locked", flag)

    def ToggleAllControlPointsLocked(self, node: Any) -> None:  # noqa: N802
        self._all(node, "locked", None)

    def SetAllControlPointsSelected(self, node: Any, flag: Any) -> None:  # noqa: N802
        self._all(node, "selected", flag)

    def ToggleAllControlPointsSelected(self, node: Any) -> None:  # noqa: N802
        self._all(node, "selected", None)

    def CopyNthControlPointToNewList(self, node: Any, index: int, new_node: Any) -> bool:  # noqa: N802
        source, target = unwrap(node), unwrap(new_node)
        cp = source.point(int(index))
        added = target.add_point(cp.position, cp.label)
        added.description, added.selected = cp.description, cp.selected
        added.locked, added.visible = cp.locked, cp.visible
        return True

    def MoveNthControlPointToNewListAtIndex(  # noqa: N802
        self, index: int, node: Any, new_node: Any, new_index: int
    ) -> bool:
        source, target = unwrap(node), unwrap(new_node)
        cp = source.point(int(index))
        target._check_room()
        source.remove_point(int(index))
        target.control_points.insert(max(0, int(new_index)), cp)
        target.modified()
        return True

    def ConvertAnnotationFiducialsToMarkups(self) -> None:  # noqa: N802
        raise NotImplementedError("voxweb has no annotation nodes to convert")


# ----------------------------------------------------------------------------- slicer.util


def add_util_functions(util: types.ModuleType, workspace: Workspace) -> None:
    """Put the markups helpers on ``slicer.util`` (bound to ``workspace``)."""
    scene = workspace.scene

    def _world(node: MarkupsNode, points: np.ndarray, world: bool) -> np.ndarray:
        if not world or not len(points):
            return points
        m = world_matrix(node)
        return points @ m[:3, :3].T + m[:3, 3]

    def arrayFromMarkupsControlPoints(markupsNode: Any, world: bool = False) -> np.ndarray:  # noqa: N802, N803
        """(N, 3) control point positions (a copy: write back with the update function)."""
        node = unwrap(markupsNode)
        return _world(node, node.positions(), world)

    def updateMarkupsControlPointsFromArray(  # noqa: N802
        markupsNode: Any,  # noqa: N803
        narray: Any,
        world: bool = False,
    ) -> None:
        """Make the control points the rows of ``narray`` (points are added or removed)."""
        node = unwrap(markupsNode)
        points = np.asarray(narray, dtype=float).reshape(-1, 3)
        if world and len(points):
            inverse = np.linalg.inv(world_matrix(node))
            points = points @ inverse[:3, :3].T + inverse[:3, 3]
        with scene.lock:
            del node.control_points[len(points) :]
            for index, point in enumerate(points):
                if index < len(node.control_points):
                    cp = node.control_points[index]
                    cp.position = tuple(float(v) for v in point)
                    cp.position_status = "defined"
                else:
                    node.control_points.append(node._new_point(point, None))
            node.modified()

    def arrayFromMarkupsCurvePoints(markupsNode: Any, world: bool = False) -> np.ndarray:  # noqa: N802, N803
        """(M, 3) interpolated points of a curve (the first repeated last when closed)."""
        node = unwrap(markupsNode)
        if not isinstance(node, MarkupsCurve):
            raise TypeError(f"{node.name!r} is a {node.slicer_class}, not a curve")
        return _world(node, node.curve_points(), world)

    def arrayFromMarkupsControlPointData(markupsNode: Any, arrayName: str) -> np.ndarray:  # noqa: N802, N803
        raise NotImplementedError(
            f"voxweb keeps no per-point data arrays on markups (asked for {arrayName!r})"
        )

    def arrayFromMarkupsCurveData(markupsNode: Any, arrayName: str, world: bool = False):  # noqa: N802, N803
        raise NotImplementedError(
            f"voxweb keeps no curve point data arrays (asked for {arrayName!r})"
        )

    for function in (
        arrayFromMarkupsControlPoints,
        updateMarkupsControlPointsFromArray,
        arrayFromMarkupsCurvePoints,
        arrayFromMarkupsControlPointData,
        arrayFromMarkupsCurveData,
    ):
        setattr(util, function.__name__, function)


__all__ = ["MarkupsLogic", "add_util_functions"]
