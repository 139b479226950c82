"""Exceptions of the file-format layer, with messages a user can act on.

Every reader and writer in ``voxweb.io`` raises one of these (never a bare library error), so
the HTTP edge can turn them into a status code and Slicer's error envelope. No HTTP here.
"""

from __future__ import annotations


class FileFormatError(ValueError):
    """A file (or byte string) could not be read or written in the expected format."""


class VolumeFormatError(FileFormatError):
    """A volume file (NRRD, NIfTI) is malformed or unsupported."""


class TransformFormatError(FileFormatError):
    """A transform file (ITK text, displacement field) is malformed or unsupported."""


class MarkupsFormatError(FileFormatError):
    """A markups file (.mrk.json, .fcsv) is malformed or unsupported."""


class SegmentationFormatError(FileFormatError):
    """A segmentation file (.seg.nrrd) is malformed or unsupported."""


class ModelFormatError(FileFormatError):
    """A model file (STL, OBJ, PLY, legacy VTK) is malformed or unsupported."""


class UnsupportedFileTypeError(FileFormatError):
    """The file type or extension is not supported (yet)."""
