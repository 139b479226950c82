"""``sitkUtils``: SimpleITK images to and from the scene's volumes, as Slicer's module does.

ITK images are in LPS and Slicer's volumes in RAS: pulling a volume flips the first two
axes of its origin and directions (spacing and voxels are unchanged), pushing flips them
back, so a round trip keeps voxels, voxel type and geometry. Voxels are copied both ways
(SimpleITK owns its buffer). Slicer's in-memory ITK IO (``slicer:`` addresses read by
``sitk.ReadImage``) does not exist here: the address is only a description.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from voxweb.scene import geometry
from voxweb.scene.nodes import LabelMapVolume, ScalarVolume
from voxweb.scripting.registry import unwrap, wrap
from voxweb.services.workspace import Workspace

_FLIP = np.diag([-1.0, -1.0, 1.0])  # LPS <-> RAS


def image_from_volume(volume: ScalarVolume) -> Any:
    """A SimpleITK image with the volume's voxels and its geometry in LPS."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(volume.array), isVector=False)
    image.SetSpacing([float(v) for v in volume.spacing])
    image.SetOrigin([float(v) for v in _FLIP @ volume.origin])
    image.SetDirection([float(v) for v in (_FLIP @ volume.directions).reshape(-1)])
    return image


def volume_data_from_image(image: Any) -> tuple[np.ndarray, np.ndarray]:
    """(array (k, j, i), IJK-to-RAS 4x4) of a SimpleITK image."""
    import SimpleITK as sitk

    if image.GetNumberOfComponentsPerPixel() != 1:
        raise NotImplementedError(
            f"the image has {image.GetNumberOfComponentsPerPixel()} components per voxel; "
            "voxweb has no vector volumes yet (extract one component with "
            "sitk.VectorIndexSelectionCast first)"
        )
    dimension = image.GetDimension()
    if dimension not in (2, 3):
        raise ValueError(f"voxweb volumes are 3-D; the image is {dimension}-D")
    array = sitk.GetArrayFromImage(image)
    spacing = list(image.GetSpacing())
    origin = list(image.GetOrigin())
    direction = np.array(image.GetDirection(), dtype=float).reshape(dimension, dimension)
    if dimension == 2:
        array = array[np.newaxis]
        spacing.append(1.0)
        origin.append(0.0)
        full = np.eye(3)
        full[:2, :2] = direction
        direction = full
    matrix = geometry.ijk_to_ras_matrix(spacing, _FLIP @ np.array(origin), _FLIP @ direction)
    return array, matrix


def script_module(workspace: Workspace) -> types.ModuleType:
    """The ``sitkUtils`` module a snippet imports."""
    import SimpleITK as sitk  # noqa: F401 - fail at import time if SimpleITK is missing

    module = types.ModuleType("sitkUtils", "SimpleITK <-> voxweb volumes (Slicer's sitkUtils)")
    scene = workspace.scene

    def _volume(node_or_name: Any) -> ScalarVolume:
        if isinstance(node_or_name, str):
            node = scene.get_node_by_id(node_or_name) or scene.get_first_node_by_name(node_or_name)
            if node is None:
                node = scene.get_node(node_or_name)  # glob; raises naming the pattern
        else:
            node = unwrap(node_or_name)
        if not isinstance(node, ScalarVolume):
            raise TypeError(f"{node.name!r} is a {node.slicer_class}, not a scalar volume")
        return node

    def PullVolumeFromSlicer(nodeObjectOrName: Any) -> Any:  # noqa: N802, N803
        """The volume as a SimpleITK image (a copy; geometry in LPS)."""
        with scene.lock:
            return image_from_volume(_volume(nodeObjectOrName))

    def PushVolumeToSlicer(  # noqa: N802
        sitkimage: Any,
        targetNode: Any = None,  # noqa: N803
        name: str | None = None,
        className: str = "vtkMRMLScalarVolumeNode",  # noqa: N803
    ) -> Any:
        """Write the image into ``targetNode`` (or a new node of ``className``); the node."""
        array, matrix = volume_data_from_image(sitkimage)
        with scene.lock:
            if targetNode is None:
                if className == "vtkMRMLLabelMapVolumeNode":
                    node: ScalarVolume = LabelMapVolume(array, matrix)
                elif className == "vtkMRMLScalarVolumeNode":
                    node = ScalarVolume(array, matrix)
                else:
                    raise ValueError(
                        f"PushVolumeToSlicer makes vtkMRMLScalarVolumeNode or "
                        f"vtkMRMLLabelMapVolumeNode, not {className!r}"
                    )
                scene.add(node, scene.unique_name(name) if name else None)
            else:
                node = _volume(targetNode)
                node.set_array(array, matrix)
        return wrap(node)

    def PushToSlicer(  # noqa: N802
        sitkimage: Any,
        NodeName: str,  # noqa: N803
        compositeView: int = 0,  # noqa: N803
        overwrite: bool = False,
    ) -> Any:
        """Slicer's older call: push under a name and show it (0 background, 1 foreground,
        2 label map)."""
        existing = scene.get_first_node_by_name(str(NodeName)) if overwrite else None
        class_name = "vtkMRMLLabelMapVolumeNode" if compositeView == 2 else None
        node = PushVolumeToSlicer(
            sitkimage,
            existing,
            str(NodeName),
            class_name or "vtkMRMLScalarVolumeNode",
        )
        volume = unwrap(node)
        with scene.lock:
            if int(compositeView) == 1:
                for view in workspace.slice_views():
                    view.foreground_volume_id = volume.id
            else:  # background, or the label layer for a label map
                workspace.show_volume(volume, fit=True)
        return node

    def PullFromSlicer(NodeName: str) -> Any:  # noqa: N802, N803
        return PullVolumeFromSlicer(NodeName)

    def GetSlicerITKReadWriteAddress(nodeObjectOrName: Any) -> str:  # noqa: N802, N803
        """A description of the node, not a readable address: voxweb has no in-memory ITK IO
        (use PullVolumeFromSlicer instead of sitk.ReadImage)."""
        with scene.lock:
            return f"slicer:voxweb#{_volume(nodeObjectOrName).id}"

    def EnsureRegistration() -> None:  # noqa: N802
        """Nothing to register: images are copied, not read through an ITK IO."""

    for function in (
        PullVolumeFromSlicer,
        PushVolumeToSlicer,
        PushToSlicer,
        PullFromSlicer,
        GetSlicerITKReadWriteAddress,
        EnsureRegistration,
    ):
        setattr(module, function.__name__, function)
    return module


__all__ = ["image_from_volume", "script_module", "volume_data_from_image"]
