"""numpy <-> VTK for the views: 4x4 matrices, image data sharing memory, poly data.

Slicer hands scripts real VTK objects and fills the ones scripts pass in
(``node.GetIJKToRASMatrix(m)``). These helpers do the conversions in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkCommonMath import vtkMatrix3x3, vtkMatrix4x4


def matrix_array(matrix: Any) -> np.ndarray:
    """A 4x4 float array from a vtkMatrix4x4, nested lists or an array."""
    if isinstance(matrix, vtkMatrix4x4):
        return np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
    array = np.array(matrix, dtype=float)
    if array.shape == (16,):
        array = array.reshape(4, 4)
    if array.shape != (4, 4):
        raise ValueError(f"expected a 4x4 matrix, got shape {array.shape}")
    return array


def fill_matrix(target: Any, values: np.ndarray) -> Any:
    """Write ``values`` into ``target`` (vtkMatrix4x4/3x3) if given, else make a new one."""
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    if target is None:
        target = vtkMatrix4x4() if n == 4 else vtkMatrix3x3()
    for r in range(n):
        for c in range(n):
            target.SetElement(r, c, float(values[r, c]))
    return target


def image_data_sharing(array: np.ndarray) -> vtkImageData:
    """A vtkImageData whose scalars ARE ``array`` (k, j, i) in C order: no copy.

    Like Slicer's volume image data it has unit spacing and zero origin; the geometry lives
    in the node's IJK-to-RAS matrix.
    """
    if not array.flags.c_contiguous:
        raise ValueError("image data can share only a C-contiguous array")
    k, j, i = array.shape
    image = vtkImageData()
    image.SetDimensions(int(i), int(j), int(k))
    flat = array.reshape(-1)
    scalars = numpy_support.numpy_to_vtk(flat, deep=False)
    scalars.SetName("ImageScalars")
    image.GetPointData().SetScalars(scalars)
    image._voxweb_array = array  # the VTK array points into this memory: keep it alive
    return image


def array_from_image_data(image: vtkImageData) -> np.ndarray:
    """The (k, j, i) array of a vtkImageData's scalars, sharing memory when VTK allows."""
    i, j, k = image.GetDimensions()
    scalars = image.GetPointData().GetScalars()
    if scalars is None:
        return np.zeros((k, j, i), dtype=np.int16)
    flat = numpy_support.vtk_to_numpy(scalars)
    components = scalars.GetNumberOfComponents()
    if components != 1:
        raise ValueError(
            f"image data with {components} components per voxel: voxweb volumes hold one"
        )
    return flat.reshape(k, j, i)


def polydata_from(points: np.ndarray, faces: np.ndarray) -> vtkPolyData:
    poly = vtkPolyData()
    vtk_points = vtkPoints()
    vtk_points.SetData(numpy_support.numpy_to_vtk(np.asarray(points, dtype=np.float32), deep=True))
    poly.SetPoints(vtk_points)
    faces = np.asarray(faces, dtype=np.int64)
    if faces.size:
        cells = vtkCellArray()
        offsets = np.arange(0, faces.size + 1, faces.shape[1], dtype=np.int64)
        cells.SetData(
            numpy_support.numpy_to_vtkIdTypeArray(offsets, deep=True),
            numpy_support.numpy_to_vtkIdTypeArray(faces.reshape(-1), deep=True),
        )
        poly.SetPolys(cells)
    return poly


def arrays_from_polydata(poly: vtkPolyData) -> tuple[np.ndarray, np.ndarray]:
    """(points N x 3, triangles M x 3) of a vtkPolyData; polygons are fanned into triangles."""
    from vtkmodules.vtkFiltersCore import vtkTriangleFilter

    points = poly.GetPoints()
    if points is None or poly.GetNumberOfPoints() == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    coords = numpy_support.vtk_to_numpy(points.GetData()).astype(float).reshape(-1, 3)
    triangles = vtkTriangleFilter()
    triangles.SetInputData(poly)
    triangles.PassLinesOff()
    triangles.PassVertsOff()
    triangles.Update()
    out = triangles.GetOutput()
    polys = out.GetPolys()
    if polys is None or polys.GetNumberOfCells() == 0:
        return coords, np.zeros((0, 3), dtype=np.int64)
    connectivity = numpy_support.vtk_to_numpy(polys.GetConnectivityArray()).astype(np.int64)
    out_coords = numpy_support.vtk_to_numpy(out.GetPoints().GetData()).astype(float)
    return out_coords.reshape(-1, 3), connectivity.reshape(-1, 3)
