"""Series -> voxels + geometry: stack a classic single-frame DICOM series into one volume.

Reads the stored files of a series (pydicom pixel handlers, so compressed series work when a
decoder is installed), sorts slices along the slice normal, applies the modality rescale and
builds the IJK->RAS matrix from ImagePositionPatient/ImageOrientationPatient/PixelSpacing
(``export.geometry_from_datasets``). Enhanced multi-frame objects are refused with a clear
message. The answer is a ``SeriesVolume`` (voxel array, IJK->RAS matrix, name, window/level
from the headers); ``voxweb.services.dicom_bridge`` makes the scene node from it. No HTTP here
and no scene: nothing in ``voxweb.dicom`` imports ``voxweb.scene``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from voxweb.dicom.database import DicomDatabase
from voxweb.dicom.errors import DicomFormatError, NotFoundError
from voxweb.dicom.export import geometry_from_datasets

_GEOMETRY = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing")


@dataclass
class SeriesVolume:
    """The voxels of a series and where they are: ``array`` in (k, j, i) order (dtype as
    stored, or after the modality rescale), ``ijk_to_ras`` a 4x4 matrix, ``name`` as Slicer
    names the series, ``window``/``level`` from the first image's headers (None: absent)."""

    array: np.ndarray
    ijk_to_ras: np.ndarray
    name: str = ""
    window: float | None = None
    level: float | None = None


def _rescaled(arrays: list[np.ndarray], datasets: list[Dataset]) -> np.ndarray:
    slopes = [float(ds.get("RescaleSlope", 1) or 1) for ds in datasets]
    intercepts = [float(ds.get("RescaleIntercept", 0) or 0) for ds in datasets]
    stack = np.stack(arrays)
    if all(s == 1 for s in slopes) and all(i == 0 for i in intercepts):
        return stack
    out = (
        stack.astype(np.float64) * np.array(slopes)[:, None, None]
        + np.array(intercepts)[:, None, None]
    )
    if all(float(s).is_integer() for s in slopes) and all(
        float(i).is_integer() for i in intercepts
    ):
        lo, hi = out.min(), out.max()
        for dtype in (np.int16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= lo and hi <= info.max:
                return out.astype(dtype)
    return out.astype(np.float32)


def _check_size(images: list[Dataset], rows: int, columns: int, max_bytes: int | None) -> None:
    """Refuse a series whose slices declare more voxel data than ``max_bytes``, before decoding.

    Compressed pixel data can declare any Rows x Columns in a few bytes; the decoder would
    allocate the declared size for every slice.
    """
    if max_bytes is None:
        return
    item = max((int(ds.get("BitsAllocated", 16) or 16) + 7) // 8 for ds in images)
    declared = rows * columns * len(images) * item
    if declared > max_bytes:
        raise DicomFormatError(
            f"the series declares {declared} bytes of voxel data ({len(images)} slices of "
            f"{rows} x {columns} x {item} bytes), more than the limit of {max_bytes} bytes "
            "(raise it with --max-volume-size)"
        )


def datasets_to_volume(
    datasets: list[Dataset], name: str = "", max_bytes: int | None = None
) -> SeriesVolume:
    """One volume from the image datasets of a series (pixel data loaded on access).

    ``max_bytes``: the most voxel data the series may declare (None: no limit), checked from
    the headers before any pixel data is decoded.
    """
    images = [ds for ds in datasets if "PixelData" in ds and all(k in ds for k in _GEOMETRY)]
    if not images:
        raise DicomFormatError(
            "the series has no image with pixel data and geometry "
            "(ImagePositionPatient, ImageOrientationPatient, PixelSpacing)"
        )
    if any(int(ds.get("NumberOfFrames", 1) or 1) > 1 for ds in images):
        raise DicomFormatError("multi-frame (enhanced) series cannot be loaded as a volume yet")
    if any(int(ds.get("SamplesPerPixel", 1) or 1) != 1 for ds in images):
        raise DicomFormatError("colour series cannot be loaded as a scalar volume")
    shapes = {(int(ds.Rows), int(ds.Columns)) for ds in images}
    if len(shapes) > 1:
        raise DicomFormatError(f"the series mixes image sizes {sorted(shapes)}")
    (rows, columns), *_ = shapes
    _check_size(images, rows, columns, max_bytes)
    iop = np.array([float(x) for x in images[0].ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    images.sort(
        key=lambda ds: float(np.array([float(x) for x in ds.ImagePositionPatient]) @ normal)
    )
    try:
        arrays = [ds.pixel_array for ds in images]
    except Exception as exc:  # missing codec, corrupt data
        raise DicomFormatError(f"cannot decode the series' pixel data: {exc}") from exc
    volume = SeriesVolume(_rescaled(arrays, images), geometry_from_datasets(images), name)
    first = images[0]
    wc, ww = first.get("WindowCenter"), first.get("WindowWidth")
    if wc is not None and ww is not None:
        try:
            c = float(wc[0] if isinstance(wc, pydicom.multival.MultiValue) else wc)
            w = float(ww[0] if isinstance(ww, pydicom.multival.MultiValue) else ww)
            if w > 0:
                volume.window, volume.level = w, c
        except (TypeError, ValueError):
            pass
    return volume


def load_series(
    db: DicomDatabase, study_uid: str, series_uid: str, max_bytes: int | None = None
) -> SeriesVolume:
    """The stored series as a volume named as Slicer names it: ``<SeriesNumber>:
    <SeriesDescription>`` ("Unnamed Series" without a description, no number prefix
    without a number).

    ``max_bytes``: the most voxel data the series may declare (None: no limit).
    """
    instances = db.instances(study_uid, series_uid)
    # pixel data stays on disk until the size check has passed
    datasets = [pydicom.dcmread(db.instance_path(inst), defer_size=4096) for inst in instances]
    if not datasets:
        raise NotFoundError(f"series {series_uid} has no instances")
    first = datasets[0]
    return datasets_to_volume(datasets, series_node_name(first), max_bytes)


def series_node_name(dataset: Dataset) -> str:
    """Slicer's default node name for a series (DICOMPlugin.defaultSeriesNodeName)."""
    name = str(dataset.get("SeriesDescription", "") or "").strip() or "Unnamed Series"
    number = str(dataset.get("SeriesNumber", "") or "").strip()
    return f"{number}: {name}" if number else name


def image_series(db: DicomDatabase, study_uid: str) -> list[str]:
    """SeriesInstanceUIDs of a study that hold images with geometry (loadable as volumes)."""
    found = db.search_series({"includefield": "00280010"}, study_uid=study_uid)
    return [
        s["0020000E"]["Value"][0]
        for s in found
        if s.get("00080060", {}).get("Value", [""])[0] not in ("SR", "SEG", "RTSTRUCT", "PR", "KO")
    ]


__all__ = ["SeriesVolume", "datasets_to_volume", "image_series", "load_series"]
