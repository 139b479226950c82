"""``slicer.modules.segmentations.logic()`` and ``slicer.vtkSlicerSegmentationsModuleLogic``.

Export segments to label-map volumes and to model nodes, import label maps and models as
segments, segment status tags. Every method works from the nodes it is given (their scene), so
the same class serves as the module logic and as Slicer's static logic class. Grids follow
Slicer: a label map exported with a reference volume has that volume's grid; without one it
has the segmentation's grid, cropped to the segments unless EXTENT_REFERENCE_GEOMETRY is asked
for. Subject-hierarchy folders given to the model export are accepted and not used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.scene.nodes import (
    ColorEntry,
    ColorTable,
    LabelMapVolume,
    Model,
    ScalarVolume,
    Segmentation,
    generated_color,
)
from voxweb.scripting import segmentation_core as core
from voxweb.scripting.modules import _Logic, logic
from voxweb.scripting.registry import unwrap, wrap
from voxweb.scripting.transformable import world_matrix
from voxweb.scripting.vtkconvert import arrays_from_polydata

EXTENT_REFERENCE_GEOMETRY = 0
EXTENT_UNION_OF_SEGMENTS_PADDED = 2
EXTENT_UNION_OF_EFFECTIVE_SEGMENTS = 3
EXTENT_UNION_OF_EFFECTIVE_SEGMENTS_PADDED = 4
EXTENT_UNION_OF_EFFECTIVE_SEGMENTS_AND_REFERENCE_GEOMETRY = 5

STATUS_TAG = "Segmentation.Status"
STATUSES = ("notstarted", "inprogress", "completed", "flagged")


def merged_labelmap(
    node: Segmentation,
    segment_ids: list[str] | None,
    extent_mode: int = EXTENT_UNION_OF_EFFECTIVE_SEGMENTS,
    label_values: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(labels (k, j, i), IJK-to-RAS): segment n gets n + 1 (or ``label_values[n]``); cropped
    to the segments' voxels (padded by one voxel for the *_PADDED modes) except for the
    reference-geometry modes."""
    ids = list(node.segments) if not segment_ids else list(segment_ids)
    values = label_values or list(range(1, len(ids) + 1))
    top = max(values, default=0)
    dtype = np.uint8 if top < 256 else np.uint16 if top < 65536 else np.int32
    full = np.zeros(node.shape, dtype=dtype)
    for sid, value in zip(ids, values, strict=True):
        full[node.mask(sid)] = value
    if extent_mode in (
        EXTENT_REFERENCE_GEOMETRY,
        EXTENT_UNION_OF_EFFECTIVE_SEGMENTS_AND_REFERENCE_GEOMETRY,
    ):
        return full, np.array(node.ijk_to_ras, dtype=float)
    extent = core.effective_extent(full != 0)
    if extent is None:
        return np.zeros((1, 1, 1), dtype=dtype), np.array(node.ijk_to_ras, dtype=float)
    pad = (
        1
        if extent_mode
        in (EXTENT_UNION_OF_SEGMENTS_PADDED, EXTENT_UNION_OF_EFFECTIVE_SEGMENTS_PADDED)
        else 0
    )
    i0, i1, j0, j1, k0, k1 = extent
    crop = full[k0 : k1 + 1, j0 : j1 + 1, i0 : i1 + 1]
    if pad:
        crop = np.pad(crop, 1)
    shift = np.eye(4)
    shift[:3, 3] = (i0 - pad, j0 - pad, k0 - pad)
    return crop, np.asarray(node.ijk_to_ras, dtype=float) @ shift


def _segmentation(node: Any) -> Segmentation:
    target = unwrap(node)
    if not isinstance(target, Segmentation):
        raise TypeError(f"expected a segmentation node, got {target.slicer_class}")
    return target


def _volume(node: Any) -> ScalarVolume:
    target = unwrap(node)
    if not isinstance(target, ScalarVolume):
        raise TypeError(f"expected a volume node, got {target.slicer_class}")
    return target


def _color_table_values(table_view: Any, node: Segmentation, ids: list[str]) -> list[int]:
    table = getattr(table_view, "_table", None)
    if not isinstance(table, ColorTable):
        raise TypeError("the export color table must be a color table node")
    by_name = {entry.name: value for value, entry in table.entries.items()}
    values = []
    for sid in ids:
        name = node.segment(sid).name
        if name not in by_name:
            raise ValueError(f"segment {name!r} has no entry in color table {table.name!r}")
        values.append(int(by_name[name]))
    return values


class SegmentationsLogic(_Logic):
    """Slicer's segmentations module logic; every method is also callable on the class."""

    MODE_REPLACE = 0
    MODE_MERGE_MAX = 1
    MODE_MERGE_MIN = 2
    MODE_MERGE_MASK = 3
    NotStarted, InProgress, Completed, Flagged = range(4)  # noqa: N815

    # --- export to label maps -----------------------------------------------------------
    @staticmethod
    def ExportSegmentsToLabelmapNode(  # noqa: N802
        segmentation_node: Any,
        segment_ids: Any,
        labelmap_node: Any,
        reference_volume_node: Any = None,
        extent_mode: int = EXTENT_UNION_OF_EFFECTIVE_SEGMENTS,
        color_table: Any = None,
    ) -> bool:
        """Segments (IDs as a list or vtkStringArray; empty: all) -> one label map, label
        value n + 1 for the n-th ID (or the value of the color-table entry named like it)."""
        node = _segmentation(segmentation_node)
        target = _volume(labelmap_node)
        ids = core.string_list(segment_ids) or list(node.segments)
        values = None if color_table is None else _color_table_values(color_table, node, ids)
        if reference_volume_node is not None:
            reference = _volume(reference_volume_node)
            full, matrix = merged_labelmap(node, ids, EXTENT_REFERENCE_GEOMETRY, values)
            source = world_matrix(node) @ matrix
            destination = world_matrix(reference) @ reference.ijk_to_ras
            array = core.resample(full, source, reference.array.shape, destination)
            ijk_to_ras = np.linalg.inv(world_matrix(target)) @ destination
        else:
            array, matrix = merged_labelmap(node, ids, int(extent_mode), values)
            ijk_to_ras = matrix
        entries = {0: ColorEntry("Background", (0.0, 0.0, 0.0, 0.0))}
        for n, sid in enumerate(ids):
            segment = node.segment(sid)
            value = values[n] if values else n + 1
            entries[value] = ColorEntry(segment.name, (*segment.color, 1.0))
        with _lock(target, node):
            if isinstance(target, LabelMapVolume):
                table = ColorTable(name=f"{node.name}-label_ColorTable", entries=entries)
                object.__setattr__(target, "color_table", table)
                target.display.color_table = table.name
            target.set_array(array, ijk_to_ras)
            if reference_volume_node is None and node.parent_transform_id and target.scene:
                target.scene.set_parent_transform(target, node.parent_transform_id)
        return True

    @staticmethod
    def ExportAllSegmentsToLabelmapNode(  # noqa: N802
        segmentation_node: Any,
        labelmap_node: Any,
        extent_mode: int = EXTENT_UNION_OF_EFFECTIVE_SEGMENTS,
    ) -> bool:
        return SegmentationsLogic.ExportSegmentsToLabelmapNode(
            segmentation_node, [], labelmap_node, None, extent_mode
        )

    @staticmethod
    def ExportVisibleSegmentsToLabelmapNode(  # noqa: N802
        segmentation_node: Any,
        labelmap_node: Any,
        reference_volume_node: Any = None,
        extent_mode: int = EXTENT_UNION_OF_EFFECTIVE_SEGMENTS,
    ) -> bool:
        node = _segmentation(segmentation_node)
        ids = [sid for sid in node.segments if node.display.of(sid).visible]
        if not ids:
            return False
        return SegmentationsLogic.ExportSegmentsToLabelmapNode(
            node, ids, labelmap_node, reference_volume_node, extent_mode
        )

    # --- import label maps ----------------------------------------------------------------
    @staticmethod
    def ImportLabelmapToSegmentationNode(  # noqa: N802
        labelmap_node: Any, segmentation_node: Any, base_name_or_ids: Any = "", *_: Any
    ) -> bool:
        """One segment per non-zero label (named from the label map's color table, else
        ``<base>_<value>``); with a list of segment IDs, label n + 1 replaces the voxels of
        the n-th segment (made when missing)."""
        volume = _volume(labelmap_node)
        node = _segmentation(segmentation_node)
        array = volume.array
        if array.dtype.kind not in "iub":
            raise TypeError(
                f"{volume.name!r} has voxel type {array.dtype}; a label map needs integers"
            )
        source = world_matrix(volume) @ volume.ijk_to_ras
        local = np.linalg.inv(world_matrix(node)) @ source
        with _lock(node):
            if not core.has_geometry(node):
                core.set_grid(node, array.shape, local)
            labels = core.resample(array, local, node.shape, node.ijk_to_ras)
            view = core.segmentation_view(node)
            if base_name_or_ids is not None and not isinstance(base_name_or_ids, str):
                for n, sid in enumerate(core.string_list(base_name_or_ids)):
                    if sid not in node.segments:
                        view.AddEmptySegment(sid, sid)
                    node.set_mask(sid, labels == n + 1)
                return True
            table = getattr(volume, "color_table", None)
            for value in np.unique(labels):
                if value == 0:
                    continue
                entry = table.entries.get(int(value)) if isinstance(table, ColorTable) else None
                name = entry.name if entry else f"{base_name_or_ids or 'Label'}_{int(value)}"
                color = entry.rgba[:3] if entry else generated_color(int(value))
                node.add_segment(name=name, mask=labels == value, color=color)
        return True

    # --- models ----------------------------------------------------------------------------
    @staticmethod
    def ImportModelToSegmentationNode(  # noqa: N802
        model_node: Any, segmentation_node: Any, *_: Any
    ) -> bool:
        from voxweb.scripting.vtkconvert import polydata_from

        model = unwrap(model_node)
        if not isinstance(model, Model):
            raise TypeError(f"expected a model node, got {model.slicer_class}")
        node = _segmentation(segmentation_node)
        m = np.linalg.inv(world_matrix(node)) @ world_matrix(model)
        vertices = model.vertices @ m[:3, :3].T + m[:3, 3]
        with _lock(node):
            mask = core.mask_from_polydata(node, polydata_from(vertices, model.faces))
            node.add_segment(name=model.name, mask=mask, color=tuple(model.color))
        return True

    @staticmethod
    def ExportSegmentsToModels(  # noqa: N802
        segmentation_node: Any, segment_ids: Any, *_: Any
    ) -> bool:
        """One model node per segment: its closed surface, color and name (the parent
        transform follows); a subject-hierarchy folder argument is not used."""
        node = _segmentation(segmentation_node)
        scene = node.scene
        if scene is None:
            raise ValueError("add the segmentation to the scene before exporting its segments")
        ids = core.string_list(segment_ids) or list(node.segments)
        with scene.lock:
            for sid in ids:
                segment = node.segment(sid)
                vertices, faces = arrays_from_polydata(core.surface_polydata(node, sid))
                model = Model(vertices, faces, name=segment.name)
                model.color = tuple(float(c) for c in segment.color)  # type: ignore[assignment]
                scene.add(model, segment.name)
                if node.parent_transform_id:
                    scene.set_parent_transform(model, node.parent_transform_id)
        return True

    @staticmethod
    def ExportAllSegmentsToModels(segmentation_node: Any, *rest: Any) -> bool:  # noqa: N802
        return SegmentationsLogic.ExportSegmentsToModels(segmentation_node, [], *rest)

    @staticmethod
    def ExportVisibleSegmentsToModels(segmentation_node: Any, *rest: Any) -> bool:  # noqa: N802
        node = _segmentation(segmentation_node)
        ids = [sid for sid in node.segments if node.display.of(sid).visible]
        return SegmentationsLogic.ExportSegmentsToModels(node, ids, *rest) if ids else False

    # --- representations with the parent transform applied -----------------------------------
    @staticmethod
    def GetSegmentBinaryLabelmapRepresentation(  # noqa: N802
        segmentation_node: Any, segment_id: str, out: Any, apply_transform: bool = True
    ) -> bool:
        view = wrap(_segmentation(segmentation_node))
        if not view.GetBinaryLabelmapRepresentation(segment_id, out):
            return False
        if apply_transform:
            core.set_image_to_world(out, world_matrix(view) @ core.image_to_world(out))
        return True

    @staticmethod
    def GetSegmentClosedSurfaceRepresentation(  # noqa: N802
        segmentation_node: Any, segment_id: str, out: Any, apply_transform: bool = True
    ) -> bool:
        from vtkmodules.vtkCommonTransforms import vtkTransform
        from vtkmodules.vtkFiltersGeneral import vtkTransformPolyDataFilter

        from voxweb.scripting.vtkconvert import fill_matrix

        node = _segmentation(segmentation_node)
        if str(segment_id) not in node.segments:
            return False
        poly = core.surface_polydata(node, str(segment_id))
        if apply_transform and node.parent_transform_id:
            transform = vtkTransform()
            transform.SetMatrix(fill_matrix(None, world_matrix(node)))
            moved = vtkTransformPolyDataFilter()
            moved.SetInputData(poly)
            moved.SetTransform(transform)
            moved.Update()
            poly = moved.GetOutput()
        out.DeepCopy(poly)
        return True

    @staticmethod
    def SetBinaryLabelmapToSegment(  # noqa: N802
        image: Any, segmentation_node: Any, segment_id: str, mode: int = 0, *_: Any
    ) -> bool:
        """Write an oriented image's non-zero voxels into a segment: replace, union
        (MODE_MERGE_MAX) or intersection (MODE_MERGE_MIN)."""
        node = _segmentation(segmentation_node)
        with _lock(node):
            mask = core.mask_from_image(node, image)
            if int(mode) == SegmentationsLogic.MODE_MERGE_MAX:
                mask = mask | node.mask(segment_id)
            elif int(mode) == SegmentationsLogic.MODE_MERGE_MIN:
                mask = mask & node.mask(segment_id)
            elif int(mode) != SegmentationsLogic.MODE_REPLACE:
                raise NotImplementedError(
                    "SetBinaryLabelmapToSegment: masked merge is not provided"
                )
            node.set_mask(str(segment_id), mask)
        return True

    # --- status -----------------------------------------------------------------------------
    @staticmethod
    def GetSegmentStatus(segment: Any) -> int:  # noqa: N802
        value = segment.GetTag(STATUS_TAG)
        return STATUSES.index(value) if value in STATUSES else 0

    @staticmethod
    def SetSegmentStatus(segment: Any, status: int) -> None:  # noqa: N802
        segment.SetTag(STATUS_TAG, STATUSES[int(status)])

    @staticmethod
    def GetSegmentStatusAsHumanReadableString(status: int) -> str:  # noqa: N802
        return ("Not started", "In progress", "Completed", "Flagged")[int(status)]

    @staticmethod
    def ClearSegment(segmentation_node: Any, segment_id: str) -> None:  # noqa: N802
        node = _segmentation(segmentation_node)
        node.set_mask(str(segment_id), np.zeros(node.shape, dtype=bool))


logic("segmentations")(SegmentationsLogic)
#: Slicer's C++ logic class, whose static methods scripts call directly.
vtkSlicerSegmentationsModuleLogic = SegmentationsLogic  # noqa: N816


class _lock:  # noqa: N801 - a tiny context manager
    """The scene lock of the first node that is in a scene (nothing when none is)."""

    def __init__(self, *nodes: Any) -> None:
        scenes = [n.scene for n in nodes if getattr(n, "scene", None) is not None]
        self._lock = scenes[0].lock if scenes else None

    def __enter__(self) -> None:
        if self._lock is not None:
            self._lock.acquire()

    def __exit__(self, *exc: Any) -> None:
        if self._lock is not None:
            self._lock.release()


__all__ = ["SegmentationsLogic", "merged_labelmap", "vtkSlicerSegmentationsModuleLogic"]


# --------------------------------------------------------------------- slicer.util helpers


def segment_array(segmentation_node: Any, segment_id: str, reference: Any = None) -> np.ndarray:
    """A copy of the segment as 0/1 uint8 (k, j, i): on the reference volume's grid when given
    (nearest neighbour, transforms applied), else on the segmentation's grid."""
    node = _segmentation(segmentation_node)
    mask = node.mask(str(segment_id)).astype(np.uint8)
    if reference is None:
        return mask
    volume = _volume(reference)
    source = world_matrix(node) @ node.ijk_to_ras
    target = world_matrix(volume) @ volume.ijk_to_ras
    return core.resample(mask, source, volume.array.shape, target)


def update_segment_from_array(
    array: Any, segmentation_node: Any, segment_id: str, reference: Any = None
) -> None:
    """Replace the segment's voxels with the non-zero voxels of ``array``, which lies on the
    reference volume's grid when given (else on the segmentation's grid)."""
    node = _segmentation(segmentation_node)
    values = np.asarray(array)
    with _lock(node):
        if reference is None:
            if not core.has_geometry(node) and values.ndim == 3:
                core.set_grid(node, values.shape, node.ijk_to_ras)
            mask = values != 0
        else:
            volume = _volume(reference)
            source = world_matrix(volume) @ volume.ijk_to_ras
            local = np.linalg.inv(world_matrix(node)) @ source
            if not core.has_geometry(node):
                core.set_grid(node, volume.array.shape, local)
            mask = core.resample((values != 0).astype(np.uint8), local, node.shape, node.ijk_to_ras)
            mask = mask != 0
        if str(segment_id) not in node.segments:
            core.segmentation_view(node).AddEmptySegment(str(segment_id))
        node.set_mask(str(segment_id), mask)


def segment_internal_array(segmentation_node: Any, segment_id: str) -> np.ndarray:
    """The segment's labelmap layer itself (shared memory; other segments may share it)."""
    node = _segmentation(segmentation_node)
    segment = node.segment(str(segment_id))
    if segment.layer >= len(node.layers):
        raise ValueError(f"segment {segment_id!r} has no voxels yet")
    return node.layers[segment.layer]
