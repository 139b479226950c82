"""Application state: the scene, its nodes, views and geometry helpers (no HTTP, no files)."""

from voxweb.scene.nodes import (
    ColorEntry,
    ColorTable,
    ControlPoint,
    GridTransform,
    LabelMapVolume,
    LinearTransform,
    MarkupsFiducial,
    Model,
    Node,
    ScalarVolume,
    Segment,
    Segmentation,
    TransformableNode,
    TransformNode,
    VolumeDisplay,
    auto_window_level,
)
from voxweb.scene.properties import properties
from voxweb.scene.scene import NodeNotFoundError, Scene, SceneEvent, TransformChainError
from voxweb.scene.views import LAYOUTS, Layout, Selection, SliceView, ThreeDView, layout_name

__all__ = [
    "layout_name",
    "ColorEntry",
    "ColorTable",
    "ControlPoint",
    "GridTransform",
    "LabelMapVolume",
    "LAYOUTS",
    "Layout",
    "LinearTransform",
    "MarkupsFiducial",
    "Model",
    "Node",
    "NodeNotFoundError",
    "ScalarVolume",
    "Scene",
    "SceneEvent",
    "Selection",
    "Segment",
    "Segmentation",
    "SliceView",
    "ThreeDView",
    "TransformChainError",
    "TransformNode",
    "TransformableNode",
    "VolumeDisplay",
    "auto_window_level",
    "properties",
]
