"""Load files into nodes and save nodes to files, dispatching on Slicer file types and extensions.

``load_file(path, filetype, properties)`` mirrors Slicer's ``loadNodeFromFile`` for the file
types voxweb supports (``VolumeFile``, ``SegmentationFile``, ``MarkupsFile``,
``TransformFile``, ``ModelFile``); ``save_node`` picks a writer from the extension (or a ``fileFormat``
property such as ``NRRD (.nrrd)``). Properties are strings as a client sends them (``"true"``,
``"0"``...). Nothing here adds nodes to a scene or knows about HTTP.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from voxweb.booleans import is_not_no
from voxweb.io import markups as markups_io
from voxweb.io import models as models_io
from voxweb.io import nifti as nifti_io
from voxweb.io import nrrd as nrrd_io
from voxweb.io import segmentation as seg_io
from voxweb.io import transforms as transforms_io
from voxweb.io.errors import FileFormatError, UnsupportedFileTypeError
from voxweb.io.limits import DEFAULT_MAX_VOLUME_SIZE
from voxweb.io.naming import file_extension
from voxweb.scene import geometry
from voxweb.scene.markups import MarkupsNode
from voxweb.scene.nodes import (
    LabelMapVolume,
    Model,
    Node,
    ScalarVolume,
    Segmentation,
    TransformNode,
)

SUPPORTED_FILE_TYPES = (
    "VolumeFile",
    "SegmentationFile",
    "MarkupsFile",
    "TransformFile",
    "ModelFile",
)


def to_bool(value: Any, default: bool = False) -> bool:
    """Qt-style string -> bool: ``""``, ``"0"``, ``"false"`` (any case) are false."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return is_not_no(str(value))


def _center(node: ScalarVolume) -> None:
    centre = geometry.ras_center(node.ijk_to_ras, node.array.shape)
    m = node.ijk_to_ras.copy()
    m[:3, 3] -= centre
    node.ijk_to_ras = m


def _load_volume(path: str, props: Mapping[str, Any], max_bytes: int | None) -> list[Node]:
    ext = file_extension(path)
    labelmap = to_bool(props.get("labelmap"))
    name = props.get("name") or None
    if ext in (".nrrd", ".nhdr", ".seg.nrrd", ".seg.nhdr"):
        node = nrrd_io.read_volume(path, labelmap=labelmap, name=name, max_bytes=max_bytes)
    elif ext in (".nii", ".nii.gz"):
        node = nifti_io.read_volume(path, labelmap=labelmap, name=name, max_bytes=max_bytes)
    else:
        raise UnsupportedFileTypeError(
            f"volume files with extension {ext or '(none)'!r} are not supported yet; "
            "use .nrrd, .nhdr, .nii or .nii.gz"
        )
    if labelmap and node.array.dtype.kind == "f":
        raise FileFormatError(
            f"{path!r} holds {node.array.dtype} voxels; a label map needs integers"
        )
    if to_bool(props.get("center")):
        _center(node)
    return [node]


def _load_segmentation(path: str, props: Mapping[str, Any], max_bytes: int | None) -> list[Node]:
    ext = file_extension(path)
    name = props.get("name") or None
    if ext in (".seg.nrrd", ".seg.nhdr", ".nrrd", ".nhdr"):
        return [seg_io.read_segmentation(path, name=name, max_bytes=max_bytes)]
    if ext in (".nii", ".nii.gz"):
        volume = nifti_io.read_volume(path, labelmap=True, max_bytes=max_bytes)
        return [seg_io.labelmap_to_segmentation(volume, name=name or volume.name)]
    raise UnsupportedFileTypeError(
        f"segmentation files with extension {ext or '(none)'!r} are not supported yet; "
        "use .seg.nrrd, .nrrd or .nii.gz"
    )


def _load_markups(path: str, props: Mapping[str, Any]) -> list[Node]:
    ext = file_extension(path)
    if ext not in (".mrk.json", ".json", ".fcsv"):
        raise UnsupportedFileTypeError(
            f"markups files with extension {ext or '(none)'!r} are not supported; use .mrk.json or .fcsv"
        )
    nodes: list[Node] = list(markups_io.read_markups(path))
    if props.get("name") and len(nodes) == 1:
        nodes[0].name = str(props["name"])
    return nodes


def _load_transform(path: str, props: Mapping[str, Any], max_bytes: int | None) -> list[Node]:
    name = props.get("name") or None
    return [transforms_io.read_transform(path, name=name, max_bytes=max_bytes)]


def load_file(
    path: str | os.PathLike,
    filetype: str,
    properties: Mapping[str, Any] | None = None,
    max_volume_size: int | None = DEFAULT_MAX_VOLUME_SIZE,
) -> list[Node]:
    """Read a file as Slicer's ``filetype`` into new nodes (not yet in any scene).

    ``max_volume_size``: the most voxel data (bytes) a volume, segmentation or displacement
    field may declare; larger ones are refused before anything is allocated (None: no limit).
    Raises FileFormatError (or a subclass) with a message for the user.
    """
    props = dict(properties or {})
    target = os.fspath(path)
    if not os.path.exists(target):
        raise FileFormatError(f"file {target!r} does not exist")
    if os.path.isdir(target):
        raise FileFormatError(f"{target!r} is a directory, not a file")
    if filetype == "VolumeFile":
        return _load_volume(target, props, max_volume_size)
    if filetype == "SegmentationFile":
        return _load_segmentation(target, props, max_volume_size)
    if filetype == "MarkupsFile":
        return _load_markups(target, props)
    if filetype == "TransformFile":
        return _load_transform(target, props, max_volume_size)
    if filetype == "ModelFile":
        return [
            models_io.read_model(
                target, props.get("coordinateSystem") or None, props.get("name") or None
            )
        ]
    raise UnsupportedFileTypeError(
        f"file type {filetype!r} is not supported; supported: {', '.join(SUPPORTED_FILE_TYPES)}"
    )


def _format_extension(props: Mapping[str, Any], path: str) -> str:
    fmt = props.get("fileFormat")
    if fmt:
        match = re.search(r"\((\.[\w.]+)\)", str(fmt))
        if match:
            return match.group(1).lower()
        text = str(fmt).strip().lower()
        if text.startswith("."):
            return text
    return file_extension(path)


def save_node(
    node: Node, path: str | os.PathLike, properties: Mapping[str, Any] | None = None
) -> None:
    """Write ``node`` to ``path``; the writer comes from the extension (or ``fileFormat``).

    ``useCompression`` (default true) selects gzip for NRRD-based formats.
    """
    props = dict(properties or {})
    target = os.fspath(path)
    ext = _format_extension(props, target)
    compress = to_bool(props.get("useCompression"), default=True)
    kind = type(node).__name__
    if ext in (".h5", ".hdf5", ".mat"):
        raise UnsupportedFileTypeError(
            f"saving as {ext} is not supported; use .tfm, .nrrd or .nii.gz"
        )
    if isinstance(node, Segmentation):
        if ext in (".seg.nrrd", ".nrrd", ".seg.nhdr", ".nhdr"):
            seg_io.write_segmentation(node, target, compress=compress)
            return
        if ext in (".nii", ".nii.gz"):
            nifti_io.write_volume(seg_io.segmentation_to_labelmap(node), target)
            return
    elif isinstance(node, ScalarVolume):
        if ext in (".nrrd", ".nhdr"):
            nrrd_io.write_volume(node, target, compress=compress)
            return
        if ext in (".nii", ".nii.gz"):
            nifti_io.write_volume(node, target)
            return
        if ext in (".seg.nrrd",) and isinstance(node, LabelMapVolume):
            seg_io.write_segmentation(
                seg_io.labelmap_to_segmentation(node), target, compress=compress
            )
            return
    elif isinstance(node, MarkupsNode):
        if ext in (".mrk.json", ".json"):
            markups_io.write_mrk_json(node, target)
            return
    elif isinstance(node, TransformNode):
        transforms_io.write_transform(node, target, compress=compress)
        return
    elif isinstance(node, Model):
        models_io.write_model(node, target, str(props.get("coordinateSystem") or "LPS"))
        return
    raise UnsupportedFileTypeError(
        f"cannot save a {kind} as {ext or 'a file without extension'!r}" + _hint(node)
    )


def _hint(node: Node) -> str:
    if isinstance(node, Segmentation):
        return "; use .seg.nrrd or .nii.gz"
    if isinstance(node, ScalarVolume):
        return "; use .nrrd, .nhdr, .nii or .nii.gz"
    if isinstance(node, MarkupsNode):
        return "; use .mrk.json"
    return ""


__all__ = ["SUPPORTED_FILE_TYPES", "load_file", "save_node", "to_bool"]
