"""Which Workspace a scene belongs to, so views can route changes through its services.

Scene changes that have more to them than setting a field (removing a node and what refers
to it, clearing, showing a volume in the views) go through ``services.workspace.Workspace``,
as the HTTP routes do. Views only know their scene node, so the namespace records here which
workspace owns which scene.
"""

from __future__ import annotations

import weakref

from voxweb.scene.scene import Scene
from voxweb.services.workspace import Workspace

_WORKSPACES: weakref.WeakKeyDictionary[Scene, Workspace] = weakref.WeakKeyDictionary()


def bind(workspace: Workspace) -> None:
    _WORKSPACES[workspace.scene] = workspace


def workspace_of(scene: Scene) -> Workspace:
    workspace = _WORKSPACES.get(scene)
    if workspace is None:
        raise RuntimeError("this scene is not served by a voxweb workspace")
    return workspace
