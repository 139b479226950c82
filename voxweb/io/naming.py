"""File names: which extension a file has, and the node name a file gives.

One table of the extensions voxweb reads and writes, longest first so ``.seg.nrrd`` wins over
``.nrrd`` and ``.nii.gz`` over ``.gz``. Every reader, writer and route asks here.
"""

from __future__ import annotations

import os

#: Extensions recognised, longest (multi-part) first.
EXTENSIONS = (
    ".seg.nrrd", ".seg.nhdr", ".mrk.json", ".nii.gz", ".nrrd", ".nhdr", ".nii", ".json",
    ".fcsv", ".tfm", ".txt", ".h5", ".hdf5", ".mat", ".vtk", ".vtp", ".stl", ".obj", ".ply",
    ".mha", ".mhd", ".dcm",
)  # fmt: skip


#: The Slicer file type a file is loaded as, by its extension (``/slicer/load``, uploads).
FILETYPE_BY_EXTENSION = {
    ".seg.nrrd": "SegmentationFile", ".seg.nhdr": "SegmentationFile", ".mrk.json": "MarkupsFile",
    ".fcsv": "MarkupsFile", ".json": "MarkupsFile", ".tfm": "TransformFile", ".txt": "TransformFile",
    ".h5": "TransformFile", ".stl": "ModelFile", ".obj": "ModelFile", ".vtk": "ModelFile",
    ".ply": "ModelFile", ".nrrd": "VolumeFile", ".nhdr": "VolumeFile", ".nii": "VolumeFile",
    ".nii.gz": "VolumeFile",
}  # fmt: skip


def file_extension(path: str | os.PathLike) -> str:
    """Lower-case extension, multi-part aware (``.seg.nrrd``, ``.nii.gz``, ``.mrk.json``)."""
    lower = os.fspath(path).lower()
    for ext in EXTENSIONS:
        if lower.endswith(ext):
            return ext
    return os.path.splitext(lower)[1]


def stem(filename: str) -> str:
    """The file name without its extension (``brain.nii.gz`` -> ``brain``); never empty."""
    ext = file_extension(filename)
    return (filename[: -len(ext)] if ext else filename) or filename


def node_name_from(source: object, default: str) -> str:
    """The name a node read from ``source`` gets: its file name without the extension.

    ``default`` for bytes (an upload has no name) and for a name that would be empty.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return default
    base = os.path.basename(os.fspath(source))  # type: ignore[arg-type]
    ext = file_extension(base)
    return (base[: -len(ext)] if ext else base) or default
