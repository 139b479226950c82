"""``slicer.modules.<name>.logic()``: the module logics scripts call, over the workspace.

Each logic is a small class here; ``slicer.modules.<name>`` for a module voxweb does not have
raises AttributeError naming the modules it has.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from voxweb.scene.nodes import GridTransform, LabelMapVolume, LinearTransform, Model, ScalarVolume
from voxweb.scripting.registry import unwrap, wrap
from voxweb.scripting.transformable import harden
from voxweb.scripting.vtkconvert import arrays_from_polydata
from voxweb.services.workspace import Workspace

_LOGICS: dict[str, Callable[[Workspace], Any]] = {}


def logic(name: str) -> Callable[[type], type]:
    """Class decorator: ``slicer.modules.<name>.logic()`` returns an instance."""

    def register(cls: type) -> type:
        _LOGICS[name] = cls
        return cls

    return register


class _Logic:
    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace
        self._scene = workspace.scene

    def GetMRMLScene(self) -> Any:  # noqa: N802
        from voxweb.scripting.mrml_scene import scene_view

        return scene_view(self._scene)


@logic("volumes")
class VolumesLogic(_Logic):
    def CloneVolume(self, *args: Any) -> Any:  # noqa: N802
        """CloneVolume([scene,] volume, name): a deep copy added to the scene."""
        volume, name = (args[1], args[2]) if len(args) == 3 else (args[0], args[1])
        source = unwrap(volume)
        cls = type(source)
        clone = cls(source.array.copy(), source.ijk_to_ras.copy(), name=str(name))
        clone.display = type(source.display)(**vars(source.display))
        with self._scene.lock:
            self._scene.add(clone)
        return wrap(clone)

    CloneVolumeGeneric = CloneVolume  # noqa: N815

    def CloneVolumeWithoutImageData(self, scene: Any, volume: Any, name: str) -> Any:  # noqa: N802
        source = unwrap(volume)
        clone = type(source)(np.zeros((1, 1, 1), source.array.dtype), source.ijk_to_ras, str(name))
        with self._scene.lock:
            self._scene.add(clone)
        return wrap(clone)

    def CreateAndAddLabelVolume(self, *args: Any) -> Any:  # noqa: N802
        """CreateAndAddLabelVolume([scene,] volume, name): an empty label map on its grid."""
        volume, name = (args[1], args[2]) if len(args) == 3 else (args[0], args[1])
        source = unwrap(volume)
        label = LabelMapVolume(
            np.zeros(source.array.shape, dtype=np.int16), source.ijk_to_ras.copy(), str(name)
        )
        with self._scene.lock:
            self._scene.add(label)
        return wrap(label)

    def CheckForLabelVolumeValidity(self, volume: Any, label: Any) -> str:  # noqa: N802
        a, b = unwrap(volume), unwrap(label)
        if a.array.shape != b.array.shape:
            return "Dimensions do not match"
        if not np.allclose(a.ijk_to_ras, b.ijk_to_ras):
            return "Geometry does not match"
        return ""


@logic("models")
class ModelsLogic(_Logic):
    def AddModel(self, source: Any, *_: Any) -> Any:  # noqa: N802
        """AddModel(vtkPolyData or file name): a new model node in the scene."""
        if isinstance(source, str):
            return wrap(self._workspace.load_client_file(source, "ModelFile", {})[0])
        vertices, faces = arrays_from_polydata(polydata_of(source))
        model = Model(vertices, faces)
        with self._scene.lock:
            self._scene.add(model)
        return wrap(model)


@logic("transforms")
class TransformsLogic(_Logic):
    def hardenTransform(self, node: Any) -> None:  # noqa: N802
        harden(node)

    def _displacement(
        self, transform: Any, reference: Any, to_world: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Displacement (k, j, i, 3) in RAS mm on the reference volume's grid, of the
        transform to world (or to its parent)."""
        from voxweb.scripting.transformable import world_matrix

        node = unwrap(transform)
        if not isinstance(node, LinearTransform):
            raise NotImplementedError("voxweb samples linear transforms only")
        grid = unwrap(reference)
        matrix = (world_matrix(node) if to_world else np.eye(4)) @ node.matrix_to_parent
        k, j, i = grid.array.shape
        ijk = np.indices((i, j, k), dtype=np.float32).transpose(3, 2, 1, 0)  # (k, j, i, 3)
        ras = ijk @ grid.ijk_to_ras[:3, :3].T.astype(np.float32) + grid.ijk_to_ras[:3, 3]
        moved = ras @ matrix[:3, :3].T.astype(np.float32) + matrix[:3, 3]
        return (moved - ras).astype(np.float32), grid.ijk_to_ras.copy()

    def CreateDisplacementVolumeFromTransform(  # noqa: N802
        self, transform: Any, reference: Any = None, magnitude: bool = True, output: Any = None
    ) -> Any:
        """A scalar volume of displacement magnitude (mm) on the reference grid."""
        if not magnitude:
            raise NotImplementedError(
                "voxweb volumes have one component: use magnitude=True (vector volumes are "
                "not supported)"
            )
        if reference is None:
            raise ValueError("voxweb needs a reference volume to sample the transform on")
        field, ijk_to_ras = self._displacement(transform, reference)
        values = np.linalg.norm(field, axis=3).astype(np.float32)
        if output is not None:
            target = unwrap(output)
            with self._scene.lock:
                target.set_array(values, ijk_to_ras)
            return output
        volume = ScalarVolume(values, ijk_to_ras, name=f"{unwrap(transform).name} displacement")
        volume.display.color_table = "ColdToHotRainbow"
        with self._scene.lock:
            self._scene.add(volume)
        return wrap(volume)

    def ConvertToGridTransform(self, transform: Any, reference: Any = None) -> bool:  # noqa: N802
        """Replace a linear transform by the grid transform sampled on the reference grid.

        voxweb's linear and grid transforms are different node classes: the grid takes the
        linear node's place (name, parent, children) under a new ID.
        """
        if reference is None:
            raise ValueError("voxweb needs a reference volume to sample the transform on")
        node = unwrap(transform)
        field, ijk_to_ras = self._displacement(transform, reference, to_world=False)
        grid = GridTransform(field, ijk_to_ras, name=node.name, from_parent=False)
        scene = self._scene
        with scene.lock:
            parent = node.parent_transform_id
            children = [n for n in scene if getattr(n, "parent_transform_id", None) == node.id]
            scene.add(grid)
            for child in children:
                scene.set_parent_transform(child, grid.id)
            self._workspace.remove([node])
            if parent:
                scene.set_parent_transform(grid, parent)
        return True


def polydata_of(source: Any) -> Any:
    """A vtkPolyData from itself or from an algorithm's output port (``GetOutputPort()``),
    which is run first, as Slicer's pipeline would."""
    producer = getattr(source, "GetProducer", None)
    if producer is None:
        return source
    algorithm = producer()
    algorithm.Update()
    return algorithm.GetOutputDataObject(source.GetIndex())


def modules_namespace(workspace: Workspace) -> types.SimpleNamespace:
    """``slicer.modules``: one entry per module, each with ``logic()``."""

    class Modules(types.SimpleNamespace):
        def __getattr__(self, name: str) -> Any:
            raise AttributeError(
                f"voxweb has no module {name!r}; it has: {', '.join(sorted(_LOGICS))}"
            )

    entries = {}
    for name, factory in _LOGICS.items():
        instance = factory(workspace)
        entries[name] = types.SimpleNamespace(logic=lambda i=instance: i, name=name)
    return Modules(**entries)


__all__ = ["logic", "modules_namespace"]
