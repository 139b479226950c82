"""Model nodes: a triangle surface handed out as ``vtkPolyData``, and its display node.

The display node (``vtkMRMLModelDisplayNode``) is a view of the look kept on the model itself
(colour, opacity, visibility, slice cross-section, scalar colouring, representation, edges),
so ``/slicer/threeD`` and the slice views show what a script sets. Per-vertex scalar arrays
live in ``Model.point_data``: ``GetPolyData()`` carries them as point-data arrays sharing
memory, and arrays a script adds to that poly data are taken into the model when it asks for
them (``arrayFromModelPointData``, ``SetActiveScalarName``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.scene.nodes import Model
from voxweb.scripting.colors import color_name_from_id, color_node_id, standard_color_node
from voxweb.scripting.display import DisplayView, StorageView, property_view
from voxweb.scripting.registry import register
from voxweb.scripting.transformable import vtkMRMLTransformableNode
from voxweb.scripting.vtkconvert import arrays_from_polydata, polydata_from

# vtkMRMLDisplayNode representation constants
POINTS, WIREFRAME, SURFACE = 0, 1, 2
_REPRESENTATIONS = {POINTS: "points", WIREFRAME: "wireframe", SURFACE: "surface"}


def model_polydata(node: Model) -> Any:
    """The model's vtkPolyData (cached while vertices and faces stay the same objects),
    with its point-data arrays sharing memory with ``node.point_data``."""
    from vtkmodules.util import numpy_support

    cached = node.__dict__.get("_scripting_poly")
    if cached is not None and cached[:3] == (id(node.vertices), id(node.faces), node.mtime):
        poly = cached[3]
    else:
        if cached is not None:
            adopt_point_arrays(node)
        poly = polydata_from(node.vertices, node.faces)
        node.__dict__["_scripting_poly"] = (id(node.vertices), id(node.faces), node.mtime, poly)
    point_data = poly.GetPointData()
    for name, values in node.point_data.items():
        present = point_data.GetArray(name)
        if present is not None and getattr(present, "_numpy_reference", None) is values:
            continue
        array = numpy_support.numpy_to_vtk(values, deep=False)
        array.SetName(name)
        point_data.AddArray(array)
    return poly


def adopt_point_arrays(node: Model) -> None:
    """Take point-data arrays a script added to the model's poly data into the model."""
    from vtkmodules.util import numpy_support

    cached = node.__dict__.get("_scripting_poly")
    if cached is None:
        return
    point_data = cached[3].GetPointData()
    count = len(node.vertices)
    for index in range(point_data.GetNumberOfArrays()):
        array = point_data.GetArray(index)
        name = None if array is None else array.GetName()
        if not name or name in node.point_data or array.GetNumberOfTuples() != count:
            continue
        node.point_data[name] = numpy_support.vtk_to_numpy(array)


@register
class vtkMRMLModelNode(vtkMRMLTransformableNode):  # noqa: N801
    scene_class = Model

    def GetPolyData(self) -> Any:  # noqa: N802
        return model_polydata(self._node)

    GetMesh = GetPolyData  # noqa: N815

    def SetAndObservePolyData(self, poly: Any) -> None:  # noqa: N802
        from vtkmodules.util import numpy_support

        vertices, faces = arrays_from_polydata(poly)
        node = self._node
        arrays = {}
        point_data = None if poly is None else poly.GetPointData()
        for index in range(0 if point_data is None else point_data.GetNumberOfArrays()):
            array = point_data.GetArray(index)
            if array is not None and array.GetName() and array.GetNumberOfTuples() == len(vertices):
                arrays[array.GetName()] = numpy_support.vtk_to_numpy(array).copy()
        node.vertices, node.faces, node.normals = vertices, faces, None
        node.point_data = arrays

    def SetPolyDataConnection(self, port: Any) -> None:  # noqa: N802
        """Take the output of a VTK pipeline (run now; later changes need another call)."""
        from voxweb.scripting.modules import polydata_of

        self.SetAndObservePolyData(polydata_of(port))

    SetMeshConnection = SetPolyDataConnection  # noqa: N815

    SetAndObserveMesh = SetAndObservePolyData  # noqa: N815

    def GetDisplayNode(self) -> Any:  # noqa: N802
        return property_view(self._node, vtkMRMLModelDisplayNode)

    GetModelDisplayNode = GetDisplayNode  # noqa: N815

    def GetStorageNode(self) -> Any:  # noqa: N802
        return property_view(self._node, vtkMRMLModelStorageNode)

    def AddPointScalars(self, array: Any) -> None:  # noqa: N802
        """Add a vtkDataArray of per-point values (by its name)."""
        from vtkmodules.util import numpy_support

        name = array.GetName()
        if not name:
            raise ValueError("the scalar array needs a name (SetName)")
        values = numpy_support.vtk_to_numpy(array)
        if len(values) != len(self._node.vertices):
            raise ValueError(f"{len(values)} values for {len(self._node.vertices)} points")
        self._node.point_data[name] = values
        self._node.modified()


class vtkMRMLModelDisplayNode(DisplayView):  # noqa: N801
    """The look of a model; every property lives on the model node."""

    slicer_class = "vtkMRMLModelDisplayNode"
    slicer_classes = ("vtkMRMLModelDisplayNode", "vtkMRMLDisplayNode", "vtkMRMLNode")

    PointsRepresentation = POINTS
    WireframeRepresentation = WIREFRAME
    SurfaceRepresentation = SURFACE

    @property
    def _display(self) -> Any:
        return self._owner  # visible and opacity are the model's own

    def _set(self, **values: Any) -> None:
        for key, value in values.items():
            setattr(self._owner, key, value)

    # colour
    def GetColor(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(float(v) for v in self._owner.color)  # type: ignore[return-value]

    def SetColor(self, *rgb: Any) -> None:  # noqa: N802
        values = [float(v) for v in (rgb[0] if len(rgb) == 1 else rgb)]
        if len(values) != 3:
            raise TypeError(f"SetColor needs r, g, b, got {len(values)} values")
        self._set(color=tuple(min(max(v, 0.0), 1.0) for v in values))

    # slice views
    def GetVisibility2D(self) -> bool:  # noqa: N802
        return bool(self._owner.visible_2d)

    def SetVisibility2D(self, visible: Any) -> None:  # noqa: N802
        self._set(visible_2d=bool(visible))

    GetSliceIntersectionVisibility = GetVisibility2D  # noqa: N815
    SetSliceIntersectionVisibility = SetVisibility2D  # noqa: N815

    def Visibility2DOn(self) -> None:  # noqa: N802
        self.SetVisibility2D(True)

    def Visibility2DOff(self) -> None:  # noqa: N802
        self.SetVisibility2D(False)

    def GetVisibility3D(self) -> bool:  # noqa: N802
        return self.GetVisibility()

    SetVisibility3D = DisplayView.SetVisibility  # noqa: N815

    # scalars
    def GetScalarVisibility(self) -> bool:  # noqa: N802
        return bool(self._owner.scalar_visible)

    def SetScalarVisibility(self, on: Any) -> None:  # noqa: N802
        adopt_point_arrays(self._owner)
        self._set(scalar_visible=bool(on))

    def ScalarVisibilityOn(self) -> None:  # noqa: N802
        self.SetScalarVisibility(True)

    def ScalarVisibilityOff(self) -> None:  # noqa: N802
        self.SetScalarVisibility(False)

    def GetActiveScalarName(self) -> str | None:  # noqa: N802
        return self._owner.active_scalar

    def SetActiveScalarName(self, name: str | None) -> None:  # noqa: N802
        adopt_point_arrays(self._owner)
        if name and name not in self._owner.point_data:
            raise ValueError(
                f"the model has no point scalars {name!r} "
                f"(it has: {', '.join(self._owner.point_data) or 'none'}; voxweb has no cell scalars)"
            )
        self._set(active_scalar=name or None)

    def SetActiveScalar(self, name: str, location: int = 0) -> None:  # noqa: N802
        if int(location) not in (0, 1):  # vtkAssignAttribute::POINT_DATA (0)
            raise NotImplementedError("voxweb colours models by point scalars only")
        self.SetActiveScalarName(name)

    def GetActiveAttributeLocation(self) -> int:  # noqa: N802
        return 0

    def SetActiveAttributeLocation(self, location: int) -> None:  # noqa: N802
        if int(location) != 0:
            raise NotImplementedError("voxweb colours models by point scalars only")

    def GetColorNodeID(self) -> str:  # noqa: N802
        return color_node_id(self._owner.scalar_color_table)

    def SetAndObserveColorNodeID(self, node_id: str | None) -> None:  # noqa: N802
        from voxweb.render import colormaps

        name = color_name_from_id(node_id)
        if not colormaps.has_ramp(name):
            raise NotImplementedError(
                f"voxweb colours model scalars with continuous tables ({', '.join(colormaps.names())}), "
                f"not {node_id!r}"
            )
        self._set(scalar_color_table=name)

    SetColorNodeID = SetAndObserveColorNodeID  # noqa: N815

    def GetColorNode(self) -> Any:  # noqa: N802
        return standard_color_node(self.GetColorNodeID())

    def GetScalarRange(self) -> tuple[float, float]:  # noqa: N802
        node = self._owner
        if node.scalar_range is not None:
            return tuple(node.scalar_range)  # type: ignore[return-value]
        values = node.point_data.get(node.active_scalar or "")
        if values is None or not len(values):
            return (0.0, 1.0)
        return (float(np.nanmin(values)), float(np.nanmax(values)))

    def SetScalarRange(self, *low_high: Any) -> None:  # noqa: N802
        low, high = [float(v) for v in (low_high[0] if len(low_high) == 1 else low_high)]
        self._set(scalar_range=(low, high))

    def SetScalarRangeFlag(self, flag: int) -> None:  # noqa: N802
        """0 (UseManualScalarRange) keeps the range set; other flags use the data range."""
        if int(flag) != 0:
            self._set(scalar_range=None)
        self._extra["range_flag"] = int(flag)

    def GetScalarRangeFlag(self) -> int:  # noqa: N802
        return int(self._extra.get("range_flag", 2))

    def SetAutoScalarRange(self, on: Any) -> None:  # noqa: N802
        if on:
            self._set(scalar_range=None)

    UseManualScalarRange = 0
    UseDataScalarRange = 1
    UseColorNodeScalarRange = 2
    UseDataTypeScalarRange = 3

    # representation and edges
    def GetRepresentation(self) -> int:  # noqa: N802
        return {v: k for k, v in _REPRESENTATIONS.items()}[self._owner.representation]

    def SetRepresentation(self, value: int) -> None:  # noqa: N802
        if int(value) not in _REPRESENTATIONS:
            raise ValueError(
                f"representation is 0 (points), 1 (wireframe) or 2 (surface), not {value}"
            )
        self._set(representation=_REPRESENTATIONS[int(value)])

    def GetEdgeVisibility(self) -> bool:  # noqa: N802
        return bool(self._owner.edges_visible)

    def SetEdgeVisibility(self, on: Any) -> None:  # noqa: N802
        self._set(edges_visible=bool(on))

    def EdgeVisibilityOn(self) -> None:  # noqa: N802
        self.SetEdgeVisibility(True)

    def EdgeVisibilityOff(self) -> None:  # noqa: N802
        self.SetEdgeVisibility(False)

    def GetEdgeColor(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(self._owner.edge_color)  # type: ignore[return-value]

    def SetEdgeColor(self, *rgb: Any) -> None:  # noqa: N802
        values = [float(v) for v in (rgb[0] if len(rgb) == 1 else rgb)]
        self._set(edge_color=tuple(values[:3]))

    # lighting and line style: kept (voxweb's renderers use fixed lighting)
    def _kept(name: str) -> Any:  # type: ignore[misc]  # noqa: N805
        def setter(self: vtkMRMLModelDisplayNode, value: Any) -> None:
            self._keep(name, value)

        def getter(self: vtkMRMLModelDisplayNode) -> Any:
            return self._extra.get(name)

        return setter, getter

    SetAmbient, GetAmbient = _kept("ambient")  # noqa: N815
    SetDiffuse, GetDiffuse = _kept("diffuse")  # noqa: N815
    SetSpecular, GetSpecular = _kept("specular")  # noqa: N815
    SetPower, GetPower = _kept("power")  # noqa: N815
    SetLineWidth, GetLineWidth = _kept("line_width")  # noqa: N815
    SetPointSize, GetPointSize = _kept("point_size")  # noqa: N815
    SetBackfaceCulling, GetBackfaceCulling = _kept("backface_culling")  # noqa: N815
    SetSliceIntersectionThickness, GetSliceIntersectionThickness = _kept("section_width")  # noqa: N815
    SetSliceIntersectionOpacity, GetSliceIntersectionOpacity = _kept("section_opacity")  # noqa: N815
    del _kept


class vtkMRMLModelStorageNode(StorageView):  # noqa: N801
    slicer_class = "vtkMRMLModelStorageNode"
    slicer_classes = ("vtkMRMLModelStorageNode", "vtkMRMLStorageNode", "vtkMRMLNode")


__all__ = ["vtkMRMLModelDisplayNode", "vtkMRMLModelNode", "vtkMRMLModelStorageNode"]
