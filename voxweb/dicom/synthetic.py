"""Synthetic DICOM databases for tests and benchmarks: many small, valid instances, fast.

``synthetic_instances`` yields Part-10 bytes of tiny (8x8) MR/CT/CR/US images with varied
patients, dates, descriptions and modalities, reproducibly from a seed. ``populate_synthetic``
indexes them in bulk (one transaction per batch, optional file writes without fsync), so a
10,000-study index is built in seconds. Test-data only; no HTTP.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from voxweb.dicom.export import dataset_to_bytes
from voxweb.dicom.parse import InstanceRecord, parse_instance

if TYPE_CHECKING:
    from voxweb.dicom.database import DicomDatabase

FAMILY = [
    "Doe",
    "Smith",
    "Müller",
    "García",
    "Nguyen",
    "O'Brien",
    "Kowalski",
    "Åberg",
    "Dupont",
    "Rossi",
]
GIVEN = ["John", "Jane", "Zoë", "José", "Anh", "Mary", "Piotr", "Björn", "Chloé", "Luca"]
STUDY_DESC = ["Brain MRI", "Chest CT", "Abdomen CT", "Knee MRI", "Hand X-ray", "Cardiac US", ""]
MODALITIES = ["MR", "CT", "CT", "CR", "US", "MR"]
SOP_CLASS = {
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
}
_PIXELS = np.arange(64, dtype=np.uint16).reshape(8, 8).tobytes()


def synthetic_instances(
    n_studies: int, *, series_per_study: int = 1, instances_per_series: int = 1, seed: int = 0
) -> Iterator[bytes]:
    """Part-10 bytes of ``n_studies * series_per_study * instances_per_series`` instances."""
    rng = random.Random(seed)
    for s in range(n_studies):
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        pid = f"PID{s % max(1, n_studies // 2):06d}"
        study_uid = generate_uid(entropy_srcs=[str(seed), "study", str(s)])
        date = f"{rng.randint(2000, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        desc = rng.choice(STUDY_DESC)
        for r in range(series_per_study):
            modality = rng.choice(MODALITIES)
            series_uid = generate_uid(entropy_srcs=[str(seed), "series", str(s), str(r)])
            for i in range(instances_per_series):
                sop_uid = generate_uid(entropy_srcs=[str(seed), "sop", str(s), str(r), str(i)])
                ds = Dataset()
                meta = FileMetaDataset()
                meta.MediaStorageSOPClassUID = SOP_CLASS[modality]
                meta.MediaStorageSOPInstanceUID = sop_uid
                meta.TransferSyntaxUID = ExplicitVRLittleEndian
                ds.file_meta = meta
                ds.SpecificCharacterSet = "ISO_IR 192"
                ds.SOPClassUID = SOP_CLASS[modality]
                ds.SOPInstanceUID = sop_uid
                ds.StudyDate = date
                ds.StudyTime = f"{rng.randint(7, 19):02d}{rng.randint(0, 59):02d}00"
                ds.AccessionNumber = f"ACC{s:07d}"
                ds.Modality = modality
                ds.ReferringPhysicianName = "House^Gregory" if s % 3 == 0 else ""
                ds.StudyDescription = desc
                ds.SeriesDescription = f"{modality} series {r + 1}"
                ds.PatientName = f"{family}^{given}"
                ds.PatientID = pid
                ds.PatientBirthDate = f"19{rng.randint(30, 99)}0101"
                ds.PatientSex = rng.choice("MFO")
                ds.StudyInstanceUID = study_uid
                ds.SeriesInstanceUID = series_uid
                ds.StudyID = str(s)
                ds.SeriesNumber = r + 1
                ds.InstanceNumber = i + 1
                ds.SamplesPerPixel = 1
                ds.PhotometricInterpretation = "MONOCHROME2"
                ds.Rows = 8
                ds.Columns = 8
                ds.BitsAllocated = 16
                ds.BitsStored = 16
                ds.HighBit = 15
                ds.PixelRepresentation = 0
                ds.PixelData = _PIXELS
                ds["PixelData"].VR = "OW"
                yield dataset_to_bytes(ds)


def _record(data: bytes | None, fields: dict) -> InstanceRecord:
    rec = InstanceRecord(**fields)
    js = {
        "00080005": {"vr": "CS", "Value": ["ISO_IR 192"]},
        "00080016": {"vr": "UI", "Value": [rec.sop_class_uid]},
        "00080018": {"vr": "UI", "Value": [rec.sop_uid]},
        "00080020": {"vr": "DA", "Value": [rec.study_date]},
        "00080030": {"vr": "TM", "Value": [rec.study_time]},
        "00080050": {"vr": "SH", "Value": [rec.accession_number]},
        "00080060": {"vr": "CS", "Value": [rec.modality]},
        "00081030": {"vr": "LO", "Value": [rec.study_description]}
        if rec.study_description
        else {"vr": "LO"},
        "0008103E": {"vr": "LO", "Value": [rec.series_description]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": rec.patient_name}]},
        "00100020": {"vr": "LO", "Value": [rec.patient_id]},
        "0020000D": {"vr": "UI", "Value": [rec.study_uid]},
        "0020000E": {"vr": "UI", "Value": [rec.series_uid]},
        "00200011": {"vr": "IS", "Value": [rec.series_number]},
        "00200013": {"vr": "IS", "Value": [rec.instance_number]},
        "00280010": {"vr": "US", "Value": [8]},
        "00280011": {"vr": "US", "Value": [8]},
        "7FE00010": {"vr": "OW", "BulkDataURI": "bulkdata/7FE00010"},
    }
    rec.json = json.dumps(js, separators=(",", ":"), ensure_ascii=False)
    rec.sha256 = hashlib.sha256(rec.sop_uid.encode()).hexdigest()
    return rec


def synthetic_records(
    n_studies: int, *, series_per_study: int = 1, instances_per_series: int = 1, seed: int = 0
) -> Iterator[InstanceRecord]:
    """Index records like ``synthetic_instances`` but built directly (no files, ~100x faster).

    Their JSON carries the main attributes only; their files do not exist.
    """
    rng = random.Random(seed)
    for s in range(n_studies):
        family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        study_uid = generate_uid(entropy_srcs=[str(seed), "study", str(s)])
        common = {
            "patient_id": f"PID{s % max(1, n_studies // 2):06d}",
            "patient_name": f"{family}^{given}",
            "patient_birth_date": f"19{rng.randint(30, 99)}0101",
            "patient_sex": rng.choice("MFO"),
            "study_uid": study_uid,
            "study_date": f"{rng.randint(2000, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
            "study_time": f"{rng.randint(7, 19):02d}{rng.randint(0, 59):02d}00",
            "accession_number": f"ACC{s:07d}",
            "referring_physician_name": "House^Gregory" if s % 3 == 0 else "",
            "study_description": rng.choice(STUDY_DESC),
            "study_id": str(s),
            "specific_character_set": "ISO_IR 192",
        }
        for r in range(series_per_study):
            modality = rng.choice(MODALITIES)
            series_uid = generate_uid(entropy_srcs=[str(seed), "series", str(s), str(r)])
            for i in range(instances_per_series):
                yield _record(
                    None,
                    {
                        **common,
                        "series_uid": series_uid,
                        "modality": modality,
                        "series_number": r + 1,
                        "series_description": f"{modality} series {r + 1}",
                        "sop_uid": generate_uid(
                            entropy_srcs=[str(seed), "sop", str(s), str(r), str(i)]
                        ),
                        "sop_class_uid": SOP_CLASS[modality],
                        "instance_number": i + 1,
                        "rows": 8,
                        "columns": 8,
                        "bits_allocated": 16,
                        "bits_stored": 16,
                        "high_bit": 15,
                        "samples_per_pixel": 1,
                        "transfer_syntax_uid": ExplicitVRLittleEndian,
                        "file_size": 0,
                    },
                )


def populate_synthetic(
    db: DicomDatabase,
    n_studies: int,
    *,
    series_per_study: int = 1,
    instances_per_series: int = 1,
    seed: int = 0,
    write_files: bool = False,
    batch: int = 5000,
) -> int:
    """Fill ``db`` with synthetic instances in bulk; returns the number indexed.

    ``write_files=False`` (default, fast: 10,000 studies in a few seconds) indexes records
    whose files do not exist (fine for query tests; ``check`` reports them missing).
    ``write_files=True`` makes real Part-10 files (written without fsync) and parses them.
    """
    kw = {
        "series_per_study": series_per_study,
        "instances_per_series": instances_per_series,
        "seed": seed,
    }
    count = 0
    pending: list[tuple[InstanceRecord, str, bool]] = []
    fsync, db.store.fsync = db.store.fsync, False
    try:
        if write_files:
            for data in synthetic_instances(n_studies, **kw):
                rec = parse_instance(data)
                path = db.store.relative_path(
                    rec.study_uid, rec.series_uid, rec.sop_uid, rec.sha256
                )
                db.store.write(path, data)
                pending.append((rec, path, False))
        else:
            for rec in synthetic_records(n_studies, **kw):
                pending.append((rec, f"synthetic/{rec.sop_uid}.dcm", False))
        for i in range(0, len(pending), batch):
            outcomes = db.index.add_many(pending[i : i + batch])
            count += sum(o.status == "stored" for o in outcomes)
    finally:
        db.store.fsync = fsync
    return count
