"""File formats <-> scene nodes: NRRD, NIfTI, ITK transforms, markups, segmentations (no HTTP)."""

from voxweb.io.errors import (
    FileFormatError,
    MarkupsFormatError,
    ModelFormatError,
    SegmentationFormatError,
    TransformFormatError,
    UnsupportedFileTypeError,
    VolumeFormatError,
)
from voxweb.io.load import load_file, save_node, to_bool
from voxweb.io.naming import file_extension

__all__ = [
    "FileFormatError",
    "MarkupsFormatError",
    "ModelFormatError",
    "SegmentationFormatError",
    "TransformFormatError",
    "UnsupportedFileTypeError",
    "VolumeFormatError",
    "file_extension",
    "load_file",
    "save_node",
    "to_bool",
]
