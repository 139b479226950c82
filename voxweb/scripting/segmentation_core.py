"""Slicer's segmentation core (``vtkSegmentationCorePython``) over voxweb's Segmentation node.

``vtkSegmentation`` and ``vtkSegment`` here are views onto a ``scene.Segmentation`` and its
``Segment`` records: names, colors, tags and voxels live in the scene node only. The binary
labelmap is the one stored representation (Slicer's source representation); the closed surface
is computed from it on request (marching cubes, optional windowed-sinc smoothing following the
"Smoothing factor" conversion parameter) and cached by the node's modification stamp.
``vtkOrientedImageData`` is a real ``vtkImageData`` whose direction matrix holds the axis
directions, so the image-to-world matrix survives VTK's copies. Importing
``vtkSegmentationCorePython`` in an exec snippet gives :func:`script_module`'s module.
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from typing import Any

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkStringArray
from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPolyData
from vtkmodules.vtkCommonMath import vtkMatrix3x3, vtkMatrix4x4

from voxweb.scene.nodes import Segment, Segmentation, generated_color
from voxweb.scripting.vtkconvert import array_from_image_data, fill_matrix, matrix_array

BINARY_LABELMAP = "Binary labelmap"
CLOSED_SURFACE = "Closed surface"
REFERENCE_GEOMETRY = "Reference image geometry"
_PARAMETERS_ATTRIBUTE = "Segmentation_ConversionParameters"
#: Conversion parameters Slicer's converters know, with their defaults.
DEFAULT_PARAMETERS = {
    "Smoothing factor": "0.5",
    "Decimation factor": "0.0",
    "Compute surface normals": "1",
    "Oversampling factor": "1",
    "Crop to reference image geometry": "0",
    "Collapse labelmaps": "1",
}

# --------------------------------------------------------------------- oriented image data


class vtkOrientedImageData(vtkImageData):  # noqa: N801 - Slicer's class name
    """A vtkImageData with axis directions: index (i, j, k) -> world through
    ``origin + directions @ (spacing * ijk)``; the extent may start anywhere."""

    def SetDirections(self, *values: Any) -> None:  # noqa: N802
        """SetDirections(3x3) or SetDirections(iDirection, jDirection, kDirection)."""
        if len(values) == 3:
            directions = np.array(values, dtype=float).T
        else:
            directions = np.array(values[0], dtype=float).reshape(3, 3)
        matrix = vtkMatrix3x3()
        fill_matrix(matrix, directions)
        vtkImageData.SetDirectionMatrix(self, matrix)

    def GetDirections(self, out: Any = None) -> Any:  # noqa: N802
        directions = _directions(self)
        if out is None:
            return directions.tolist()
        for r in range(3):
            for c in range(3):
                out[r][c] = float(directions[r, c])
        return out

    def GetDirectionMatrix(self, out: Any = None) -> Any:  # noqa: N802
        """Slicer's form fills a vtkMatrix4x4; without an argument VTK's 3x3 is returned."""
        if out is None:
            return vtkImageData.GetDirectionMatrix(self)
        matrix = np.eye(4)
        matrix[:3, :3] = _directions(self)
        return (
            fill_matrix(out, matrix)
            if isinstance(out, vtkMatrix4x4)
            else fill_matrix(out, matrix[:3, :3])
        )

    def SetDirectionMatrix(self, matrix: Any, *rest: Any) -> None:  # noqa: N802
        values = matrix_array(matrix)[:3, :3] if isinstance(matrix, vtkMatrix4x4) else matrix
        if isinstance(values, vtkMatrix3x3):
            vtkImageData.SetDirectionMatrix(self, values)
            return
        self.SetDirections(np.asarray(values if not rest else (matrix, *rest), dtype=float))

    def SetImageToWorldMatrix(self, matrix: Any) -> None:  # noqa: N802
        set_image_to_world(self, matrix_array(matrix))

    SetGeometryFromImageToWorldMatrix = SetImageToWorldMatrix  # noqa: N815

    def GetImageToWorldMatrix(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, image_to_world(self))

    def GetWorldToImageMatrix(self, out: Any = None) -> Any:  # noqa: N802
        return fill_matrix(out, np.linalg.inv(image_to_world(self)))

    def CopyDirections(self, other: Any) -> None:  # noqa: N802
        vtkImageData.SetDirectionMatrix(self, other.GetDirectionMatrix())

    def IsEmpty(self) -> bool:  # noqa: N802
        e = self.GetExtent()
        return e[0] > e[1] or e[2] > e[3] or e[4] > e[5]

    def GetImageToWorldMatrixArray(self) -> np.ndarray:  # noqa: N802 - voxweb helper
        return image_to_world(self)


def _directions(image: vtkImageData) -> np.ndarray:
    matrix = vtkImageData.GetDirectionMatrix(image)
    return np.array([[matrix.GetElement(r, c) for c in range(3)] for r in range(3)])


def image_to_world(image: vtkImageData) -> np.ndarray:
    """4x4 from (i, j, k) image indices (extent coordinates) to world."""
    m = np.eye(4)
    m[:3, :3] = _directions(image) @ np.diag(image.GetSpacing())
    m[:3, 3] = image.GetOrigin()
    return m


def set_image_to_world(image: vtkImageData, matrix: np.ndarray) -> None:
    spacing = np.linalg.norm(matrix[:3, :3], axis=0)
    spacing = np.where(spacing > 0, spacing, 1.0)
    image.SetSpacing(*(float(s) for s in spacing))
    image.SetOrigin(*(float(v) for v in matrix[:3, 3]))
    directions = vtkMatrix3x3()
    fill_matrix(directions, matrix[:3, :3] / spacing)
    vtkImageData.SetDirectionMatrix(image, directions)


def image_arrays(image: vtkImageData) -> tuple[np.ndarray, np.ndarray]:
    """(voxels (k, j, i), IJK-to-RAS where IJK counts from the first voxel of the extent)."""
    extent = image.GetExtent()
    shift = np.eye(4)
    shift[:3, 3] = (extent[0], extent[2], extent[4])
    matrix = image_to_world(image) @ shift
    if extent[0] > extent[1] or extent[2] > extent[3] or extent[4] > extent[5]:
        return np.zeros((0, 0, 0), dtype=np.uint8), matrix
    return array_from_image_data(image), matrix


def fill_image(
    target: vtkImageData,
    array: np.ndarray,
    ijk_to_ras: np.ndarray,
    start: Iterable[int] = (0, 0, 0),
    share: bool = False,
) -> vtkImageData:
    """Make ``target`` hold ``array`` (k, j, i) at IJK ``start`` of the grid ``ijk_to_ras``."""
    i0, j0, k0 = (int(v) for v in start)
    k, j, i = array.shape
    target.Initialize()
    set_image_to_world(target, np.asarray(ijk_to_ras, dtype=float))
    target.SetExtent(i0, i0 + i - 1, j0, j0 + j - 1, k0, k0 + k - 1)
    if not share or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array).copy()
    scalars = numpy_support.numpy_to_vtk(array.reshape(-1), deep=False)
    scalars.SetName("ImageScalars")
    target.GetPointData().SetScalars(scalars)
    target._voxweb_array = array  # keep the memory VTK points into alive
    return target


# --------------------------------------------------------------------- grids and resampling


def has_geometry(node: Segmentation) -> bool:
    """Whether the segmentation has a voxel grid yet (a reference geometry or voxels)."""
    return tuple(node.shape) != (1, 1, 1) or REFERENCE_GEOMETRY in conversion_parameters(node)


def resample(
    array: np.ndarray,
    source_ijk_to_ras: np.ndarray,
    shape: Iterable[int],
    target_ijk_to_ras: np.ndarray,
) -> np.ndarray:
    """``array`` (k, j, i) on the source grid, sampled on the target grid (nearest neighbour,
    0 outside the source)."""
    shape = tuple(int(s) for s in shape)
    source = np.asarray(source_ijk_to_ras, dtype=float)
    target = np.asarray(target_ijk_to_ras, dtype=float)
    if array.shape == shape and np.allclose(source, target, atol=1e-6):
        return array.copy()
    if array.size == 0 or 0 in shape:
        return np.zeros(shape, dtype=array.dtype)
    from scipy.ndimage import affine_transform

    ijk = np.linalg.inv(source) @ target  # target IJK -> source IJK
    flip = np.eye(4)[[2, 1, 0, 3]]  # IJK <-> KJI
    kji = flip @ ijk @ flip
    rounded = np.round(kji)
    if np.allclose(kji, rounded, atol=1e-6):
        kji = rounded  # whole-voxel shifts and flips stay exact
    work = array.astype(np.uint8) if array.dtype == bool else array
    out = affine_transform(
        work, kji[:3, :3], offset=kji[:3, 3], output_shape=shape, order=0, mode="constant", cval=0
    )
    return out.astype(array.dtype, copy=False)


def set_grid(node: Segmentation, shape: Iterable[int], ijk_to_ras: np.ndarray) -> None:
    """Move the segmentation onto a new voxel grid, resampling the segments already there."""
    shape = tuple(int(s) for s in shape)
    matrix = np.asarray(ijk_to_ras, dtype=float)
    layers = [resample(layer, node.ijk_to_ras, shape, matrix) for layer in node.layers]
    object.__setattr__(node, "layers", layers)
    object.__setattr__(node, "shape", shape)
    object.__setattr__(node, "ijk_to_ras", matrix)
    node.modified()


def serialize_geometry(ijk_to_ras: np.ndarray, shape: Iterable[int]) -> str:
    """Slicer's reference-geometry string: the 16 image-to-world values, then the extent."""
    k, j, i = (int(s) for s in shape)
    values = [repr(float(v)) for v in np.asarray(ijk_to_ras, dtype=float).reshape(-1)]
    return ";".join(values + [str(v) for v in (0, i - 1, 0, j - 1, 0, k - 1)]) + ";"


def deserialize_geometry(text: str) -> tuple[np.ndarray, tuple[int, int, int], tuple[int, ...]]:
    """(IJK-to-RAS of the extent start, shape (k, j, i), extent) from a geometry string."""
    values = [float(v) for v in str(text).split(";") if v.strip()]
    if len(values) != 22:
        raise ValueError(f"not an image geometry string: {text!r}")
    matrix = np.array(values[:16]).reshape(4, 4)
    extent = tuple(int(v) for v in values[16:])
    shift = np.eye(4)
    shift[:3, 3] = (extent[0], extent[2], extent[4])
    shape = (extent[5] - extent[4] + 1, extent[3] - extent[2] + 1, extent[1] - extent[0] + 1)
    return matrix @ shift, shape, extent


def conversion_parameters(node: Segmentation) -> dict[str, str]:
    """The node's conversion parameters (kept in its attributes, as ``.seg.nrrd`` stores them)."""
    text = node.attributes.get(_PARAMETERS_ATTRIBUTE, "")
    out = {}
    for item in text.split("&"):
        parts = item.split("|")
        if len(parts) >= 2 and parts[0]:
            out[parts[0]] = parts[1]
    return out


def set_conversion_parameter(node: Segmentation, name: str, value: Any) -> None:
    parameters = conversion_parameters(node)
    parameters[str(name)] = str(value)
    node.attributes[_PARAMETERS_ATTRIBUTE] = "&".join(f"{k}|{v}|" for k, v in parameters.items())
    node.modified()


def conversion_parameter(node: Segmentation, name: str) -> str:
    return conversion_parameters(node).get(name, DEFAULT_PARAMETERS.get(name, ""))


def set_reference_geometry(node: Segmentation, ijk_to_ras: np.ndarray, shape: Any) -> None:
    set_conversion_parameter(node, REFERENCE_GEOMETRY, serialize_geometry(ijk_to_ras, shape))
    set_grid(node, shape, ijk_to_ras)


# --------------------------------------------------------------------- masks in and out


def mask_from_image(node: Segmentation, image: vtkImageData) -> np.ndarray:
    """A boolean mask on the node's grid from an image's non-zero voxels; a segmentation
    without a grid takes the image's."""
    array, matrix = image_arrays(image)
    if not has_geometry(node):
        set_grid(node, array.shape, matrix)
    if array.size == 0:
        return np.zeros(node.shape, dtype=bool)
    return resample(array != 0, matrix, node.shape, node.ijk_to_ras)


def mask_from_polydata(node: Segmentation, poly: vtkPolyData) -> np.ndarray:
    """Voxels of the node's grid inside a closed surface (RAS); a segmentation without a grid
    gets one around the surface (isotropic, the longest side in at most 200 voxels)."""
    from vtkmodules.vtkCommonTransforms import vtkTransform
    from vtkmodules.vtkFiltersGeneral import vtkTransformPolyDataFilter
    from vtkmodules.vtkImagingStencil import vtkImageStencilToImage, vtkPolyDataToImageStencil

    if not has_geometry(node):
        bounds = np.array(poly.GetBounds(), dtype=float).reshape(3, 2)
        size = bounds[:, 1] - bounds[:, 0]
        spacing = max(float(size.max()) / 200.0, 0.25)
        shape_ijk = np.maximum(np.ceil(size / spacing).astype(int) + 3, 1)
        matrix = np.diag([spacing, spacing, spacing, 1.0])
        matrix[:3, 3] = bounds[:, 0] - spacing
        set_grid(node, tuple(int(v) for v in shape_ijk[::-1]), matrix)
    transform = vtkTransform()
    transform.SetMatrix(fill_matrix(None, np.linalg.inv(node.ijk_to_ras)))
    to_ijk = vtkTransformPolyDataFilter()
    to_ijk.SetInputData(poly)
    to_ijk.SetTransform(transform)
    k, j, i = node.shape
    stencil = vtkPolyDataToImageStencil()
    stencil.SetInputConnection(to_ijk.GetOutputPort())
    stencil.SetOutputOrigin(0, 0, 0)
    stencil.SetOutputSpacing(1, 1, 1)
    stencil.SetOutputWholeExtent(0, i - 1, 0, j - 1, 0, k - 1)
    image = vtkImageStencilToImage()
    image.SetInputConnection(stencil.GetOutputPort())
    image.SetInsideValue(1)
    image.SetOutsideValue(0)
    image.SetOutputScalarTypeToUnsignedChar()
    image.Update()
    return array_from_image_data(image.GetOutput()) != 0


def effective_extent(mask: np.ndarray) -> tuple[int, int, int, int, int, int] | None:
    """(i0, i1, j0, j1, k0, k1) of the non-zero voxels, None when there are none."""
    if not mask.any():
        return None
    out = []
    for axis in (2, 1, 0):
        others = tuple(a for a in range(3) if a != axis)
        hits = np.nonzero(mask.any(axis=others))[0]
        out += [int(hits[0]), int(hits[-1])]
    return tuple(out)  # type: ignore[return-value]


def surface_polydata(node: Segmentation, segment_id: str) -> vtkPolyData:
    """The segment's closed surface in the node's coordinates (cached per node stamp)."""
    smoothing = float(conversion_parameter(node, "Smoothing factor") or 0)
    normals = conversion_parameter(node, "Compute surface normals") not in ("0", "false")
    cache = node.__dict__.setdefault("_scripting_surfaces", {})
    key = (segment_id, node.mtime, smoothing, normals)
    poly = cache.get(key)
    if poly is not None:
        return poly
    from voxweb.render.surfaces import mask_surface
    from voxweb.scripting.vtkconvert import polydata_from

    vertices, faces = mask_surface(node.mask(segment_id), node.ijk_to_ras)
    poly = polydata_from(vertices, faces)
    if smoothing > 0 and len(faces):
        from vtkmodules.vtkFiltersCore import vtkWindowedSincPolyDataFilter

        smoother = vtkWindowedSincPolyDataFilter()
        smoother.SetInputData(poly)
        smoother.SetNumberOfIterations(20)
        smoother.SetPassBand(10.0 ** (-4.0 * smoothing))
        smoother.BoundarySmoothingOff()
        smoother.FeatureEdgeSmoothingOff()
        smoother.NonManifoldSmoothingOn()
        smoother.NormalizeCoordinatesOn()
        smoother.Update()
        poly = smoother.GetOutput()
    if normals and len(faces):
        from vtkmodules.vtkFiltersCore import vtkPolyDataNormals

        normal_filter = vtkPolyDataNormals()
        normal_filter.SetInputData(poly)
        normal_filter.ConsistencyOn()
        normal_filter.SplittingOff()
        normal_filter.Update()
        poly = normal_filter.GetOutput()
    for old in [k for k in cache if k[0] == segment_id]:
        del cache[old]
    cache[key] = poly
    return poly


def copy_polydata(target: Any, poly: vtkPolyData) -> Any:
    if target is None:
        return poly
    target.DeepCopy(poly)
    return target


def string_list(ids: Any) -> list[str]:
    """Segment IDs from a vtkStringArray, a list/tuple or one string."""
    if ids is None:
        return []
    if isinstance(ids, str):
        return [ids]
    if isinstance(ids, vtkStringArray):
        return [ids.GetValue(n) for n in range(ids.GetNumberOfValues())]
    return [str(v) for v in ids]


def fill_string_array(target: Any, values: Iterable[str]) -> Any:
    if target is None:
        target = vtkStringArray()
    target.Reset()
    for value in values:
        target.InsertNextValue(str(value))
    return target


# --------------------------------------------------------------------- segment views


def _rgb(args: tuple[Any, ...]) -> tuple[float, float, float]:
    values = args[0] if len(args) == 1 else args
    rgb = [float(v) for v in list(values)[:3]]
    if len(rgb) != 3:
        raise TypeError(f"a color needs 3 values, got {len(rgb)}")
    return (rgb[0], rgb[1], rgb[2])


class vtkSegment:  # noqa: N801 - Slicer's class name
    """One segment: a view of a ``Segment`` of a segmentation node, or a free segment made by
    a script (``vtkSegment()``) until ``vtkSegmentation.AddSegment`` adopts it."""

    def __init__(self, _owner: Segmentation | None = None, _segment_id: str = "") -> None:
        self._owner = _owner
        self._sid = _segment_id
        self._free = Segment(id="", name="", color=(0.5, 0.5, 0.5)) if _owner is None else None
        self._representations: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<vtkSegment {self._data().id or '(free)'} {self.GetName()!r}>"

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"'vtkSegment' object has no attribute '{name}' (not provided by voxweb)"
        )

    def _data(self) -> Segment:
        if self._owner is None:
            return self._free  # type: ignore[return-value]
        return self._owner.segment(self._sid)

    def _changed(self) -> None:
        if self._owner is not None:
            self._owner.modified()

    def GetClassName(self) -> str:  # noqa: N802
        return "vtkSegment"

    def IsA(self, name: str) -> bool:  # noqa: N802
        return name in ("vtkSegment", "vtkObject")

    def Modified(self) -> None:  # noqa: N802
        self._changed()

    def GetName(self) -> str:  # noqa: N802
        return self._data().name

    def SetName(self, name: str) -> None:  # noqa: N802
        self._data().name = str(name)
        self._changed()

    def GetNameAutoGenerated(self) -> bool:  # noqa: N802
        return False

    def SetNameAutoGenerated(self, value: Any) -> None:  # noqa: N802
        return None

    def GetColor(self) -> tuple[float, float, float]:  # noqa: N802
        return tuple(float(c) for c in self._data().color)  # type: ignore[return-value]

    def SetColor(self, *rgb: Any) -> None:  # noqa: N802
        self._data().color = _rgb(rgb)
        self._changed()

    def GetColorAutoGenerated(self) -> bool:  # noqa: N802
        return False

    def SetColorAutoGenerated(self, value: Any) -> None:  # noqa: N802
        return None

    def GetLabelValue(self) -> int:  # noqa: N802
        return int(self._data().label_value)

    def SetLabelValue(self, value: int) -> None:  # noqa: N802
        """Change the value the segment's voxels hold in its layer (voxels follow)."""
        value = int(value)
        segment = self._data()
        node = self._owner
        if node is None or value == segment.label_value:
            segment.label_value = value
            return
        for other in node.segments.values():
            if other is not segment and other.layer == segment.layer and other.label_value == value:
                raise ValueError(
                    f"label value {value} is used by segment {other.id!r} in the same layer"
                )
        if segment.layer < len(node.layers):
            layer = node.layers[segment.layer]
            if value > np.iinfo(layer.dtype).max:
                raise ValueError(f"label value {value} does not fit the {layer.dtype} layer")
            layer[layer == segment.label_value] = value
        segment.label_value = value
        self._changed()

    # tags
    def SetTag(self, key: str, value: Any) -> None:  # noqa: N802
        self._data().tags[str(key)] = str(value)
        self._changed()

    def GetTag(self, key: str, out: Any = None) -> Any:  # noqa: N802
        """GetTag(key, vtk.mutable("")) -> found (the value goes into the mutable);
        GetTag(key) -> the value ("" when missing)."""
        tags = self._data().tags
        if out is None:
            return tags.get(str(key), "")
        if str(key) not in tags:
            return False
        out.set(tags[str(key)]) if hasattr(out, "set") else None
        return True

    def HasTag(self, key: str) -> bool:  # noqa: N802
        return str(key) in self._data().tags

    def RemoveTag(self, key: str) -> None:  # noqa: N802
        if self._data().tags.pop(str(key), None) is not None:
            self._changed()

    def GetTags(self, out: Any = None) -> dict[str, str]:  # noqa: N802
        tags = dict(self._data().tags)
        if out is not None and hasattr(out, "update"):
            out.update(tags)
        return tags

    # representations
    def AddRepresentation(self, name: str, data: Any) -> bool:  # noqa: N802
        if self._owner is not None:
            node, sid = self._owner, self._sid
            if name == BINARY_LABELMAP:
                node.set_mask(sid, mask_from_image(node, data))
            elif name == CLOSED_SURFACE:
                node.set_mask(sid, mask_from_polydata(node, data))
            else:
                raise NotImplementedError(f"voxweb segments hold no {name!r} representation")
            return True
        if name not in (BINARY_LABELMAP, CLOSED_SURFACE):
            raise NotImplementedError(f"voxweb segments hold no {name!r} representation")
        self._representations[name] = data
        return True

    def GetRepresentation(self, name: str) -> Any:  # noqa: N802
        if self._owner is None:
            return self._representations.get(name)
        return segmentation_view(self._owner).GetSegmentRepresentation(self._sid, name)

    def RemoveRepresentation(self, name: str) -> None:  # noqa: N802
        self._representations.pop(name, None)

    def GetContainedRepresentationNames(self, out: Any = None) -> Any:  # noqa: N802
        if self._owner is None:
            names = list(self._representations)
        else:
            names = [BINARY_LABELMAP] + ([CLOSED_SURFACE] if self._owner.closed_surface else [])
        return fill_string_array(out, names) if out is not None else names

    def GetBounds(self, out: Any = None) -> list[float]:  # noqa: N802
        """RAS bounds of the segment's voxels (outer faces), in the segmentation's coordinates."""
        if self._owner is None:
            raise NotImplementedError("bounds of a segment outside a segmentation")
        extent = effective_extent(self._owner.mask(self._sid))
        if extent is None:
            bounds = [1.0, -1.0] * 3
        else:
            corners = np.array(
                [[i, j, k, 1.0] for i in (extent[0] - 0.5, extent[1] + 0.5)
                 for j in (extent[2] - 0.5, extent[3] + 0.5)
                 for k in (extent[4] - 0.5, extent[5] + 0.5)]
            )  # fmt: skip
            ras = (self._owner.ijk_to_ras @ corners.T)[:3]
            bounds = [float(v) for axis in range(3) for v in (ras[axis].min(), ras[axis].max())]
        if out is not None:
            out[:] = bounds
        return bounds


def segment_view(node: Segmentation, segment_id: str) -> vtkSegment:
    """One view per (segmentation, segment ID), so a kept segment object stays the same."""
    views = node.__dict__.setdefault("_scripting_segment_views", {})
    view = views.get(segment_id)
    if view is None or view._owner is not node or view._sid != segment_id:
        view = vtkSegment(node, segment_id)
        views[segment_id] = view
    return view


# --------------------------------------------------------------------- segmentation view


class vtkSegmentation:  # noqa: N801 - Slicer's class name
    """The segments of a segmentation node, with Slicer's vtkSegmentation methods."""

    EXTENT_REFERENCE_GEOMETRY = 0
    EXTENT_UNION_OF_SEGMENTS = 1
    EXTENT_UNION_OF_SEGMENTS_PADDED = 2
    EXTENT_UNION_OF_EFFECTIVE_SEGMENTS = 3
    EXTENT_UNION_OF_EFFECTIVE_SEGMENTS_PADDED = 4
    EXTENT_UNION_OF_EFFECTIVE_SEGMENTS_AND_REFERENCE_GEOMETRY = 5

    def __init__(self, _node: Segmentation | None = None) -> None:
        self._node = _node if _node is not None else Segmentation()
        self._node.__dict__.setdefault("_scripting_segmentation", self)

    def __repr__(self) -> str:
        return f"<vtkSegmentation of {self._node.id or self._node.name!r}>"

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"'vtkSegmentation' object has no attribute '{name}' (not provided by voxweb)"
        )

    def GetClassName(self) -> str:  # noqa: N802
        return "vtkSegmentation"

    def Modified(self) -> None:  # noqa: N802
        self._node.modified()

    # --- segments ---------------------------------------------------------------------
    def GetNumberOfSegments(self) -> int:  # noqa: N802
        return len(self._node.segments)

    def GetSegmentIDs(self, out: Any = None) -> Any:  # noqa: N802
        """A list of IDs, or fills the vtkStringArray given."""
        ids = list(self._node.segments)
        return ids if out is None else fill_string_array(out, ids)

    def GetNthSegmentID(self, index: int) -> str:  # noqa: N802
        ids = list(self._node.segments)
        return ids[int(index)] if 0 <= int(index) < len(ids) else ""

    def GetNthSegment(self, index: int) -> vtkSegment | None:  # noqa: N802
        sid = self.GetNthSegmentID(index)
        return segment_view(self._node, sid) if sid else None

    def GetSegment(self, segment_id: str) -> vtkSegment | None:  # noqa: N802
        sid = str(segment_id)
        return segment_view(self._node, sid) if sid in self._node.segments else None

    def GetSegmentIndex(self, segment_id: str) -> int:  # noqa: N802
        ids = list(self._node.segments)
        return ids.index(segment_id) if segment_id in ids else -1

    def SetSegmentIndex(self, segment_id: str, index: int) -> bool:  # noqa: N802
        ids = [s for s in self._node.segments if s != segment_id]
        if segment_id not in self._node.segments:
            return False
        ids.insert(int(index), segment_id)
        self._reorder(ids)
        return True

    def _reorder(self, ids: list[str]) -> None:
        segments = self._node.segments
        object.__setattr__(self._node, "segments", {sid: segments[sid] for sid in ids})
        self._node.modified()

    def GetSegmentIdBySegmentName(self, name: str) -> str:  # noqa: N802
        for segment in self._node.segments.values():
            if segment.name.lower() == str(name).lower():
                return segment.id
        return ""

    def GetSegmentIdBySegment(self, segment: vtkSegment) -> str:  # noqa: N802
        if isinstance(segment, vtkSegment) and segment._owner is self._node:
            return segment._sid
        return ""

    def GenerateUniqueSegmentID(self, base: str = "") -> str:  # noqa: N802
        base = str(base) or "Segment"
        if base not in self._node.segments:
            return base
        n = 1
        while f"{base}_{n}" in self._node.segments:
            n += 1
        return f"{base}_{n}"

    def AddEmptySegment(  # noqa: N802
        self, segment_id: str = "", segment_name: str = "", color: Any = None
    ) -> str:
        sid = str(segment_id) or None
        if sid in self._node.segments:
            sid = self.GenerateUniqueSegmentID(sid)
        rgb = None if color is None or len(list(color)) < 3 or min(color) < 0 else _rgb((color,))
        segment = self._node.add_segment(name=str(segment_name) or sid, color=rgb, segment_id=sid)
        return segment.id

    def AddSegment(
        self, segment: vtkSegment, segment_id: str = "", insert_before: str = ""
    ) -> bool:  # noqa: N802
        """Add a free segment (its representations become voxels) or copy one from another
        segmentation; the free segment object then stands for the added segment."""
        node = self._node
        source = segment._data()
        sid = str(segment_id) or source.id or None
        if sid in node.segments:
            sid = self.GenerateUniqueSegmentID(sid)
        mask = None
        if segment._owner is not None:
            other = segment._owner
            mask = resample(other.mask(segment._sid), other.ijk_to_ras, node.shape, node.ijk_to_ras)
        elif BINARY_LABELMAP in segment._representations:
            mask = mask_from_image(node, segment._representations[BINARY_LABELMAP])
        elif CLOSED_SURFACE in segment._representations:
            mask = mask_from_polydata(node, segment._representations[CLOSED_SURFACE])
        added = node.add_segment(
            name=source.name or sid, mask=mask, color=source.color, segment_id=sid
        )
        added.tags.update(source.tags)
        if insert_before and insert_before in node.segments:
            ids = [s for s in node.segments if s != added.id]
            ids.insert(ids.index(insert_before), added.id)
            self._reorder(ids)
        if segment._owner is None:
            segment._owner, segment._sid, segment._free = node, added.id, None
            segment._representations.clear()
            node.__dict__.setdefault("_scripting_segment_views", {})[added.id] = segment
        return True

    def CopySegmentFromSegmentation(  # noqa: N802
        self, source: vtkSegmentation, segment_id: str, remove_from_source: bool = False
    ) -> bool:
        view = source.GetSegment(segment_id)
        if view is None:
            return False
        name = view.GetName()
        self.AddSegment(view, segment_id if segment_id not in self._node.segments else "")
        if remove_from_source:
            source.RemoveSegment(segment_id)
        return bool(name is not None)

    def RemoveSegment(self, segment: Any) -> None:  # noqa: N802
        sid = segment._sid if isinstance(segment, vtkSegment) else str(segment)
        if sid in self._node.segments:
            self._node.remove_segment(sid)
            self._node.__dict__.get("_scripting_segment_views", {}).pop(sid, None)

    def RemoveAllSegments(self) -> None:  # noqa: N802
        for sid in list(self._node.segments):
            self.RemoveSegment(sid)

    # --- layers -------------------------------------------------------------------------
    def GetNumberOfLayers(self, *_: Any) -> int:  # noqa: N802
        return len(self._node.layers)

    def GetLayerIndex(self, segment_id: str) -> int:  # noqa: N802
        return int(self._node.segment(segment_id).layer)

    def GetSegmentIDsForLayer(self, layer: int) -> list[str]:  # noqa: N802
        return [s.id for s in self._node.segments.values() if s.layer == int(layer)]

    def CollapseBinaryLabelmaps(self, force: bool = False) -> None:  # noqa: N802
        return None  # segments already share layers wherever they do not overlap

    # --- representations ----------------------------------------------------------------
    def GetSourceRepresentationName(self) -> str:  # noqa: N802
        return BINARY_LABELMAP

    GetMasterRepresentationName = GetSourceRepresentationName  # noqa: N815

    def SetSourceRepresentationName(self, name: str) -> None:  # noqa: N802
        if name != BINARY_LABELMAP:
            raise NotImplementedError(
                f"voxweb segmentations store binary labelmaps; {name!r} cannot be the source"
            )

    SetMasterRepresentationName = SetSourceRepresentationName  # noqa: N815

    def ContainsRepresentation(self, name: str) -> bool:  # noqa: N802
        return name == BINARY_LABELMAP or (name == CLOSED_SURFACE and self._node.closed_surface)

    def GetContainedRepresentationNames(self, out: Any = None) -> Any:  # noqa: N802
        names = [BINARY_LABELMAP] + ([CLOSED_SURFACE] if self._node.closed_surface else [])
        return names if out is None else fill_string_array(out, names)

    def CreateRepresentation(self, name: str, *_: Any) -> bool:  # noqa: N802
        if name == BINARY_LABELMAP:
            return True
        if name == CLOSED_SURFACE:
            self._node.closed_surface = True
            return True
        raise NotImplementedError(f"voxweb cannot convert segments to {name!r}")

    def RemoveRepresentation(self, name: str) -> None:  # noqa: N802
        if name == CLOSED_SURFACE:
            self._node.closed_surface = False
        elif name == BINARY_LABELMAP:
            raise NotImplementedError("the binary labelmap is where voxweb keeps the voxels")

    def GetSegmentRepresentation(self, segment_id: str, name: str) -> Any:  # noqa: N802
        node = self._node
        if segment_id not in node.segments:
            return None
        if name == BINARY_LABELMAP:
            segment = node.segment(segment_id)
            if segment.layer >= len(node.layers):
                return None
            return fill_image(
                vtkOrientedImageData(), node.layers[segment.layer], node.ijk_to_ras, share=True
            )
        if name == CLOSED_SURFACE:
            return surface_polydata(node, segment_id) if node.closed_surface else None
        return None

    def SetConversionParameter(self, name: str, value: Any) -> None:  # noqa: N802
        if name == REFERENCE_GEOMETRY:
            matrix, shape, _ = deserialize_geometry(str(value))
            set_reference_geometry(self._node, matrix, shape)
            return
        set_conversion_parameter(self._node, name, value)

    def GetConversionParameter(self, name: str) -> str:  # noqa: N802
        return conversion_parameter(self._node, name)

    def GetConversionParametersForPath(self, *_: Any) -> None:  # noqa: N802
        raise NotImplementedError("voxweb has one conversion path (labelmap -> surface)")


def segmentation_view(node: Segmentation) -> vtkSegmentation:
    view = node.__dict__.get("_scripting_segmentation")
    return view if view is not None else vtkSegmentation(node)


class vtkSegmentationConverter:  # noqa: N801 - Slicer's class name
    """Representation names and the image-geometry string helpers."""

    @staticmethod
    def GetSegmentationBinaryLabelmapRepresentationName() -> str:  # noqa: N802
        return BINARY_LABELMAP

    @staticmethod
    def GetBinaryLabelmapRepresentationName() -> str:  # noqa: N802
        return BINARY_LABELMAP

    @staticmethod
    def GetSegmentationClosedSurfaceRepresentationName() -> str:  # noqa: N802
        return CLOSED_SURFACE

    @staticmethod
    def GetClosedSurfaceRepresentationName() -> str:  # noqa: N802
        return CLOSED_SURFACE

    @staticmethod
    def GetSegmentationPlanarContourRepresentationName() -> str:  # noqa: N802
        return "Planar contour"

    @staticmethod
    def GetReferenceImageGeometryParameterName() -> str:  # noqa: N802
        return REFERENCE_GEOMETRY

    @staticmethod
    def SerializeImageGeometry(geometry: Any, extent: Any = None) -> str:  # noqa: N802
        """From an (oriented) image data, or a vtkMatrix4x4 and an extent."""
        if isinstance(geometry, vtkImageData):
            e = geometry.GetExtent()
            shift = np.eye(4)
            shift[:3, 3] = (e[0], e[2], e[4])
            matrix = image_to_world(geometry) @ shift
            shape = (e[5] - e[4] + 1, e[3] - e[2] + 1, e[1] - e[0] + 1)
            return serialize_geometry(matrix, shape)
        e = [int(v) for v in extent]
        shift = np.eye(4)
        shift[:3, 3] = (e[0], e[2], e[4])
        shape = (e[5] - e[4] + 1, e[3] - e[2] + 1, e[1] - e[0] + 1)
        return serialize_geometry(matrix_array(geometry) @ shift, shape)

    @staticmethod
    def DeserializeImageGeometry(text: str, image: Any, allocate: bool = True, *_: Any) -> bool:  # noqa: N802
        matrix, shape, _extent = deserialize_geometry(text)
        fill_image(image, np.zeros(shape, dtype=np.uint8), matrix)
        return True


def generated_segment_color(index: int) -> tuple[float, float, float]:
    return generated_color(index)


def script_module(workspace: Any) -> types.ModuleType:
    """``vtkSegmentationCorePython`` for exec snippets."""
    module = types.ModuleType("vtkSegmentationCorePython", "voxweb's segmentation core classes")
    for cls in (vtkOrientedImageData, vtkSegmentation, vtkSegment, vtkSegmentationConverter):
        setattr(module, cls.__name__, cls)
    return module


__all__ = [
    "BINARY_LABELMAP",
    "CLOSED_SURFACE",
    "conversion_parameter",
    "effective_extent",
    "fill_image",
    "has_geometry",
    "image_arrays",
    "mask_from_image",
    "mask_from_polydata",
    "resample",
    "script_module",
    "segment_view",
    "segmentation_view",
    "set_grid",
    "set_reference_geometry",
    "string_list",
    "surface_polydata",
    "vtkOrientedImageData",
    "vtkSegment",
    "vtkSegmentation",
    "vtkSegmentationConverter",
]
