"""Which Workspace (and render service) a scene belongs to, for views that only know their node.

Scene changes that have more to them than setting a field (removing a node and what refers
to it, clearing, showing a volume in the views) go through ``services.workspace.Workspace``,
as the HTTP routes do. Views only know their scene node, so the namespace records here which
workspace owns which scene, and which render service draws it (cameras fit to what it shows,
screen captures use it).
"""

from __future__ import annotations

import weakref

from voxweb.render.service import RenderService
from voxweb.scene.scene import Scene
from voxweb.services.workspace import Workspace

_BOUND: weakref.WeakKeyDictionary[Scene, tuple[Workspace, RenderService]] = (
    weakref.WeakKeyDictionary()
)


def bind(workspace: Workspace, render: RenderService) -> None:
    _BOUND[workspace.scene] = (workspace, render)


def _bound(scene: Scene) -> tuple[Workspace, RenderService]:
    bound = _BOUND.get(scene)
    if bound is None:
        raise RuntimeError("this scene is not served by a voxweb workspace")
    return bound


def workspace_of(scene: Scene) -> Workspace:
    return _bound(scene)[0]


def render_of(scene: Scene) -> RenderService:
    return _bound(scene)[1]
