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
from voxweb.io.load import file_extension, load_file, save_node, to_bool

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
