"""Slicer ``.seg.nrrd`` files <-> Segmentation nodes, and segmentation <-> label-map conversion.

A ``.seg.nrrd`` is a 3-D label map (one layer) or 4-D ``list`` of layers with
``Segment<N>_ID/_Name/_Color/_LabelValue/_Layer/_Extent`` key-value fields, as Slicer writes
it; files from Slicer before shared labelmaps (one binary layer per segment, no
``_LabelValue``/``_Layer``) are read too. Geometry goes through the NRRD module (LPS on disk,
RAS inside). No HTTP.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from voxweb.io import nrrd as nrrd_io
from voxweb.io.errors import SegmentationFormatError, VolumeFormatError
from voxweb.io.limits import DEFAULT_MAX_VOLUME_SIZE
from voxweb.io.naming import node_name_from
from voxweb.scene.nodes import (
    ColorEntry,
    ColorTable,
    LabelMapVolume,
    ScalarVolume,
    Segment,
    Segmentation,
    generated_color,
)

_SEGMENT_KEY = re.compile(r"^Segment(\d+)_(\w+)$")


def _parse_tags(text: str) -> dict[str, str]:
    tags = {}
    for item in text.split("|"):
        if not item:
            continue
        key, _, value = item.partition(":")
        tags[key] = value
    return tags


def read_segmentation(
    source: str | os.PathLike | bytes,
    name: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_VOLUME_SIZE,
) -> Segmentation:
    """Read a ``.seg.nrrd`` (or any integer label-map NRRD) into a Segmentation node.

    ``max_bytes``: the most voxel data the file may declare (see ``nrrd.read_nrrd``).
    """
    what = (
        "segmentation data"
        if isinstance(source, (bytes, bytearray, memoryview))
        else f"segmentation file {os.fspath(source)!r}"
    )
    try:
        data, header = nrrd_io.read_nrrd(source, max_bytes)
        ijk_to_ras = nrrd_io.ijk_to_ras_from_header(header, what)
    except VolumeFormatError as exc:
        raise SegmentationFormatError(str(exc)) from exc
    if data.dtype.kind not in "iub":
        raise SegmentationFormatError(
            f"{what} has voxel type {data.dtype}; a segmentation needs integer labels"
        )
    if data.dtype == np.bool_:
        data = data.view(np.uint8)
    if data.ndim == 3:
        layers = [np.ascontiguousarray(data)]
    elif data.ndim == 4:
        vec = nrrd_io._vector_axis(header)
        assert vec is not None
        stacked = np.moveaxis(data, 3 - vec, 3)
        layers = [np.ascontiguousarray(stacked[..., n]) for n in range(stacked.shape[3])]
    else:
        raise SegmentationFormatError(f"{what} has {data.ndim} dimensions; expected 3 or 4")

    fields: dict[int, dict[str, str]] = {}
    for key, value in header.items():
        match = _SEGMENT_KEY.match(str(key))
        if match:
            fields.setdefault(int(match.group(1)), {})[match.group(2)] = str(value)
    legacy = data.ndim == 4 and not any("Layer" in f or "LabelValue" in f for f in fields.values())

    node = Segmentation(
        layers[0].shape,
        ijk_to_ras,
        name=name or node_name_from(source, "Segmentation"),
        dtype=layers[0].dtype,
    )
    node.layers = layers
    for index in sorted(fields):
        f = fields[index]
        where = f"{what}: Segment{index}"
        sid = f.get("ID") or f"Segment_{index + 1}"
        try:
            color = tuple(float(v) for v in f.get("Color", "").split()) or generated_color(
                index + 1
            )
            label_value = int(f.get("LabelValue", "1"))
            layer = index if legacy else int(f.get("Layer", "0"))
        except ValueError as exc:
            raise SegmentationFormatError(f"{where} has a malformed field: {exc}") from exc
        if len(color) != 3:
            raise SegmentationFormatError(
                f"{where}_Color must be 3 numbers, got {f.get('Color')!r}"
            )
        if not 0 <= layer < len(layers):
            raise SegmentationFormatError(
                f"{where}_Layer is {layer} but the file has {len(layers)} layer(s)"
            )
        if sid in node.segments:
            raise SegmentationFormatError(f"{what}: segment ID {sid!r} appears twice")
        node.segments[sid] = Segment(
            id=sid,
            name=f.get("Name", sid),
            color=color,  # type: ignore[arg-type]
            label_value=label_value,
            layer=layer,
            tags=_parse_tags(f.get("Tags", "")),
        )
    if not fields:
        # A plain label map: one segment per non-zero label.
        for value in np.unique(layers[0]):
            if value == 0:
                continue
            sid = f"Segment_{int(value)}"
            node.segments[sid] = Segment(sid, sid, generated_color(int(value)), int(value), 0)
    for key in ("Segmentation_ReferenceImageExtentOffset", "Segmentation_ConversionParameters"):
        if key in header:
            node.attributes[key] = str(header[key])
    return node


def _extent(mask: np.ndarray) -> str:
    if not mask.any():
        return "0 -1 0 -1 0 -1"
    parts = []
    for axis in (2, 1, 0):  # i, j, k
        other = tuple(a for a in range(3) if a != axis)
        hits = np.nonzero(mask.any(axis=other))[0]
        parts += [str(int(hits[0])), str(int(hits[-1]))]
    return " ".join(parts)


def _num(value: float) -> str:
    return repr(float(value))


def seg_nrrd_header(node: Segmentation) -> dict[str, Any]:
    """The pynrrd header (geometry + Slicer key-value fields) for a segmentation."""
    multi = len(node.layers) > 1
    header: dict[str, Any] = {
        "kinds": (["list"] if multi else []) + ["domain", "domain", "domain"],
        "endian": "little",
    }
    header.update(nrrd_io.lps_geometry_fields(node.ijk_to_ras, vector_axis=multi))
    for n, seg in enumerate(node.segments.values()):
        p = f"Segment{n}_"
        header[p + "Color"] = " ".join(_num(c) for c in seg.color)
        header[p + "ColorAutoGenerated"] = "0"
        header[p + "Extent"] = _extent(node.mask(seg.id))
        header[p + "ID"] = seg.id
        header[p + "LabelValue"] = str(int(seg.label_value))
        header[p + "Layer"] = str(int(seg.layer))
        header[p + "Name"] = seg.name
        header[p + "NameAutoGenerated"] = "0"
        header[p + "Tags"] = "".join(f"{k}:{v}|" for k, v in seg.tags.items()) or "|"
    header["Segmentation_ContainedRepresentationNames"] = "Binary labelmap|"
    header["Segmentation_ConversionParameters"] = node.attributes.get(
        "Segmentation_ConversionParameters", ""
    )
    header["Segmentation_MasterRepresentation"] = "Binary labelmap"
    header["Segmentation_ReferenceImageExtentOffset"] = "0 0 0"
    return header


def write_segmentation(
    node: Segmentation, path: str | os.PathLike | None = None, compress: bool = True
) -> bytes | None:
    """Write a ``.seg.nrrd`` (returns bytes when ``path`` is None)."""
    for seg in node.segments.values():
        if "\n" in seg.name or "\n" in seg.id:
            raise SegmentationFormatError(f"segment {seg.id!r}: names cannot contain line breaks")
    layers = node.layers or [np.zeros(node.shape, dtype=node.dtype)]
    data = layers[0] if len(layers) == 1 else np.stack(layers, axis=-1)
    try:
        return nrrd_io.write_nrrd(path, data, seg_nrrd_header(node), compress=compress)
    except VolumeFormatError as exc:
        raise SegmentationFormatError(str(exc)) from exc


def segmentation_to_labelmap(
    node: Segmentation, segment_ids: list[str] | None = None, name: str | None = None
) -> LabelMapVolume:
    """Export segments as one label map (values 1..N in segment order) with a color table."""
    array, segments = node.merged_labelmap(segment_ids)
    table = ColorTable(
        name=f"{node.name}-label_ColorTable",
        entries={n: ColorEntry(seg.name, (*seg.color, 1.0)) for n, seg in enumerate(segments, 1)},
    )
    table.entries[0] = ColorEntry("Background", (0.0, 0.0, 0.0, 0.0))
    return LabelMapVolume(
        array, node.ijk_to_ras, name=name or f"{node.name}-label", color_table=table
    )


def labelmap_to_segmentation(volume: ScalarVolume, name: str | None = None) -> Segmentation:
    """One segment per non-zero label of an integer volume (names/colors from its color table)."""
    if volume.array.dtype.kind not in "iub":
        raise SegmentationFormatError(
            f"{volume.name!r} has voxel type {volume.array.dtype}; a label map needs integers"
        )
    node = Segmentation(volume.array.shape, volume.ijk_to_ras, name=name or volume.name)
    table = getattr(volume, "color_table", None)
    for value in np.unique(volume.array):
        if value == 0:
            continue
        entry = table.entries.get(int(value)) if table is not None else None
        node.add_segment(
            name=entry.name if entry else f"Segment_{int(value)}",
            mask=volume.array == value,
            color=entry.rgba[:3] if entry else generated_color(int(value)),
        )
    return node
