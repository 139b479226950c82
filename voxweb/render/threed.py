"""3-D view rendering with VTK offscreen (EGL), on one dedicated render thread.

VTK is not thread-safe, so every VTK call runs on a single worker thread fed by a queue (a
one-thread executor); callers block on the result. The render window is created once
(``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow`` is set before ``import vtk``). Volume
rendering uses the CPU ray-cast mapper (``vtkFixedPointVolumeRayCastMapper``), which beats the
GPU mapper on software GL. If VTK is missing or no GL context can be made,
:func:`make_renderer` falls back to the numpy ray caster in :mod:`voxweb.render.raycast`.
This module draws a :class:`ThreeDScene` snapshot; it never touches the scene itself.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from voxweb.render.scene3d import (  # noqa: F401 - re-exported: renderers' shared types
    RenderOptions,
    ThreeDScene,
    VolumeLayer,
    transfer_points,
)
from voxweb.render.surfaces import Surface, box_lines
from voxweb.scene.views import Camera

logger = logging.getLogger(__name__)


def sample_distance(layer: VolumeLayer, camera: Camera, options: RenderOptions) -> float:
    """Distance (mm) between samples along a ray of the VTK ray caster: the smallest voxel
    spacing but at most 1 mm (half of it for quality "full"), finer when zoomed in so far that
    a ray (2x2 pixels when "fast") is narrower than a voxel, down to half again.

    vtkFixedPointVolumeRayCastMapper cannot jitter its rays (only the GPU mapper can, and on
    software OpenGL it is ten times slower), so finer sampling is what it has against rings.
    """
    import math

    spacing = float(np.min(np.linalg.norm(np.asarray(layer.ijk_to_ras)[:3, :3], axis=0)))
    spacing = min(spacing, 1.0)  # coarse volumes: as before, 1 mm (thin structures stay)
    full = options.quality == "full"
    distance = float(np.linalg.norm(np.subtract(camera.position, camera.focal_point)))
    ray_mm = 2 * distance * math.tan(math.radians(camera.view_angle) / 2) / options.size[1]
    ray_mm *= 1.0 if full else 2.0
    return spacing * (0.5 if full else 1.0) * float(np.clip(ray_mm / spacing, 0.5, 1.0))


class VtkRenderer:
    """Owns the VTK render window; all VTK work happens on its single thread."""

    name = "vtk"

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vtk-render")
        self._volumes: OrderedDict[tuple, tuple[object, np.ndarray]] = OrderedDict()
        self._actors: OrderedDict[tuple, object] = OrderedDict()
        self._shown: list = []
        self._boxes: dict[tuple, object] = {}
        self._executor.submit(self._start).result(timeout=60)

    # --- on the render thread ----------------------------------------------------------

    def _start(self) -> None:
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
        import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401  (volume mapper factories)
        from vtkmodules import vtkRenderingCore as rc
        from vtkmodules import vtkRenderingOpenGL2  # noqa: F401  (the OpenGL backend)

        self.rc = rc
        window = rc.vtkRenderWindow()
        window.SetOffScreenRendering(1)
        window.SetSize(64, 64)
        renderer = rc.vtkRenderer()
        window.AddRenderer(renderer)
        window.Render()
        if not window.SupportsOpenGL():
            raise RuntimeError("VTK could not create an OpenGL context")
        self.window, self.renderer = window, renderer
        logger.info("VTK renderer ready (%s)", type(window).__name__)

    def _volume_prop(self, layer: VolumeLayer, options: RenderOptions):
        from vtkmodules.util import numpy_support
        from vtkmodules.vtkCommonDataModel import vtkImageData, vtkPiecewiseFunction
        from vtkmodules.vtkCommonMath import vtkMatrix4x4
        from vtkmodules.vtkRenderingCore import (
            vtkColorTransferFunction,
            vtkVolume,
            vtkVolumeProperty,
        )
        from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper

        key = (layer.key, layer.preset, layer.window, layer.level, layer.crop)
        key += (options.quality, options.mode)
        found = self._volumes.get(key)
        if found is not None:
            self._volumes.move_to_end(key)
            return found[0]
        array = np.ascontiguousarray(layer.array)
        if array.dtype.kind == "f" or array.dtype.itemsize > 2:
            array = array.astype(np.float32)
        image = vtkImageData()
        nk, nj, ni = array.shape
        image.SetDimensions(ni, nj, nk)
        scalars = numpy_support.numpy_to_vtk(array.reshape(-1), deep=False)
        image.GetPointData().SetScalars(scalars)
        mapper = vtkFixedPointVolumeRayCastMapper()
        mapper.SetInputData(image)
        mapper.SetAutoAdjustSampleDistances(0)
        full = options.quality == "full"
        mapper.SetImageSampleDistance(1.0 if full else 2.0)  # fast: a ray per 2x2 pixels
        mapper.SetSampleDistance(0.5 if full else 1.0)  # set again for each camera (_render)
        if options.mode == "mip":
            mapper.SetBlendModeToMaximumIntensity()
        box = layer.crop_ijk()
        if box is not None:
            mapper.CroppingOn()
            mapper.SetCroppingRegionPlanes(*[float(v) for v in box.reshape(-1)])
            mapper.SetCroppingRegionFlagsToSubVolume()
        prop = vtkVolumeProperty()
        opacity, colour = transfer_points(layer)
        otf, ctf = vtkPiecewiseFunction(), vtkColorTransferFunction()
        if options.mode == "mip":
            lo, hi = layer.level - layer.window / 2, layer.level + layer.window / 2
            otf.AddPoint(lo, 0.0)
            otf.AddPoint(hi, 1.0)
            ctf.AddRGBPoint(lo, 0, 0, 0)
            ctf.AddRGBPoint(hi, 1, 1, 1)
        else:
            for x, a in opacity:
                otf.AddPoint(x, a)
            for x, r, g, b in colour:
                ctf.AddRGBPoint(x, r, g, b)
            prop.ShadeOn()
            prop.SetAmbient(0.3)
            prop.SetDiffuse(0.7)
            prop.SetSpecular(0.2)
        prop.SetScalarOpacity(otf)
        prop.SetColor(ctf)
        prop.SetInterpolationTypeToLinear()
        volume = vtkVolume()
        volume.SetMapper(mapper)
        volume.SetProperty(prop)
        matrix = vtkMatrix4x4()
        for r in range(4):
            for c in range(4):
                matrix.SetElement(r, c, float(layer.ijk_to_ras[r][c]))
        volume.SetUserMatrix(matrix)
        self._volumes[key] = (volume, array)  # the VTK image borrows the array's buffer
        while len(self._volumes) > 4:
            self._volumes.popitem(last=False)
        return volume

    def _surface_actor(self, surface: Surface):
        from vtkmodules.util import numpy_support
        from vtkmodules.vtkCommonCore import vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
        from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

        found = self._actors.get(surface.key)
        if found is not None:
            self._actors.move_to_end(surface.key)
            return found
        poly = vtkPolyData()
        points = vtkPoints()
        points.SetData(
            numpy_support.numpy_to_vtk(
                np.ascontiguousarray(surface.vertices, dtype=np.float64), deep=True
            )
        )
        poly.SetPoints(points)
        cells = vtkCellArray()
        offsets = np.arange(0, 3 * len(surface.faces) + 1, 3, dtype=np.int64)
        cells.SetData(
            numpy_support.numpy_to_vtkIdTypeArray(offsets, deep=True),
            numpy_support.numpy_to_vtkIdTypeArray(
                np.ascontiguousarray(surface.faces.reshape(-1), dtype=np.int64), deep=True
            ),
        )
        poly.SetPolys(cells)
        normals = numpy_support.numpy_to_vtk(
            np.ascontiguousarray(surface.normals, dtype=np.float32), deep=True
        )
        poly.GetPointData().SetNormals(normals)
        mapper = vtkPolyDataMapper()
        mapper.SetInputData(poly)
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(*surface.color)
        actor.GetProperty().SetOpacity(surface.opacity)
        _surface_style(poly, mapper, actor.GetProperty(), surface)
        self._actors[surface.key] = actor
        while len(self._actors) > 256:
            self._actors.popitem(last=False)
        return actor

    def _box_actor(self, bounds: np.ndarray):
        from vtkmodules.vtkFiltersSources import vtkOutlineSource
        from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

        key = tuple(float(v) for v in bounds)
        if key in self._boxes:
            return self._boxes[key]
        if len(self._boxes) > 16:
            self._boxes.clear()
        source = vtkOutlineSource()
        source.SetBounds(*[float(v) for v in bounds])
        mapper = vtkPolyDataMapper()
        mapper.SetInputConnection(source.GetOutputPort())
        actor = vtkActor()
        actor.SetMapper(mapper)
        actor.GetProperty().SetColor(1.0, 1.0, 1.0)
        self._boxes[key] = actor
        return actor

    def _render(self, scene: ThreeDScene, camera: Camera, options: RenderOptions) -> np.ndarray:
        from vtkmodules.util import numpy_support
        from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

        renderer, window = self.renderer, self.window
        renderer.SetBackground(*scene.background)
        props = []
        if scene.volume is not None:
            props.append(self._volume_prop(scene.volume, options))
        props += [self._surface_actor(s) for s in scene.surfaces if len(s.faces)]
        if scene.box is not None:
            props.append(self._box_actor(scene.box))
        if props != self._shown:
            # Re-adding an unchanged volume makes the ray caster redo its set-up: only
            # touch the renderer when what it shows changes.
            renderer.RemoveAllViewProps()
            for prop in props:
                if prop.IsA("vtkVolume"):
                    renderer.AddVolume(prop)
                else:
                    renderer.AddActor(prop)
            self._shown = props
        cam = renderer.GetActiveCamera()
        cam.SetPosition(*camera.position)
        cam.SetFocalPoint(*camera.focal_point)
        cam.SetViewUp(*camera.view_up)
        cam.SetViewAngle(camera.view_angle)
        renderer.ResetCameraClippingRange()
        w, h = options.size
        if scene.volume is not None:
            props[0].GetMapper().SetSampleDistance(sample_distance(scene.volume, camera, options))
        window.SetSize(w, h)
        window.Render()
        grab = vtkWindowToImageFilter()
        grab.SetInput(window)
        grab.SetInputBufferTypeToRGB()
        grab.ReadFrontBufferOff()
        grab.ShouldRerenderOff()  # it would render the whole scene a second time
        grab.Update()
        out = grab.GetOutput()
        dims = out.GetDimensions()
        pixels = numpy_support.vtk_to_numpy(out.GetPointData().GetScalars())
        image = pixels.reshape(dims[1], dims[0], -1)[::-1, :, :3]
        return np.ascontiguousarray(image)

    # --- from any thread ---------------------------------------------------------------

    def render(self, scene: ThreeDScene, camera: Camera, options: RenderOptions) -> np.ndarray:
        """(h, w, 3) uint8 RGB, row 0 on top."""
        return self._executor.submit(self._render, scene, camera, options).result(timeout=120)


def _surface_style(poly, mapper, prop, surface: Surface) -> None:
    """Per-vertex colours, wireframe/points and edges of a surface on its VTK actor."""
    from vtkmodules.util import numpy_support

    if surface.vertex_colors is not None and len(surface.vertex_colors) == len(surface.vertices):
        rgb = np.clip(np.asarray(surface.vertex_colors) * 255 + 0.5, 0, 255).astype(np.uint8)
        colours = numpy_support.numpy_to_vtk(np.ascontiguousarray(rgb), deep=True)
        colours.SetName("Colors")
        poly.GetPointData().SetScalars(colours)
        mapper.ScalarVisibilityOn()
        mapper.SetColorModeToDirectScalars()
    else:
        mapper.ScalarVisibilityOff()
    if surface.representation == "wireframe":
        prop.SetRepresentationToWireframe()
    elif surface.representation == "points":
        prop.SetRepresentationToPoints()
        prop.SetPointSize(3)
    if surface.edge_color is not None:
        prop.EdgeVisibilityOn()
        prop.SetEdgeColor(*surface.edge_color)


_renderer_lock = threading.Lock()
_vtk_renderer: VtkRenderer | None = None
_vtk_failed: str | None = None


def make_renderer(backend: str = "auto"):
    """The renderer for ``backend`` (``auto``, ``vtk`` or ``numpy``); ``auto`` falls back to
    numpy when VTK cannot start. One VTK renderer per process."""
    global _vtk_renderer, _vtk_failed
    from voxweb.render.raycast import NumpyRenderer

    if backend == "numpy":
        return NumpyRenderer()
    with _renderer_lock:
        if _vtk_renderer is None and _vtk_failed is None:
            try:
                _vtk_renderer = VtkRenderer()
            except Exception as exc:  # no vtk wheel, no EGL, no GL context...
                _vtk_failed = f"{type(exc).__name__}: {exc}"
                logger.warning(
                    "VTK rendering unavailable (%s); using the numpy ray caster", _vtk_failed
                )
        if _vtk_renderer is not None:
            return _vtk_renderer
    if backend == "vtk":
        raise RuntimeError(f"VTK rendering is unavailable: {_vtk_failed}")
    return NumpyRenderer()


__all__ = [
    "RenderOptions",
    "ThreeDScene",
    "VolumeLayer",
    "VtkRenderer",
    "box_lines",
    "make_renderer",
]
