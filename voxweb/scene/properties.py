"""Node properties as plain data, shaped like Slicer's ``/mrml/properties`` answer (spec §4.2).

Slicer builds that JSON by parsing VTK ``PrintSelf`` text; here each node class maps to a
dict with the same keys and value types (flags such as ``HideFromEditors`` are ints because
VTK prints them as 0/1). Returns Python data only: no JSON encoding, no HTTP.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxweb.scene.markups import (
    MarkupsAngle,
    MarkupsCurve,
    MarkupsNode,
    MarkupsPlane,
    MarkupsROI,
)
from voxweb.scene.nodes import (
    GridTransform,
    LinearTransform,
    Model,
    Node,
    ScalarVolume,
    Segmentation,
    TransformableNode,
)
from voxweb.scene.views import LAYOUTS, Layout, Selection, SliceView, ThreeDView

#: numpy dtype -> VTK scalar type name (as VTK prints it).
VTK_SCALAR_TYPES: dict[str, str] = {
    "int8": "signed char",
    "uint8": "unsigned char",
    "int16": "short",
    "uint16": "unsigned short",
    "int32": "int",
    "uint32": "unsigned int",
    "int64": "long long",
    "uint64": "unsigned long long",
    "float32": "float",
    "float64": "double",
    "bool": "unsigned char",
}


def vtk_scalar_type(dtype: np.dtype | type | str) -> str:
    """VTK's name for a numpy dtype (``int16`` -> ``short``)."""
    name = np.dtype(dtype).name
    try:
        return VTK_SCALAR_TYPES[name]
    except KeyError:
        raise ValueError(f"voxel type {name} has no VTK scalar type") from None


def _floats(values: Any) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float).reshape(-1)]


def _rows(matrix: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in row] for row in np.asarray(matrix, dtype=float)]


def properties(node: Node) -> dict[str, Any]:
    """The properties dict of one node (keys and types as Slicer's ``/mrml/properties``)."""
    out: dict[str, Any] = {
        "ID": node.id,
        "ClassName": node.slicer_class,
        "Name": node.name,
        "Debug": False,
        "MTime": int(node.mtime),
    }
    if node.description:
        out["Description"] = node.description
    if node.singleton_tag is not None:
        out["SingletonTag"] = node.singleton_tag
    out.update(
        {
            "HideFromEditors": int(node.hide_from_editors),
            "Selectable": int(node.selectable),
            "Selected": int(node.selected),
            "UndoEnabled": 0,
        }
    )
    if node.attributes:
        out["Attributes"] = dict(node.attributes)
    if isinstance(node, TransformableNode) and node.parent_transform_id:
        out["Node references"] = {"transform": [node.parent_transform_id]}
    if isinstance(node, ScalarVolume):
        out.update(_volume(node))
    elif isinstance(node, LinearTransform):
        out["MatrixTransformToParent"] = _rows(node.matrix_to_parent)
    elif isinstance(node, GridTransform):
        k, j, i, _ = node.displacement.shape
        out["DisplacementGrid"] = {
            "Dimensions": [i, j, k],
            "Spacing": _floats(node.spacing),
            "Origin": _floats(node.origin),
            "Directions": _rows(node.directions),
            "ScalarType": vtk_scalar_type(node.displacement.dtype),
            "NumberOfScalarComponents": 3,
        }
        out["TransformDirection"] = "FromParent" if node.from_parent else "ToParent"
    elif isinstance(node, MarkupsNode):
        out.update(_fiducial(node))
        out.update(_markups(node))
    elif isinstance(node, Segmentation):
        out["Segmentation"] = _segmentation(node)
    elif isinstance(node, Model):
        out["NumberOfPoints"] = int(node.vertices.shape[0])
        out["NumberOfCells"] = int(node.faces.shape[0])
        out["Color"] = _floats(node.color)
        out["Opacity"] = float(node.opacity)
        out["Visibility"] = bool(node.visible)
        out["Visibility2D"] = bool(node.visible_2d)
        out["ScalarVisibility"] = bool(node.scalar_visible)
        if node.active_scalar:
            out["ActiveScalarName"] = node.active_scalar
        if node.point_data:
            out["PointDataArrays"] = sorted(node.point_data)
    elif isinstance(node, SliceView):
        out.update(
            {
                "Orientation": node.orientation,
                "LayoutName": node.name,
                "FieldOfView": _floats(node.field_of_view),
                "Dimensions": [int(v) for v in node.dimensions],
                "SliceOffset": float(node.offset),
                "SliceToRAS": _rows(node.slice_to_ras()),
            }
        )
        layers = {
            "BackgroundVolumeID": node.background_volume_id,
            "ForegroundVolumeID": node.foreground_volume_id,
            "LabelVolumeID": node.label_volume_id,
        }
        out.update({k: v for k, v in layers.items() if v})  # Slicer omits "(none)" values
        out["ForegroundOpacity"] = float(node.foreground_opacity)
        out["LabelOpacity"] = float(node.label_opacity)
        out["UseLabelOutline"] = bool(node.label_outline)
    elif isinstance(node, ThreeDView):
        out["LayoutName"] = node.singleton_tag
        out["BackgroundColor"] = _floats(node.background)
        if node.volume_rendering_id:
            out["VolumeRenderingVolumeID"] = node.volume_rendering_id
            out["VolumeRenderingPreset"] = node.volume_preset
        if node.volume_cropping and node.volume_crop_box is not None:
            out["VolumeRenderingCropBox"] = _floats(node.volume_crop_box)
        if node.camera is not None:
            out["Camera"] = {
                "Position": _floats(node.camera.position),
                "FocalPoint": _floats(node.camera.focal_point),
                "ViewUp": _floats(node.camera.view_up),
                "ViewAngle": float(node.camera.view_angle),
            }
    elif isinstance(node, Layout):
        out["LayoutName"] = node.layout_name
        out["ViewArrangement"] = LAYOUTS.get(node.layout_name, LAYOUTS["Custom"])
        out["GUIContents"] = node.gui_contents
    elif isinstance(node, Selection):
        if node.active_volume_id:
            out["ActiveVolumeID"] = node.active_volume_id
        if node.active_label_volume_id:
            out["ActiveLabelVolumeID"] = node.active_label_volume_id
    # Node classes defined outside this module (subject hierarchy, parameter nodes) add theirs.
    extra = getattr(node, "extra_properties", None)
    if callable(extra):
        out.update(extra())
    return out


def _volume(node: ScalarVolume) -> dict[str, Any]:
    k, j, i = node.array.shape
    return {
        "Spacing": _floats(node.spacing),
        "Origin": _floats(node.origin),
        # Rows of the direction matrix, as Slicer prints IJKToRASDirections.
        "IJKToRASDirections": _rows(node.directions),
        "IJKToRASMatrix": _rows(node.ijk_to_ras),
        # The image data itself carries no geometry in Slicer: spacing 1 and origin 0.
        "ImageData": {
            "Dimensions": [i, j, k],
            "Spacing": [1.0, 1.0, 1.0],
            "Origin": [0.0, 0.0, 0.0],
            "Extent": [0, i - 1, 0, j - 1, 0, k - 1],
            "ScalarType": vtk_scalar_type(node.array.dtype),
            "NumberOfScalarComponents": 1,
        },
        "Window": float(node.display.window),
        "Level": float(node.display.level),
        "ColorTable": node.display.color_table,
        "Visibility": bool(node.display.visible),
        "ApplyThreshold": bool(node.display.apply_threshold),
    }


def _fiducial(node: MarkupsNode) -> dict[str, Any]:
    return {
        "NumberOfControlPoints": len(node.control_points),
        "ControlPoints": [
            {
                "ID": cp.id,
                "Label": cp.label,
                "Description": cp.description,
                "Position": _floats(cp.position),
                "Selected": bool(cp.selected),
                "Locked": bool(cp.locked),
                "Visibility": bool(cp.visible),
                "PositionStatus": cp.position_status,
            }
            for cp in node.control_points
        ],
        "Locked": bool(node.locked),
        "Color": _floats(node.color),
        "SelectedColor": _floats(node.selected_color),
        "GlyphScale": float(node.glyph_scale),
        "TextScale": float(node.text_scale),
        "Visibility": bool(node.visible),
    }


def _markups(node: MarkupsNode) -> dict[str, Any]:
    """What each markup type adds: its type, display extras, measurements, own geometry."""
    out: dict[str, Any] = {
        "MarkupType": node.markup_type,
        "NumberOfDefinedControlPoints": len(node.defined_positions()),
        "GlyphSize": float(node.glyph_size),
        "UseGlyphScale": bool(node.use_glyph_scale),
        "GlyphType": node.glyph_type,
        "Opacity": float(node.opacity),
        "LineThickness": float(node.line_thickness),
        "PointLabelsVisibility": bool(node.point_labels_visible),
        "PropertiesLabelVisibility": bool(node.properties_label_visible),
        "Measurements": {
            m.name: {"Value": float(m.value), "Units": m.units, "Enabled": bool(m.enabled)}
            for m in node.measurements()
        },
    }
    if isinstance(node, MarkupsAngle):
        out["AngleMeasurementMode"] = node.mode
    if isinstance(node, MarkupsCurve):
        out["CurveType"] = node.curve_type
        out["NumberOfCurvePoints"] = int(len(node.curve_points()))
    if isinstance(node, MarkupsPlane):
        out.update(
            {
                "PlaneType": node.plane_type,
                "SizeMode": node.size_mode,
                "Origin": _floats(node.origin()),
                "Normal": _floats(node.normal()),
                "Axes": _rows(node.axes().T),  # rows: x axis, y axis, normal
                "Size": _floats(node.plane_size()),
            }
        )
    if isinstance(node, MarkupsROI):
        out.update(
            {
                "ROIType": node.roi_type,
                "Center": _floats(node.center()),
                "Size": _floats(node.box_size()),
                "Orientation": _rows(node.orientation),
                "Bounds": _floats(node.bounds()),
                "InsideOut": bool(node.inside_out),
            }
        )
    return out


def _segmentation(node: Segmentation) -> dict[str, Any]:
    k, j, i = node.shape
    return {
        "MasterRepresentationName": "Binary labelmap",
        "Dimensions": [i, j, k],
        "Segments": {
            seg.id: {
                "Name": seg.name,
                "Color": _floats(seg.color),
                "LabelValue": int(seg.label_value),
                "Layer": int(seg.layer),
            }
            for seg in node.segments.values()
        },
        "ContainedRepresentationNames": ["Binary labelmap"]
        + (["Closed surface"] if node.closed_surface else []),
        "Display": _segmentation_display(node),
    }


def _segmentation_display(node: Segmentation) -> dict[str, Any]:
    d = node.display
    return {
        "Visibility": int(d.visible),
        "Visibility2DFill": int(d.visible_2d_fill),
        "Visibility2DOutline": int(d.visible_2d_outline),
        "Visibility3D": int(d.visible_3d),
        "Opacity": float(d.opacity),
        "Opacity2DFill": float(d.opacity_2d_fill),
        "Opacity2DOutline": float(d.opacity_2d_outline),
        "Opacity3D": float(d.opacity_3d),
        "SegmentVisibility": {sid: int(d.of(sid).visible) for sid in node.segments},
    }
