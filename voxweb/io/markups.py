"""Markups files <-> fiducial nodes: Slicer's ``.mrk.json`` (read/write) and legacy ``.fcsv`` (read).

Positions are stored in RAS inside voxweb; files may say LPS (Slicer's default for
``.mrk.json`` since 4.11) or RAS, and this module converts at the boundary. Only point lists
(``Fiducial``) become nodes; other markup types get a clear error. No HTTP.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

from voxweb.io.errors import MarkupsFormatError
from voxweb.scene.nodes import ControlPoint, MarkupsFiducial

SCHEMA_URL = (
    "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/Markups/"
    "Resources/Schema/markups-schema-v1.0.3.json#"
)


def _name_from(path: str | os.PathLike, default: str = "F") -> str:
    base = os.path.basename(os.fspath(path))
    for ext in (".mrk.json", ".json", ".fcsv"):
        if base.lower().endswith(ext):
            return base[: -len(ext)] or default
    return base or default


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


def parse_mrk_json(data: dict[str, Any] | list[Any], name: str = "F") -> list[MarkupsFiducial]:
    """Fiducial nodes from a parsed ``.mrk.json`` document."""
    if not isinstance(data, dict) or not isinstance(data.get("markups"), list):
        raise MarkupsFormatError("markups JSON must be an object with a 'markups' list")
    nodes = []
    for index, markup in enumerate(data["markups"]):
        where = f"markups[{index}]"
        if not isinstance(markup, dict):
            raise MarkupsFormatError(f"{where} is not an object")
        kind = markup.get("type", "Fiducial")
        if kind != "Fiducial":
            raise MarkupsFormatError(
                f"{where} is a '{kind}' markup; only point lists ('Fiducial') are supported yet"
            )
        flip = _coordinate_flip(markup.get("coordinateSystem"), where)
        node = MarkupsFiducial(name=str(markup.get("name") or name))
        node.locked = bool(markup.get("locked", False))
        node.label_format = str(markup.get("labelFormat", "%N-%d"))
        points = markup.get("controlPoints") or []
        if not isinstance(points, list):
            raise MarkupsFormatError(f"{where}: 'controlPoints' must be a list")
        for n, cp in enumerate(points):
            cp_where = f"{where}.controlPoints[{n}]"
            if not isinstance(cp, dict):
                raise MarkupsFormatError(f"{cp_where} is not an object")
            if cp.get("positionStatus", "defined") != "defined" and "position" not in cp:
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
                )
            )
        display = markup.get("display") or {}
        if isinstance(display, dict):
            node.color = _color(display.get("color"), node.color)
            node.selected_color = _color(display.get("selectedColor"), node.selected_color)
            node.glyph_scale = float(display.get("glyphScale", node.glyph_scale))
            node.glyph_size = float(display.get("glyphSize", node.glyph_size))
            node.text_scale = float(display.get("textScale", node.text_scale))
            node.opacity = float(display.get("opacity", node.opacity))
            node.visible = bool(display.get("visibility", node.visible))
        nodes.append(node)
    return nodes


def read_mrk_json(path: str | os.PathLike) -> list[MarkupsFiducial]:
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
        return parse_mrk_json(data, _name_from(target))
    except MarkupsFormatError as exc:
        raise MarkupsFormatError(f"{target!r}: {exc}") from exc


def mrk_json(node: MarkupsFiducial, coordinate_system: str = "LPS") -> dict[str, Any]:
    """The ``.mrk.json`` document for a fiducial node (positions in LPS by default, like Slicer)."""
    flip = _coordinate_flip(coordinate_system, "coordinate_system")
    points = []
    for n, cp in enumerate(node.control_points, start=1):
        x, y, z = (float(v) for v in cp.position)
        if flip:
            x, y = -x, -y
        points.append(
            {
                "id": cp.id or str(n),
                "label": cp.label,
                "description": cp.description,
                "associatedNodeID": "",
                "position": [x, y, z],
                "orientation": [-1.0, -0.0, -0.0, -0.0, -1.0, -0.0, 0.0, 0.0, 1.0],
                "selected": bool(cp.selected),
                "locked": bool(cp.locked),
                "visibility": bool(cp.visible),
                "positionStatus": "defined",
            }
        )
    return {
        "@schema": SCHEMA_URL,
        "markups": [
            {
                "type": "Fiducial",
                "coordinateSystem": "LPS" if flip else "RAS",
                "coordinateUnits": "mm",
                "locked": bool(node.locked),
                "fixedNumberOfControlPoints": False,
                "labelFormat": node.label_format,
                "lastUsedControlPointNumber": len(node.control_points),
                "controlPoints": points,
                "measurements": [],
                "display": {
                    "visibility": bool(node.visible),
                    "opacity": float(node.opacity),
                    "color": [float(c) for c in node.color],
                    "selectedColor": [float(c) for c in node.selected_color],
                    "propertiesLabelVisibility": True,
                    "pointLabelsVisibility": True,
                    "textScale": float(node.text_scale),
                    "glyphType": "Sphere3D",
                    "glyphScale": float(node.glyph_scale),
                    "glyphSize": float(node.glyph_size),
                    "useGlyphScale": True,
                },
            }
        ],
    }


def write_mrk_json(
    node: MarkupsFiducial, path: str | os.PathLike, coordinate_system: str = "LPS"
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
    node = MarkupsFiducial(name=_name_from(target))
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


def read_markups(path: str | os.PathLike) -> list[MarkupsFiducial]:
    """Read ``.mrk.json`` / ``.json`` or ``.fcsv`` by extension."""
    if os.fspath(path).lower().endswith(".fcsv"):
        return [read_fcsv(path)]
    return read_mrk_json(path)
