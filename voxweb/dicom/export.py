"""Build classic single-frame DICOM image series (MR or CT) from a numpy volume.

Input: an array in (k, j, i) order and a 4x4 IJK->RAS matrix (voxweb's internal convention).
Output: pydicom Datasets or Part-10 bytes with correct geometry in LPS (ImagePositionPatient
per slice, ImageOrientationPatient, PixelSpacing, SliceThickness, SpacingBetweenSlices), fresh
UIDs and patient/study attributes from parameters. Integer data is stored as is (8 or 16 bit);
float or wide-integer data is scaled to 16 bits with RescaleSlope/RescaleIntercept. Also used
to make test data. No HTTP and no database access here.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
_LPS_FROM_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _ds_str(x: float) -> str:
    """A DS value (at most 16 characters)."""
    s = f"{x:.10g}"
    if len(s) > 16:
        s = f"{x:.8e}"
    return "0" if s in ("-0", "-0.0") else s


def _encode(volume: np.ndarray) -> tuple[np.ndarray, float, float, bool]:
    """Stored integer array, slope, intercept, needs_rescale."""
    dt = volume.dtype
    if dt in (np.uint8, np.int16, np.uint16):
        return volume, 1.0, 0.0, False
    if dt == np.int8:
        return volume.astype(np.int16), 1.0, 0.0, False
    if np.issubdtype(dt, np.integer):
        lo, hi = int(volume.min()), int(volume.max())
        if lo >= -32768 and hi <= 32767:
            return volume.astype(np.int16), 1.0, 0.0, False
        if lo >= 0 and hi <= 65535:
            return volume.astype(np.uint16), 1.0, 0.0, False
    v = volume.astype(np.float64)
    finite = v[np.isfinite(v)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    slope = (hi - lo) / 65535.0 if hi > lo else 1.0
    stored = np.clip(np.rint((np.nan_to_num(v, nan=lo) - lo) / slope), 0, 65535).astype(np.uint16)
    return stored, slope, lo, True


def volume_to_datasets(
    volume: np.ndarray,
    ijk_to_ras: np.ndarray | Sequence[Sequence[float]],
    *,
    modality: str = "MR",
    patient_name: str = "Anonymous",
    patient_id: str = "ANON",
    patient_birth_date: str = "",
    patient_sex: str = "",
    study_uid: str | None = None,
    series_uid: str | None = None,
    frame_of_reference_uid: str | None = None,
    study_date: str | None = None,
    study_time: str | None = None,
    study_description: str = "",
    series_description: str = "",
    accession_number: str = "",
    referring_physician_name: str = "",
    study_id: str = "1",
    series_number: int = 1,
    window: tuple[float, float] | None = None,
    extra: dict[str, Any] | None = None,
) -> list[Dataset]:
    """One single-frame image Dataset (with file meta) per k slice, InstanceNumber k+1.

    ``extra`` sets further attributes by keyword on every slice.
    """
    vol = np.asarray(volume)
    if vol.ndim != 3:
        raise ValueError(f"volume must be 3-D (k, j, i), got shape {vol.shape}")
    m = np.asarray(ijk_to_ras, dtype=np.float64)
    if m.shape != (4, 4):
        raise ValueError(f"ijk_to_ras must be 4x4, got {m.shape}")
    modality = modality.upper()
    if modality not in ("MR", "CT"):
        raise ValueError("modality must be 'MR' or 'CT'")
    lps = _LPS_FROM_RAS @ m
    col_vec, row_vec, slice_vec = lps[:3, 0], lps[:3, 1], lps[:3, 2]
    di, dj, dk = (float(np.linalg.norm(v)) for v in (col_vec, row_vec, slice_vec))
    if min(di, dj, dk) <= 0:
        raise ValueError("ijk_to_ras has a zero-length axis")
    iop = [*(col_vec / di), *(row_vec / dj)]
    stored, slope, intercept, rescale = _encode(vol)
    if modality == "CT":
        rescale = True
    now = _dt.datetime.now()
    study_uid = study_uid or generate_uid()
    series_uid = series_uid or generate_uid()
    for_uid = frame_of_reference_uid or generate_uid()
    study_date = study_date if study_date is not None else now.strftime("%Y%m%d")
    study_time = study_time if study_time is not None else now.strftime("%H%M%S")
    sop_class = MR_IMAGE_STORAGE if modality == "MR" else CT_IMAGE_STORAGE
    signed = stored.dtype.kind == "i"
    bits = stored.dtype.itemsize * 8
    if window is None:
        real_lo = float(stored.min()) * slope + intercept
        real_hi = float(stored.max()) * slope + intercept
        window = ((real_lo + real_hi) / 2, max(real_hi - real_lo, 1.0))
    normal = np.cross(iop[:3], iop[3:])

    out: list[Dataset] = []
    for k in range(vol.shape[0]):
        ds = Dataset()
        sop_uid = generate_uid()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = sop_uid
        ds.StudyDate = study_date
        ds.SeriesDate = study_date
        ds.ContentDate = study_date
        ds.StudyTime = study_time
        ds.SeriesTime = study_time
        ds.ContentTime = study_time
        ds.AccessionNumber = accession_number
        ds.Modality = modality
        ds.Manufacturer = "voxweb"
        ds.ReferringPhysicianName = referring_physician_name
        ds.StudyDescription = study_description
        ds.SeriesDescription = series_description
        ds.PatientName = patient_name
        ds.PatientID = patient_id
        ds.PatientBirthDate = patient_birth_date
        ds.PatientSex = patient_sex
        ds.SliceThickness = _ds_str(dk)
        ds.SpacingBetweenSlices = _ds_str(dk)
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.StudyID = study_id
        ds.SeriesNumber = series_number
        ds.InstanceNumber = k + 1
        pos = lps @ np.array([0.0, 0.0, float(k), 1.0])
        ds.ImagePositionPatient = [_ds_str(x) for x in pos[:3]]
        ds.ImageOrientationPatient = [_ds_str(x) for x in iop]
        ds.FrameOfReferenceUID = for_uid
        ds.PositionReferenceIndicator = ""
        ds.SliceLocation = _ds_str(float(np.dot(pos[:3], normal)))
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = int(vol.shape[1])
        ds.Columns = int(vol.shape[2])
        ds.PixelSpacing = [_ds_str(dj), _ds_str(di)]  # row spacing, column spacing
        ds.BitsAllocated = bits
        ds.BitsStored = bits
        ds.HighBit = bits - 1
        ds.PixelRepresentation = 1 if signed else 0
        ds.WindowCenter = _ds_str(window[0])
        ds.WindowWidth = _ds_str(window[1])
        if rescale:
            ds.RescaleIntercept = _ds_str(intercept)
            ds.RescaleSlope = _ds_str(slope)
            ds.RescaleType = "HU" if modality == "CT" else "US"
        if modality == "CT":
            ds.KVP = ""
        for key, value in (extra or {}).items():
            setattr(ds, key, value)
        ds.PixelData = (
            np.ascontiguousarray(stored[k])
            .astype(stored.dtype.newbyteorder("<"), copy=False)
            .tobytes()
        )
        ds["PixelData"].VR = "OB" if bits == 8 else "OW"
        out.append(ds)
    return out


def dataset_to_bytes(ds: Dataset) -> bytes:
    """Part-10 bytes of a Dataset that has file meta."""
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def volume_to_part10(
    volume: np.ndarray, ijk_to_ras: np.ndarray | Sequence[Sequence[float]], **kwargs: Any
) -> list[bytes]:
    """Like ``volume_to_datasets`` but Part-10 bytes per slice."""
    return [dataset_to_bytes(ds) for ds in volume_to_datasets(volume, ijk_to_ras, **kwargs)]


def write_series(
    directory: str | os.PathLike[str],
    volume: np.ndarray,
    ijk_to_ras: np.ndarray | Sequence[Sequence[float]],
    **kwargs: Any,
) -> list[Path]:
    """Write the series as ``IM00001.dcm``... into ``directory``; returns the paths."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, data in enumerate(volume_to_part10(volume, ijk_to_ras, **kwargs), start=1):
        p = d / f"IM{k:05d}.dcm"
        p.write_bytes(data)
        paths.append(p)
    return paths


def geometry_from_datasets(datasets: Sequence[Dataset]) -> np.ndarray:
    """IJK->RAS 4x4 matrix of a classic series (slices sorted by position along the normal)."""
    iop = np.array([float(x) for x in datasets[0].ImageOrientationPatient])
    row_spacing, col_spacing = (float(x) for x in datasets[0].PixelSpacing)
    normal = np.cross(iop[:3], iop[3:])
    pos = sorted(
        (np.array([float(x) for x in d.ImagePositionPatient]) for d in datasets),
        key=lambda p: float(p @ normal),
    )
    m = np.eye(4)
    m[:3, 0] = iop[:3] * col_spacing
    m[:3, 1] = iop[3:] * row_spacing
    m[:3, 2] = (
        (pos[-1] - pos[0]) / (len(pos) - 1)
        if len(pos) > 1
        else normal * float(datasets[0].get("SliceThickness", 1) or 1)
    )
    m[:3, 3] = pos[0]
    return _LPS_FROM_RAS @ m
