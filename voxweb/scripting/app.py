"""``slicer.app``: the application object, its layout manager and application logic.

Only the non-GUI halves: the layout manager sets the layout and hands out slice and 3-D
"widgets" whose logic and MRML nodes work; asking a widget for its Qt view raises
``HeadlessError``.
"""

from __future__ import annotations

from typing import Any

from voxweb import __version__
from voxweb.scene.views import LAYOUTS, SliceView
from voxweb.scripting.headless import HeadlessError
from voxweb.scripting.registry import unwrap, wrap
from voxweb.scripting.views import composite_view, vtkMRMLSliceLogic
from voxweb.services.workspace import Workspace


class SliceWidget:
    """The non-GUI half of a slice widget: its logic, slice node and composite node."""

    def __init__(self, view: SliceView) -> None:
        self._view = view

    def sliceLogic(self) -> vtkMRMLSliceLogic:  # noqa: N802
        return vtkMRMLSliceLogic(self._view)

    def mrmlSliceNode(self) -> Any:  # noqa: N802
        return wrap(self._view)

    def mrmlSliceCompositeNode(self) -> Any:  # noqa: N802
        return composite_view(self._view)

    def sliceView(self) -> Any:  # noqa: N802
        return _HeadlessView(f"sliceWidget('{self._view.name}').sliceView()", self._view)

    def sliceController(self) -> Any:  # noqa: N802
        return _HeadlessView(f"sliceWidget('{self._view.name}').sliceController()")

    def fitSliceToBackground(self) -> None:  # noqa: N802
        self.sliceLogic().FitSliceToAll()


class _HeadlessView:
    """A Qt view: rendering requests are no-ops (views render on request), the rest fail."""

    def __init__(self, where: str, node: Any = None) -> None:
        self._where = where
        self._node = node  # the slice view node, for ScreenCapture

    def forceRender(self) -> None:  # noqa: N802
        return None

    def mrmlSliceNode(self) -> Any:  # noqa: N802
        if self._node is None:
            raise HeadlessError(f"headless: {self._where}.mrmlSliceNode() needs a GUI")
        return wrap(self._node)

    scheduleRender = forceRender  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise HeadlessError(f"headless: {self._where}.{name}() needs a GUI")

        return refuse


class ThreeDWidget:
    def __init__(self, workspace: Workspace, index: int) -> None:
        self._workspace = workspace
        self._index = index

    def _view_node(self) -> Any:
        views = self._workspace.scene.nodes_of_class("vtkMRMLViewNode")
        return views[self._index] if self._index < len(views) else None

    def mrmlViewNode(self) -> Any:  # noqa: N802
        return wrap(self._view_node())

    def threeDView(self) -> Any:  # noqa: N802
        return ThreeDViewStandIn(self._view_node())


class ThreeDViewStandIn:
    """What scripts call on ``threeDWidget(0).threeDView()`` that makes sense headless."""

    def __init__(self, view: Any) -> None:
        self._view = view

    def resetFocalPoint(self) -> None:  # noqa: N802
        if self._view is not None:
            self._view.camera = None  # the renderer fits the camera to the scene again

    resetCamera = resetFocalPoint  # noqa: N815

    def forceRender(self) -> None:  # noqa: N802
        return None

    scheduleRender = forceRender  # noqa: N815

    def mrmlViewNode(self) -> Any:  # noqa: N802
        return wrap(self._view)

    def lookFromViewAxis(self, axis: int) -> None:  # noqa: N802
        """Axis 0..5: from left, right, posterior, anterior, inferior, superior."""
        from voxweb.render.camera import look_from_axis

        view = self._view
        if view is None or view.camera is None:
            return  # the first render fits the camera
        view.camera = look_from_axis(view.camera, "lrpais"[int(axis)])

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise HeadlessError(f"headless: threeDView().{name}() needs a GUI")

        return refuse


class LayoutManager:
    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def setLayout(self, layout: int | str) -> None:  # noqa: N802
        self._workspace.set_layout(layout)

    def layout(self) -> int:
        return LAYOUTS[self._workspace.layout().layout_name]

    def sliceViewNames(self) -> tuple[str, ...]:  # noqa: N802
        return tuple(v.name for v in self._workspace.slice_views())

    def sliceWidget(self, name: str) -> SliceWidget | None:  # noqa: N802
        for view in self._workspace.slice_views():
            if view.name == name:
                return SliceWidget(view)
        return None

    def threeDViewCount(self) -> int:  # noqa: N802
        return len(self._workspace.scene.nodes_of_class("vtkMRMLViewNode"))

    def threeDWidget(self, index: int) -> ThreeDWidget:  # noqa: N802
        return ThreeDWidget(self._workspace, int(index))

    def resetSliceViews(self) -> None:  # noqa: N802
        for view in self._workspace.slice_views():
            SliceWidget(view).sliceLogic().FitSliceToAll()

    def resetThreeDViews(self) -> None:  # noqa: N802
        for index in range(self.threeDViewCount()):
            self.threeDWidget(index).threeDView().resetFocalPoint()


class ApplicationLogic:
    """vtkSlicerApplicationLogic: selection propagation and slice logics."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def GetSelectionNode(self) -> Any:  # noqa: N802
        return wrap(self._workspace.selection())

    def GetInteractionNode(self) -> Any:  # noqa: N802
        from voxweb.scripting.display import property_view
        from voxweb.scripting.views import vtkMRMLInteractionNode

        return property_view(self._workspace.selection(), vtkMRMLInteractionNode)

    def PropagateVolumeSelection(self, fit: int = 1) -> None:  # noqa: N802
        """Show the selection node's active volume and label map in every slice view."""
        workspace = self._workspace
        scene = workspace.scene
        with scene.lock:
            selection = workspace.selection()
            for node_id in (selection.active_volume_id, selection.active_label_volume_id):
                node = scene.get_node_by_id(node_id or "")
                if node is not None:
                    workspace.show_volume(node, fit=bool(fit))

    PropagateBackgroundVolumeSelection = PropagateVolumeSelection  # noqa: N815

    def PropagateLabelVolumeSelection(self, fit: int = 1) -> None:  # noqa: N802
        self.PropagateVolumeSelection(fit)

    def FitSliceToAll(self, only_if_propagate: bool = False) -> None:  # noqa: N802
        for view in self._workspace.slice_views():
            vtkMRMLSliceLogic(view).FitSliceToAll()

    def GetSliceLogic(self, slice_node: Any) -> vtkMRMLSliceLogic:  # noqa: N802
        return vtkMRMLSliceLogic(unwrap(slice_node))

    def GetSliceLogicByLayoutName(self, name: str) -> vtkMRMLSliceLogic | None:  # noqa: N802
        widget = LayoutManager(self._workspace).sliceWidget(name)
        return None if widget is None else widget.sliceLogic()


class Application:
    """``slicer.app`` without a GUI."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._layout_manager = LayoutManager(workspace)
        self._logic = ApplicationLogic(workspace)
        self.commandOptions = lambda: _CommandOptions()

    def layoutManager(self) -> LayoutManager:  # noqa: N802
        return self._layout_manager

    def applicationLogic(self) -> ApplicationLogic:  # noqa: N802
        return self._logic

    def mrmlScene(self) -> Any:  # noqa: N802
        from voxweb.scripting.mrml_scene import scene_view

        return scene_view(self._workspace.scene)

    def processEvents(self) -> None:  # noqa: N802 - nothing to process without a GUI
        return None

    def pauseRender(self) -> None:  # noqa: N802
        return None

    resumeRender = pauseRender  # noqa: N815

    @property
    def applicationVersion(self) -> str:  # noqa: N802
        return __version__

    @property
    def applicationName(self) -> str:  # noqa: N802
        return "voxweb"

    majorVersion = 5  # the Slicer API level these views follow
    minorVersion = 8
    revision = __version__

    def temporaryPath(self) -> str:  # noqa: N802
        import tempfile

        return tempfile.gettempdir()

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise HeadlessError(f"headless: slicer.app.{name}() needs a GUI")

        return refuse


class _CommandOptions:
    noMainWindow = True
    testingEnabled = False
