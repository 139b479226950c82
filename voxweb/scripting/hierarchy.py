"""Subject hierarchy (placeholder until the family is built)."""

from __future__ import annotations

from typing import Any

from voxweb.scene.scene import Scene


def subject_hierarchy(scene: Scene) -> Any:
    raise NotImplementedError("voxweb does not provide the subject hierarchy yet")
