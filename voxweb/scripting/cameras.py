"""Camera nodes: ``vtkMRMLCameraNode`` views onto a 3-D view's camera.

voxweb keeps one camera per 3-D view, on the view itself (``ThreeDView.camera``, an immutable
value the renderer reads). The camera node is a view of it with Slicer's ID
(``vtkMRMLCameraNode1`` for ``View1``) and name (``Camera``), found by ``getNode``,
``GetNodeByID`` and ``GetFirstNodeByClass``. Setting a position, focal point, view-up or angle
replaces the view's camera, so the next ``/slicer/threeD`` image is taken from there.
``GetCamera()`` hands out a real ``vtkCamera``; changes made to it (``Azimuth``, ``Dolly``,
``SetPosition``...) are written back to the view as they happen.

A view whose camera was never fitted reports the camera its next render would fit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from voxweb.scene.views import Camera, ThreeDView
from voxweb.scripting.display import PropertyView, property_view
from voxweb.scripting.modules import _Logic, logic
from voxweb.scripting.registry import provide_synthetic, unwrap, wrap


def _triple(args: tuple[Any, ...]) -> tuple[float, float, float]:
    values = args[0] if len(args) == 1 else args
    values = [float(v) for v in values]
    if len(values) != 3:
        raise TypeError(f"expected 3 values, got {len(values)}")
    return (values[0], values[1], values[2])


def _fill(out: Any, values: tuple[float, ...]) -> Any:
    if out is not None:
        for i, value in enumerate(values):
            out[i] = value
        return out
    return values


class vtkMRMLCameraNode(PropertyView):  # noqa: N801
    """The camera of one 3-D view."""

    slicer_class = "vtkMRMLCameraNode"
    slicer_classes = ("vtkMRMLCameraNode", "vtkMRMLTransformableNode", "vtkMRMLNode")

    def __init__(self, owner: ThreeDView) -> None:
        super().__init__(owner)
        self._vtk_camera: Any = None
        self._filling = False

    def GetID(self) -> str:  # noqa: N802
        return f"vtkMRMLCameraNode{self._owner.singleton_tag or 1}"

    def GetName(self) -> str:  # noqa: N802
        tag = self._owner.singleton_tag or "1"
        return "Camera" if tag == "1" else f"Camera{tag}"

    def GetLayoutName(self) -> str:  # noqa: N802
        return self._owner.singleton_tag or "1"

    GetActiveTag = GetLayoutName  # noqa: N815

    def GetViewNode(self) -> Any:  # noqa: N802
        return wrap(self._owner)

    # --- the camera value ---------------------------------------------------------------
    def _camera(self) -> Camera:
        view: ThreeDView = self._owner  # type: ignore[assignment]
        if view.camera is not None:
            return view.camera
        if view.scene is None:
            return Camera()
        from voxweb.scripting.context import render_of

        return render_of(view.scene).fitted_camera(view)

    def _set(self, **changes: Any) -> None:
        camera = replace(self._camera(), **changes)
        if camera.view_angle <= 0 or camera.view_angle >= 180:
            raise ValueError(f"a view angle must be between 0 and 180 degrees, not {camera}")
        if np.allclose(camera.position, camera.focal_point):
            raise ValueError("the camera position and focal point must differ")
        self._owner.camera = camera  # type: ignore[attr-defined]
        self._refresh_vtk_camera()

    def GetPosition(self, out: Any = None) -> Any:  # noqa: N802
        return _fill(out, tuple(self._camera().position))

    def SetPosition(self, *xyz: Any) -> None:  # noqa: N802
        self._set(position=_triple(xyz))

    def GetFocalPoint(self, out: Any = None) -> Any:  # noqa: N802
        return _fill(out, tuple(self._camera().focal_point))

    def SetFocalPoint(self, *xyz: Any) -> None:  # noqa: N802
        self._set(focal_point=_triple(xyz))

    def GetViewUp(self, out: Any = None) -> Any:  # noqa: N802
        return _fill(out, tuple(self._camera().view_up))

    def SetViewUp(self, *xyz: Any) -> None:  # noqa: N802
        up = np.asarray(_triple(xyz))
        norm = float(np.linalg.norm(up))
        if norm == 0:
            raise ValueError("view-up must not be the zero vector")
        self._set(view_up=tuple(float(v) for v in up / norm))

    def GetViewAngle(self) -> float:  # noqa: N802
        return float(self._camera().view_angle)

    def SetViewAngle(self, degrees: float) -> None:  # noqa: N802
        self._set(view_angle=float(degrees))

    def GetParallelProjection(self) -> bool:  # noqa: N802
        return False

    def SetParallelProjection(self, on: Any) -> None:  # noqa: N802
        if on:
            raise NotImplementedError(
                "voxweb's 3-D views use perspective projection only (no parallel projection)"
            )

    def ResetClippingRange(self) -> None:  # noqa: N802
        return None  # the renderer fits the clipping range at every render

    def Reset(self, *_: Any) -> None:  # noqa: N802
        """Fit the camera to the view's content again at the next render."""
        self._owner.camera = None  # type: ignore[attr-defined]

    # --- a real vtkCamera ---------------------------------------------------------------
    def GetCamera(self) -> Any:  # noqa: N802
        """A vtkCamera showing the view's camera; changes to it move the view's camera."""
        if self._vtk_camera is None:
            from vtkmodules.vtkRenderingCore import vtkCamera

            camera = vtkCamera()
            camera.AddObserver("ModifiedEvent", self._camera_modified)
            self._vtk_camera = camera
        self._refresh_vtk_camera()
        return self._vtk_camera

    def _refresh_vtk_camera(self) -> None:
        camera = self._vtk_camera
        if camera is None:
            return
        value = self._camera()
        self._filling = True
        try:
            camera.SetPosition(*value.position)
            camera.SetFocalPoint(*value.focal_point)
            camera.SetViewUp(*value.view_up)
            camera.SetViewAngle(value.view_angle)
        finally:
            self._filling = False

    def _camera_modified(self, camera: Any, event: Any) -> None:
        if self._filling:
            return
        position, focal = tuple(camera.GetPosition()), tuple(camera.GetFocalPoint())
        if np.allclose(position, focal):
            return  # mid-change (e.g. position set before focal point)
        self._owner.camera = Camera(  # type: ignore[attr-defined]
            tuple(float(v) for v in position),  # type: ignore[arg-type]
            tuple(float(v) for v in focal),  # type: ignore[arg-type]
            tuple(float(v) for v in camera.GetViewUp()),  # type: ignore[arg-type]
            float(camera.GetViewAngle()),
        )


def camera_view(view: ThreeDView) -> vtkMRMLCameraNode:
    return property_view(view, vtkMRMLCameraNode)  # type: ignore[return-value]


@provide_synthetic
def _cameras(scene: Any) -> list[vtkMRMLCameraNode]:
    return [
        camera_view(v) for v in scene.nodes_of_class("vtkMRMLViewNode") if isinstance(v, ThreeDView)
    ]


@logic("cameras")
class CamerasLogic(_Logic):
    """Slicer's Cameras module logic: the camera of a view."""

    def GetViewActiveCameraNode(self, view_node: Any) -> Any:  # noqa: N802
        view = unwrap(view_node)
        if not isinstance(view, ThreeDView):
            raise TypeError(f"expected a vtkMRMLViewNode, got {view.slicer_class}")
        return camera_view(view)


__all__ = ["CamerasLogic", "camera_view", "vtkMRMLCameraNode"]
