"""``import SegmentStatistics``: Slicer's segment statistics logic, computed with numpy.

``SegmentStatisticsLogic().getParameterNode()`` takes the same parameters as Slicer's
("Segmentation", "ScalarVolume", "<Plugin>.enabled", "<Plugin>.<key>.enabled");
``computeStatistics()`` fills ``getStatistics()`` in Slicer's shape: ``stats["SegmentIDs"]``,
``stats[segmentId, "LabelmapSegmentStatisticsPlugin.volume_cm3"]``... Three plugins are
provided: labelmap (voxel count, volumes, centroid), scalar volume (count, volumes, min, max,
mean, median, stdev of the volume's voxels under the segment, on the volume's grid) and closed
surface (area and enclosed volume of the segment's surface, when the segmentation has one).
Keys voxweb does not compute raise NotImplementedError when enabled; tables are not provided.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from voxweb.scene.nodes import ScalarVolume, Segmentation
from voxweb.scripting.transformable import world_matrix

LABELMAP = "LabelmapSegmentStatisticsPlugin"
SCALAR = "ScalarVolumeSegmentStatisticsPlugin"
SURFACE = "ClosedSurfaceSegmentStatisticsPlugin"

#: Plugin -> (keys voxweb computes, keys on by default, keys Slicer has that voxweb does not).
PLUGINS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    LABELMAP: (
        ("voxel_count", "volume_mm3", "volume_cm3", "centroid_ras"),
        ("voxel_count", "volume_mm3", "volume_cm3"),
        (
            "feret_diameter_mm",
            "surface_area_mm2",
            "roundness",
            "flatness",
            "elongation",
            "principal_moments",
            "principal_axis_x",
            "principal_axis_y",
            "principal_axis_z",
            "obb_origin_ras",
            "obb_diameter_mm",
            "obb_direction_ras_x",
            "obb_direction_ras_y",
            "obb_direction_ras_z",
        ),
    ),  # fmt: skip
    SCALAR: (
        ("voxel_count", "volume_mm3", "volume_cm3", "min", "max", "mean", "median", "stdev"),
        ("voxel_count", "volume_mm3", "volume_cm3", "min", "max", "mean", "median", "stdev"),
        (),
    ),
    SURFACE: (
        ("surface_mm2", "volume_mm3", "volume_cm3"),
        ("surface_mm2", "volume_mm3", "volume_cm3"),
        (),
    ),
}
_UNITS = {"voxel_count": "voxels", "volume_mm3": "mm3", "volume_cm3": "cm3", "surface_mm2": "mm2",
          "centroid_ras": "mm"}  # fmt: skip


class ParameterNode:
    """The parameters of a statistics run (Slicer's scripted-module parameter node)."""

    def __init__(self) -> None:
        self._parameters: dict[str, str] = {}

    def SetParameter(self, name: str, value: Any) -> None:  # noqa: N802
        self._parameters[str(name)] = str(value)

    def GetParameter(self, name: str) -> str:  # noqa: N802
        return self._parameters.get(str(name), "")

    def UnsetParameter(self, name: str) -> None:  # noqa: N802
        self._parameters.pop(str(name), None)

    def GetParameterNames(self) -> list[str]:  # noqa: N802
        return list(self._parameters)

    def GetID(self) -> str:  # noqa: N802
        return "vtkMRMLScriptedModuleNodeSegmentStatistics"


def _flag(text: str, default: bool) -> bool:
    if text == "":
        return default
    return text.strip().lower() in ("1", "true", "yes", "on")


class SegmentStatisticsLogic:
    """Compute per-segment statistics of a segmentation (and a scalar volume)."""

    def __init__(self, workspace: Any = None) -> None:
        self._workspace = workspace
        self._parameters = ParameterNode()
        self.statistics: dict[Any, Any] = {}

    def getParameterNode(self) -> ParameterNode:  # noqa: N802
        return self._parameters

    def setParameterNode(self, node: ParameterNode) -> None:  # noqa: N802
        self._parameters = node

    def _node(self, name: str) -> Any:
        node_id = self._parameters.GetParameter(name)
        if not node_id:
            return None
        if self._workspace is None:
            raise RuntimeError("SegmentStatisticsLogic needs the exec workspace")
        node = self._workspace.scene.get_node_by_id(node_id)
        if node is None:
            raise ValueError(f"{name} parameter: no node with ID {node_id!r}")
        return node

    def _keys(self, plugin: str) -> list[str]:
        """The keys to compute for a plugin, from its enable flags."""
        p = self._parameters
        if not _flag(p.GetParameter(f"{plugin}.enabled"), True):
            return []
        provided, defaults, missing = PLUGINS[plugin]
        keys = []
        for key in provided + missing:
            if _flag(p.GetParameter(f"{plugin}.{key}.enabled"), key in defaults):
                if key in missing:
                    raise NotImplementedError(f"voxweb does not compute {plugin}.{key}")
                keys.append(key)
        return keys

    def computeStatistics(self) -> dict[Any, Any]:  # noqa: N802
        segmentation = self._node("Segmentation")
        if not isinstance(segmentation, Segmentation):
            raise ValueError("set the 'Segmentation' parameter to a segmentation node ID first")
        volume = self._node("ScalarVolume")
        if volume is not None and not isinstance(volume, ScalarVolume):
            raise ValueError("the 'ScalarVolume' parameter must be a scalar volume node ID")
        with segmentation.scene.lock if segmentation.scene is not None else _nothing():
            stats: dict[Any, Any] = {
                "SegmentIDs": list(segmentation.segments),
                "MeasurementInfo": {},
            }
            for sid in segmentation.segments:
                stats[sid, "Segment"] = segmentation.segment(sid).name
                self._labelmap(stats, segmentation, sid)
                if volume is not None:
                    self._scalar(stats, segmentation, volume, sid)
                if segmentation.closed_surface:
                    self._surface(stats, segmentation, sid)
        self.statistics = stats
        return stats

    def _record(self, stats: dict, sid: str, plugin: str, key: str, value: Any) -> None:
        stats[sid, f"{plugin}.{key}"] = value
        stats["MeasurementInfo"].setdefault(
            f"{plugin}.{key}", {"name": key, "units": _UNITS.get(key, ""), "description": key}
        )

    def _labelmap(self, stats: dict, node: Segmentation, sid: str) -> None:
        keys = self._keys(LABELMAP)
        if not keys:
            return
        mask = node.mask(sid)
        count = int(mask.sum())
        voxel_mm3 = abs(float(np.linalg.det(np.asarray(node.ijk_to_ras)[:3, :3])))
        values = {"voxel_count": count, "volume_mm3": count * voxel_mm3,
                  "volume_cm3": count * voxel_mm3 / 1000.0}  # fmt: skip
        if "centroid_ras" in keys and count:
            kji = np.argwhere(mask).mean(axis=0)
            ijk = np.array([kji[2], kji[1], kji[0], 1.0])
            ras = world_matrix(node) @ np.asarray(node.ijk_to_ras) @ ijk
            values["centroid_ras"] = [float(v) for v in ras[:3]]
        for key in keys:
            if key in values:
                self._record(stats, sid, LABELMAP, key, values[key])

    def _scalar(self, stats: dict, node: Segmentation, volume: ScalarVolume, sid: str) -> None:
        keys = self._keys(SCALAR)
        if not keys:
            return
        from voxweb.scripting.segmentation_logic import segment_array

        mask = segment_array(node, sid, volume) != 0
        voxels = volume.array[mask].astype(np.float64)
        count = int(voxels.size)
        voxel_mm3 = abs(float(np.linalg.det(np.asarray(volume.ijk_to_ras)[:3, :3])))
        values: dict[str, Any] = {"voxel_count": count, "volume_mm3": count * voxel_mm3,
                                  "volume_cm3": count * voxel_mm3 / 1000.0}  # fmt: skip
        if count:
            values.update(
                min=float(voxels.min()), max=float(voxels.max()), mean=float(voxels.mean()),
                median=float(np.median(voxels)), stdev=float(voxels.std()),
            )  # fmt: skip
        for key in keys:
            if key in values:
                self._record(stats, sid, SCALAR, key, values[key])

    def _surface(self, stats: dict, node: Segmentation, sid: str) -> None:
        keys = self._keys(SURFACE)
        if not keys or not node.mask(sid).any():
            return
        from vtkmodules.vtkFiltersCore import vtkMassProperties, vtkTriangleFilter

        from voxweb.scripting.segmentation_core import surface_polydata

        triangles = vtkTriangleFilter()
        triangles.SetInputData(surface_polydata(node, sid))
        mass = vtkMassProperties()
        mass.SetInputConnection(triangles.GetOutputPort())
        mass.Update()
        values = {"surface_mm2": float(mass.GetSurfaceArea()), "volume_mm3": float(mass.GetVolume()),
                  "volume_cm3": float(mass.GetVolume()) / 1000.0}  # fmt: skip
        for key in keys:
            self._record(stats, sid, SURFACE, key, values[key])

    def getStatistics(self) -> dict[Any, Any]:  # noqa: N802
        return self.statistics

    def getStatisticsValueAsString(self, segment_id: str, key: str) -> str:  # noqa: N802
        value = self.statistics.get((segment_id, key))
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.8g}"
        if isinstance(value, (list, tuple)):
            return " ".join(f"{v:.8g}" for v in value)
        return str(value)

    def getNonEmptyKeys(self) -> list[str]:  # noqa: N802
        keys = []
        for key in self.statistics:
            if isinstance(key, tuple) and key[1] != "Segment" and key[1] not in keys:
                keys.append(key[1])
        return keys

    def exportToTable(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        raise NotImplementedError(
            "voxweb has no table nodes: read getStatistics() instead of exportToTable()"
        )

    def showTable(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        from voxweb.scripting.headless import HeadlessError

        raise HeadlessError("headless: SegmentStatisticsLogic.showTable() needs a GUI")


class _nothing:  # noqa: N801
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def script_module(workspace: Any) -> types.ModuleType:
    """``SegmentStatistics`` for exec snippets: its logic bound to ``workspace``."""
    module = types.ModuleType("SegmentStatistics", "voxweb's segment statistics")

    class BoundSegmentStatisticsLogic(SegmentStatisticsLogic):
        __doc__ = SegmentStatisticsLogic.__doc__

        def __init__(self, parent: Any = None) -> None:
            super().__init__(workspace)

    BoundSegmentStatisticsLogic.__name__ = "SegmentStatisticsLogic"
    BoundSegmentStatisticsLogic.__qualname__ = "SegmentStatisticsLogic"
    module.SegmentStatisticsLogic = BoundSegmentStatisticsLogic
    return module


__all__ = ["PLUGINS", "ParameterNode", "SegmentStatisticsLogic", "script_module"]
