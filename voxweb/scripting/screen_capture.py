"""``ScreenCapture``: Slicer's screen capture logic, writing voxweb's rendered views to files.

``captureImageFromView(view, filename)`` renders a slice view, a 3-D view or (for ``None``)
the whole layout through the render service, the same images ``/slicer/slice``,
``/slicer/threeD`` and ``/slicer/screenshot`` serve, and writes PNG or JPEG (by the file's
extension) inside ``--file-root``. Slice sweeps and 3-D rotations write numbered images the
same way. Video making (ffmpeg), window grabs and GUI toggles raise or do nothing, as said
on each method.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

from PIL import Image

from voxweb.render import encode as encoding
from voxweb.render.service import (
    ImageOptions,
    SliceRequest,
    ThreeDRequest,
)
from voxweb.scene.views import SliceView, ThreeDView
from voxweb.scripting.context import render_of
from voxweb.scripting.headless import HeadlessError
from voxweb.scripting.registry import unwrap
from voxweb.services.files import write_confined
from voxweb.services.workspace import Workspace

_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}


def _format_of(filename: str) -> str:
    suffix = Path(str(filename)).suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(
            f"ScreenCapture writes .png, .jpg or .jpeg files, not {suffix or 'no extension'!r}"
        )
    return _FORMATS[suffix]


def _view_node(view: Any) -> SliceView | ThreeDView | None:
    """The view node behind whatever a script passes: a view widget stand-in, a widget, a
    view node, or None (the whole layout)."""
    if view is None:
        return None
    for attribute in ("_view", "_node"):
        inner = getattr(view, attribute, None)
        if isinstance(inner, (SliceView, ThreeDView)):
            return inner
    if hasattr(view, "_view_node"):  # a 3-D widget
        return view._view_node()
    try:
        node = unwrap(view)
    except TypeError:
        node = None
    if isinstance(node, (SliceView, ThreeDView)):
        return node
    raise TypeError(f"cannot capture {view!r}: pass a slice or 3-D view, a view node, or None")


class ScreenCaptureLogic:
    """Capture rendered views to image files (Slicer's ScreenCapture module logic)."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    # --- rendering ------------------------------------------------------------------------
    def _render(self, node: SliceView | ThreeDView | None, fmt: str, **moves: Any) -> bytes:
        service = render_of(self._workspace.scene)
        options = ImageOptions(fmt)
        if node is None:
            return service.screenshot(image=options).body
        if isinstance(node, SliceView):
            rendered = service.slice_image(
                SliceRequest(view=node.name, stateless=True, fiducials=True, image=options, **moves)
            )
            if rendered is None:  # nothing shown: the view is black, as on screen
                size = (int(node.dimensions[0]), int(node.dimensions[1]))
                return encoding.encode(Image.new("RGB", size), fmt, options.quality)
            return rendered.body
        index = service.three_d_views().index(node)
        return service.threed_image(
            ThreeDRequest(view=str(index), stateless=True, image=options, **moves)
        ).body

    def _write(self, filename: str, body: bytes) -> str:
        path = write_confined(
            str(filename), self._workspace.file_roots, lambda target: target.write_bytes(body)
        )
        return str(path)

    # --- Slicer's methods -------------------------------------------------------------------
    def captureImageFromView(  # noqa: N802
        self,
        view: Any,
        filename: str,
        transparentBackground: bool = False,  # noqa: N803
    ) -> None:
        """Render ``view`` (None: the whole layout) into ``filename`` inside --file-root."""
        fmt = _format_of(filename)
        with self._workspace.scene.lock:
            body = self._render(_view_node(view), fmt)
        self._write(filename, body)

    def viewFromNode(self, viewNode: Any) -> Any:  # noqa: N802, N803
        """The view of a slice or 3-D view node (a stand-in that captureImageFromView takes)."""
        from voxweb.scripting.app import ThreeDViewStandIn, _HeadlessView

        node = unwrap(viewNode)
        if isinstance(node, SliceView):
            return _HeadlessView(f"sliceWidget('{node.name}').sliceView()", node)
        if isinstance(node, ThreeDView):
            return ThreeDViewStandIn(node)
        raise TypeError(f"{node.name!r} is not a slice or 3-D view node")

    def captureSliceSweep(  # noqa: N802
        self,
        sliceNode: Any,  # noqa: N803
        startSliceOffset: float,  # noqa: N803
        endSliceOffset: float,  # noqa: N803
        numberOfImages: int,  # noqa: N803
        outputDir: str,  # noqa: N803
        outputFilenamePattern: str,  # noqa: N803
        captureAllViews: Any = None,  # noqa: N803
        transparentBackground: bool = False,  # noqa: N803
    ) -> None:
        """Images of the slice view at evenly spaced offsets, named by the %d pattern."""
        node = unwrap(sliceNode)
        if not isinstance(node, SliceView):
            raise TypeError(f"{node.name!r} is not a slice node")
        if captureAllViews:
            raise NotImplementedError("voxweb captures the swept slice view only")
        fmt = _format_of(outputFilenamePattern)
        count = max(1, int(numberOfImages))
        for index in range(count):
            t = index / (count - 1) if count > 1 else 0.0
            offset = float(startSliceOffset) + t * (float(endSliceOffset) - float(startSliceOffset))
            with self._workspace.scene.lock:
                body = self._render(node, fmt, offset=offset)
            self._write(str(Path(outputDir) / (outputFilenamePattern % index)), body)

    def capture3dViewRotation(  # noqa: N802
        self,
        viewNode: Any,  # noqa: N803
        startRotation: float,  # noqa: N803
        endRotation: float,  # noqa: N803
        numberOfImages: int,  # noqa: N803
        rotationAxis: Any,  # noqa: N803
        outputDir: str,  # noqa: N803
        outputFilenamePattern: str,  # noqa: N803
        captureAllViews: Any = None,  # noqa: N803
        transparentBackground: bool = False,  # noqa: N803
    ) -> None:
        """Images of a 3-D view orbiting the camera from start to end (degrees); the view's
        own camera is left where it was. Axis 0 (or "yaw") turns left-right, 1 ("pitch") up-down."""
        node = _view_node(viewNode)
        if not isinstance(node, ThreeDView):
            raise TypeError("capture3dViewRotation needs a 3-D view node")
        yaw = rotationAxis in (0, "yaw", "YAW", self.AXIS_YAW)
        fmt = _format_of(outputFilenamePattern)
        count = max(1, int(numberOfImages))
        for index in range(count):
            t = index / (count - 1) if count > 1 else 0.0
            angle = float(startRotation) + t * (float(endRotation) - float(startRotation))
            moves = {"orbit_x": angle} if yaw else {"orbit_y": angle}
            with self._workspace.scene.lock:
                body = self._render(node, fmt, **moves)
            self._write(str(Path(outputDir) / (outputFilenamePattern % index)), body)

    AXIS_YAW = 0
    AXIS_PITCH = 1

    def showViewControllers(self, show: bool) -> None:  # noqa: N802
        """Rendered views have no controllers to hide: nothing to do."""

    def getRandomFilePattern(self) -> str:  # noqa: N802
        import uuid

        return f"voxweb_capture_{uuid.uuid4().hex[:8]}_%05d.png"

    def isFfmpegPresent(self) -> bool:  # noqa: N802
        return False

    def createVideo(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        raise NotImplementedError(
            "voxweb does not make videos (no ffmpeg); capture numbered images instead"
        )

    def createLightboxImage(self, *args: Any, **kwargs: Any) -> None:  # noqa: N802
        raise NotImplementedError("voxweb does not compose lightbox images yet")

    def addLog(self, text: str) -> None:  # noqa: N802
        import logging

        logging.getLogger("voxweb.exec").info("%s", text)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise HeadlessError(f"headless: ScreenCaptureLogic.{name}() is not available in voxweb")

        return refuse


def script_module(workspace: Workspace) -> types.ModuleType:
    """The ``ScreenCapture`` module a snippet imports."""
    module = types.ModuleType("ScreenCapture", "capture rendered views to image files")
    module.ScreenCaptureLogic = lambda *args, **kwargs: ScreenCaptureLogic(workspace)
    return module


__all__ = ["ScreenCaptureLogic", "script_module"]
