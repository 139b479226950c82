"""Markups files <-> markups nodes: Slicer's ``.mrk.json`` (read/write) and legacy ``.fcsv`` (read).

Every markup type of Slicer's schema is read and written: point lists, lines, angles, curves,
closed curves, planes and ROIs, with their control points, display properties, measurements
and type state (ROI centre/size/orientation, plane axes/size, angle mode). Positions are RAS
inside voxweb; files may say LPS (Slicer's default for ``.mrk.json`` since 4.11) or RAS, and
this module converts at the boundary (points, centres, normals and orientation matrices). No
HTTP.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

import numpy as np

from voxweb.io.errors import MarkupsFormatError
from voxweb.io.naming import node_name_from
from voxweb.scene.markups import (
    CURVE_TYPES,
    GLYPH_TYPES,
    MARKUP_TYPES,
    ControlPoint,
    MarkupsAngle,
    MarkupsCurve,
    MarkupsFiducial,
    MarkupsNode,
    MarkupsPlane,
    MarkupsROI,
)

SCHEMA_URL = (
    "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/"
    "Resources/Schema/markups-schema-v1.0.3.json#"
)


def _color(value: Any, default: tuple[float, float, float]) -> tuple[float, float, float]:
    try:
        rgb = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return default
    return rgb if len(rgb) == 3 else default  # type: ignore[return-value]


def _position(value: Any, where: str) -> tuple[float, float, float]:
    try:
        pos = [float(v) for v in value]
    except (TypeError, ValueError):
        raise MarkupsFormatError(f"{where}: 'position' must be 3 numbers, got {value!r}") from None
    if len(pos) != 3:
        raise MarkupsFormatError(f"{where}: 'position' must be 3 numbers, got {len(pos)}")
    return (pos[0], pos[1], pos[2])


def _coordinate_flip(system: Any, where: str) -> bool:
    """True when positions must be flipped (file in LPS)."""
    text = str(system if system is not None else "LPS").strip().upper()
    if text in ("LPS", "1"):
        return True
    if text in ("RAS", "0"):
        return False
    raise MarkupsFormatError(f"{where}: coordinateSystem {system!r} is not LPS or RAS")


def parse_mrk_json(data: dict[str, Any] | list[Any], name: str = "F") -> list[MarkupsNode]:
    """Markups nodes from a parsed ``.mrk.json`` document (one per entry of ``markups``)."""
    if not isinstance(data, dict) or not isinstance(data.get("markups"), list):
        raise MarkupsFormatError("markups JSON must be an object with a 'markups' list")
    nodes = []
    for index, markup in enumerate(data["markups"]):
        where = f"markups[{index}]"
        if not isinstance(markup, dict):
            raise MarkupsFormatError(f"{where} is not an object")
        kind = markup.get("type", "Fiducial")
        cls = MARKUP_TYPES.get(str(kind))
        if cls is None:
            raise MarkupsFormatError(
                f"{where} is a {kind!r} markup; known types: {', '.join(MARKUP_TYPES)}"
            )
        flip = _coordinate_flip(markup.get("coordinateSystem"), where)
        node = cls(name=str(markup.get("name") or name))
        node.locked = bool(markup.get("locked", False))
        node.label_format = str(markup.get("labelFormat", "%N-%d"))
        _read_type_state(node, markup, flip, where)  # before the points: it sets limits
        points = markup.get("controlPoints") or []
        if not isinstance(points, list):
            raise MarkupsFormatError(f"{where}: 'controlPoints' must be a list")
        for n, cp in enumerate(points):
            cp_where = f"{where}.controlPoints[{n}]"
            if not isinstance(cp, dict):
                raise MarkupsFormatError(f"{cp_where} is not an object")
            status = str(cp.get("positionStatus", "defined"))
            if status != "defined" and "position" not in cp:
                continue
            if "position" not in cp:
                raise MarkupsFormatError(f"{cp_where} has no 'position'")
            x, y, z = _position(cp["position"], cp_where)
            if flip:
                x, y = -x, -y
            node.control_points.append(
                ControlPoint(
                    label=str(cp.get("label", "")),
                    position=(x, y, z),
                    selected=bool(cp.get("selected", True)),
                    locked=bool(cp.get("locked", False)),
                    visible=bool(cp.get("visibility", True)),
                    description=str(cp.get("description", "")),
                    id=str(cp.get("id", n + 1)),
                    position_status=status if status in _STATUSES else "defined",
                )
            )
        node.last_used_point_number = int(
            _number(markup.get("lastUsedControlPointNumber"), len(node.control_points))
        )
        node.fixed_number_of_points = bool(markup.get("fixedNumberOfControlPoints", False))
        for m in markup.get("measurements") or []:
            if isinstance(m, dict) and m.get("enabled") and hasattr(node, "enabled_measurements"):
                node.enabled_measurements.add(str(m.get("name", "")))
        display = markup.get("display") or {}
        if isinstance(display, dict):
            _read_display(node, display)
        nodes.append(node)
    return nodes


_STATUSES = ("defined", "preview", "undefined")
_FLIP = np.diag([-1.0, -1.0, 1.0])


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float(default)


def _read_display(node: MarkupsNode, display: dict[str, Any]) -> None:
    node.color = _color(display.get("color"), node.color)
    node.selected_color = _color(display.get("selectedColor"), node.selected_color)
    node.active_color = _color(display.get("activeColor"), node.active_color)
    node.glyph_scale = _number(display.get("glyphScale"), node.glyph_scale)
    node.glyph_size = _number(display.get("glyphSize"), node.glyph_size)
    node.use_glyph_scale = bool(display.get("useGlyphScale", node.use_glyph_scale))
    node.text_scale = _number(display.get("textScale"), node.text_scale)
    node.opacity = _number(display.get("opacity"), node.opacity)
    node.line_thickness = _number(display.get("lineThickness"), node.line_thickness)
    node.visible = bool(display.get("visibility", node.visible))
    node.point_labels_visible = bool(display.get("pointLabelsVisibility", True))
    node.properties_label_visible = bool(display.get("propertiesLabelVisibility", True))
    glyph = display.get("glyphType")
    if glyph in GLYPH_TYPES:
        node.glyph_type = str(glyph)


def _vector(value: Any, count: int, where: str) -> np.ndarray | None:
    if value is None:
        return None
    try:
        out = np.array([float(v) for v in value], dtype=float)
    except (TypeError, ValueError):
        raise MarkupsFormatError(f"{where} must be {count} numbers, got {value!r}") from None
    if out.size != count:
        raise MarkupsFormatError(f"{where} must be {count} numbers, got {out.size}")
    return out


def _read_type_state(node: MarkupsNode, markup: dict[str, Any], flip: bool, where: str) -> None:
    """ROI, plane, angle and curve state: file coordinates (LPS or RAS) to RAS."""
    f = _FLIP if flip else np.eye(3)
    if isinstance(node, MarkupsROI):
        roi_type = str(markup.get("roiType", "Box"))
        node.roi_type = roi_type if roi_type in MarkupsROI.ROI_TYPES else "Box"
        size = _vector(markup.get("size"), 3, f"{where}.size")
        if size is not None:
            node.size = tuple(float(v) for v in size)  # type: ignore[assignment]
        orientation = _vector(markup.get("orientation"), 9, f"{where}.orientation")
        if orientation is not None:
            node.orientation = f @ orientation.reshape(3, 3)
        center = _vector(markup.get("center"), 3, f"{where}.center")
        if center is not None:
            object.__setattr__(node, "_center", tuple(float(v) for v in f @ center))
        node.inside_out = bool(markup.get("insideOut", False))
    elif isinstance(node, MarkupsPlane):
        plane_type = str(markup.get("planeType", "PointNormal"))
        node.plane_type = plane_type if plane_type in MarkupsPlane.PLANE_TYPES else "PointNormal"
        node.size_mode = "absolute" if str(markup.get("sizeMode", "auto")) == "absolute" else "auto"
        node.auto_scaling_factor = _number(markup.get("autoScalingSizeFactor"), 1.0)
        size = _vector(markup.get("size"), 3, f"{where}.size")
        if size is not None:
            node.size = (float(size[0]), float(size[1]))
        object_to_base = _vector(markup.get("objectToBase"), 16, f"{where}.objectToBase")
        base_to_node = _vector(markup.get("baseToNode"), 16, f"{where}.baseToNode")
        if object_to_base is not None and base_to_node is not None:
            rotation = (base_to_node.reshape(4, 4) @ object_to_base.reshape(4, 4))[:3, :3]
            axes = f @ rotation @ f
            node.axes_matrix = axes / np.maximum(np.linalg.norm(axes, axis=0), 1e-12)
        else:
            normal = _vector(markup.get("normal"), 3, f"{where}.normal")
            if normal is not None and np.linalg.norm(normal) > 0:
                node.set_normal(f @ normal)
        center = _vector(markup.get("center"), 3, f"{where}.center")
        if center is not None:
            object.__setattr__(node, "_origin", tuple(float(v) for v in f @ center))
    elif isinstance(node, MarkupsAngle):
        mode = str(markup.get("angleMeasurementMode", "Minimal"))
        node.mode = mode if mode in MarkupsAngle.MODES else "Minimal"
        axis = _vector(markup.get("orientationRotationAxis"), 3, f"{where}.orientationRotationAxis")
        if axis is not None:
            node.rotation_axis = tuple(float(v) for v in f @ axis)  # type: ignore[assignment]
    elif isinstance(node, MarkupsCurve):
        curve_type = str(markup.get("curveType", "CardinalSpline"))
        node.curve_type = curve_type if curve_type in CURVE_TYPES else "CardinalSpline"


def read_mrk_json(path: str | os.PathLike) -> list[MarkupsNode]:
    """Read a Slicer ``.mrk.json`` file (one node per point list in it)."""
    target = os.fspath(path)
    try:
        with open(target, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise MarkupsFormatError(
            f"cannot open markups file {target!r}: {exc.strerror or exc}"
        ) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MarkupsFormatError(f"{target!r} is not valid JSON: {exc}") from exc
    try:
        return parse_mrk_json(data, node_name_from(target, "F"))
    except MarkupsFormatError as exc:
        raise MarkupsFormatError(f"{target!r}: {exc}") from exc


def mrk_json(node: MarkupsNode, coordinate_system: str = "LPS") -> dict[str, Any]:
    """The ``.mrk.json`` document for a markups node (positions in LPS by default, like Slicer)."""
    flip = _coordinate_flip(coordinate_system, "coordinate_system")
    f = _FLIP if flip else np.eye(3)
    points = []
    for n, cp in enumerate(node.control_points, start=1):
        x, y, z = (float(v) for v in f @ np.asarray(cp.position, dtype=float))
        entry: dict[str, Any] = {
            "id": cp.id or str(n),
            "label": cp.label,
            "description": cp.description,
            "associatedNodeID": "",
        }
        if cp.position_status != "undefined":
            entry["position"] = [x, y, z]
        entry.update(
            {
                "orientation": [-1.0, -0.0, -0.0, -0.0, -1.0, -0.0, 0.0, 0.0, 1.0]
                if flip
                else [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                "selected": bool(cp.selected),
                "locked": bool(cp.locked),
                "visibility": bool(cp.visible),
                "positionStatus": cp.position_status,
            }
        )
        points.append(entry)
    markup: dict[str, Any] = {
        "type": node.markup_type or "Fiducial",
        "coordinateSystem": "LPS" if flip else "RAS",
        "coordinateUnits": "mm",
        "locked": bool(node.locked),
        "fixedNumberOfControlPoints": bool(node.fixed_number_of_points),
        "labelFormat": node.label_format,
        "lastUsedControlPointNumber": max(node.last_used_point_number, len(node.control_points)),
    }
    markup.update(_type_state(node, f))
    markup["controlPoints"] = points
    markup["measurements"] = [
        {
            "name": m.name,
            "enabled": bool(m.enabled),
            "value": float(m.value),
            "units": m.units,
            "printFormat": "%-#4.4g%s",
        }
        for m in node.measurements()
    ]
    markup["display"] = {
        "visibility": bool(node.visible),
        "opacity": float(node.opacity),
        "color": [float(c) for c in node.color],
        "selectedColor": [float(c) for c in node.selected_color],
        "activeColor": [float(c) for c in node.active_color],
        "propertiesLabelVisibility": bool(node.properties_label_visible),
        "pointLabelsVisibility": bool(node.point_labels_visible),
        "textScale": float(node.text_scale),
        "glyphType": node.glyph_type,
        "glyphScale": float(node.glyph_scale),
        "glyphSize": float(node.glyph_size),
        "useGlyphScale": bool(node.use_glyph_scale),
        "lineThickness": float(node.line_thickness),
    }
    return {"@schema": SCHEMA_URL, "markups": [markup]}


def _flat(matrix: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(matrix, dtype=float).reshape(-1)]


def _type_state(node: MarkupsNode, f: np.ndarray) -> dict[str, Any]:
    """ROI, plane, angle and curve state in file coordinates (``f`` maps RAS to them)."""
    if isinstance(node, MarkupsROI):
        return {
            "roiType": node.roi_type,
            "center": _flat(f @ node.center()),
            "orientation": _flat(f @ node.orientation),
            "size": _flat(node.box_size()),
            "insideOut": bool(node.inside_out),
        }
    if isinstance(node, MarkupsPlane):
        w, h = node.plane_size()
        object_to_base = np.eye(4)
        object_to_base[:3, :3] = f @ node.axes() @ f
        base_to_node = np.eye(4)
        base_to_node[:3, 3] = f @ node.origin()
        return {
            "planeType": node.plane_type,
            "sizeMode": node.size_mode,
            "autoScalingSizeFactor": float(node.auto_scaling_factor),
            "center": _flat(f @ node.origin()),
            "normal": _flat(f @ node.normal()),
            "size": [float(w), float(h), 0.0],
            "planeBounds": [-w / 2, w / 2, -h / 2, h / 2],
            "objectToBase": _flat(object_to_base),
            "baseToNode": _flat(base_to_node),
            "orientation": _flat(f @ node.axes()),
        }
    if isinstance(node, MarkupsAngle):
        return {
            "angleMeasurementMode": node.mode,
            "orientationRotationAxis": _flat(f @ np.asarray(node.rotation_axis, dtype=float)),
        }
    if isinstance(node, MarkupsCurve):
        return {"curveType": node.curve_type}  # not in Slicer's schema; readers ignore it
    return {}


def write_mrk_json(
    node: MarkupsNode, path: str | os.PathLike, coordinate_system: str = "LPS"
) -> None:
    target = os.fspath(path)
    try:
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(mrk_json(node, coordinate_system), fh, indent=4)
            fh.write("\n")
    except OSError as exc:
        raise MarkupsFormatError(f"cannot write {target!r}: {exc.strerror or exc}") from exc


def read_fcsv(path: str | os.PathLike) -> MarkupsFiducial:
    """Read a legacy Slicer ``.fcsv`` point list (``# CoordinateSystem`` RAS/0 or LPS/1)."""
    target = os.fspath(path)
    try:
        with open(target, encoding="utf-8", errors="replace", newline="") as fh:
            text = fh.read()
    except OSError as exc:
        raise MarkupsFormatError(
            f"cannot open markups file {target!r}: {exc.strerror or exc}"
        ) from exc
    flip = False  # files older than Slicer 4.11 have no CoordinateSystem line and are RAS
    columns = ["id", "x", "y", "z", "ow", "ox", "oy", "oz", "vis", "sel", "lock", "label", "desc"]
    node = MarkupsFiducial(name=node_name_from(target, "F"))
    rows = []
    for line in io.StringIO(text):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            key, sep, value = body.partition("=")
            key = key.strip().lower()
            if sep and key == "coordinatesystem":
                flip = _coordinate_flip(value.strip(), target)
            elif sep and key == "columns":
                columns = [c.strip() for c in value.split(",")]
            continue
        rows.append(stripped)
    for n, row in enumerate(csv.reader(rows), start=1):
        record = dict(zip(columns, row, strict=False))
        try:
            x, y, z = float(record["x"]), float(record["y"]), float(record["z"])
        except (KeyError, ValueError):
            raise MarkupsFormatError(
                f"{target!r}: row {n} has no numeric x, y, z: {row!r}"
            ) from None
        if flip:
            x, y = -x, -y
        node.control_points.append(
            ControlPoint(
                label=record.get("label", f"F-{n}"),
                position=(x, y, z),
                selected=record.get("sel", "1") != "0",
                locked=record.get("lock", "0") not in ("0", ""),
                visible=record.get("vis", "1") != "0",
                description=record.get("desc", ""),
                id=str(n),
            )
        )
    return node


def read_markups(path: str | os.PathLike) -> list[MarkupsNode]:
    """Read ``.mrk.json`` / ``.json`` or ``.fcsv`` by extension."""
    if os.fspath(path).lower().endswith(".fcsv"):
        return [read_fcsv(path)]
    return read_mrk_json(path)
