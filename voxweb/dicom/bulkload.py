"""Fill a DICOM index with many realistic synthetic studies, fast (``voxweb dicom synthesize``).

For scale tests and benchmarks: 200,000 studies / 1,000,000 instances in minutes, not the
hours one STOW-RS per instance would take. Rows are generated directly (no DICOM parsing per
instance) with final counts (NumberOfStudyRelated*, ModalitiesInStudy, patients'
num_studies), explicit primary keys, and inserted per chunk of studies in one transaction:
``executemany`` on SQLite, ``COPY`` on PostgreSQL. Statements come from ``index.py``'s tables.

Files: one small real Part-10 file per modality (a "template", 8x8 pixels) is written under
``<data_dir>/dicom/synthetic/`` and every synthesized instance of that modality refers to it
as a *linked* file (so a DELETE never removes it and ``voxweb dicom check`` finds it). Each
instance's cached DICOM JSON is its own (UIDs, patient, study, series, InstanceNumber), so
QIDO and metadata answers are exact; frames, rendered images, thumbnails and bulk data are the
template's pixels; a whole-instance retrieve returns the template file (valid DICOM whose UIDs
are the template's). This module knows nothing about HTTP and prints nothing.
"""

from __future__ import annotations

import datetime
import functools
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
from sqlalchemy import Connection, Table, bindparam, func, insert, select

from voxweb.dicom.export import dataset_to_bytes
from voxweb.dicom.index import Index, instances, patients, series, studies
from voxweb.dicom.jsontext import dumps
from voxweb.dicom.parse import InstanceRecord, name_words, parse_instance, pn_key

# the same few thousand names again and again: fold each once
_pn_key = functools.lru_cache(maxsize=1 << 16)(pn_key)
_name_words = functools.lru_cache(maxsize=1 << 16)(name_words)

if TYPE_CHECKING:
    from voxweb.dicom.database import DicomDatabase

log = logging.getLogger(__name__)

UID_ROOT = "1.2.826.0.1.3680043.8.498.99"  # pydicom's root + a branch for synthesized data
MAX_SEED = 10**9

# 100 family names, drawn uniformly: ``PatientName=Smith*`` matches about 1 % of the studies.
FAMILY = (  # noqa: SIM905 (one name per line would take 100 lines)
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White "
    "Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres "
    "Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts "
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Dubois Durand "
    "Lefèvre Moreau Laurent Simon Michel Rossi Russo Ferrari Esposito Bianchi Romano Colombo "
    "Kowalski Nowak Wiśniewski Wójcik Novák Svoboda Åberg Öberg Lindqvist Nielsen Jensen "
    "Hansen Pedersen Andersen Tanaka Suzuki Watanabe Sato Kim Park Chen Wang Li Zhang Singh "
    "Kumar O'Brien"
).split()
GIVEN = (  # noqa: SIM905
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Zoë José Anh Piotr Björn Chloé Luca Jürgen "
    "François Agnès Søren Ingrid Hiroshi Yuki Wei Mei Arjun Priya Omar Fatima Ivan Olga"
).split()
# (StudyDescription, modality of each series in turn, BodyPartExamined, series descriptions)
STUDY_TYPES: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("MRI BRAIN W/O CONTRAST", ("MR",), "HEAD", ("T1 SAG", "T2 AX", "FLAIR AX", "DWI")),
    ("MRI KNEE LEFT", ("MR",), "KNEE", ("PD COR", "PD FS SAG", "T1 COR")),
    ("MRI LUMBAR SPINE", ("MR",), "LSPINE", ("T2 SAG", "T1 SAG", "T2 AX")),
    ("CT CHEST WITH CONTRAST", ("CT",), "CHEST", ("AXIAL 5MM", "AXIAL 1MM LUNG", "CORONAL")),
    ("CT ABDOMEN PELVIS", ("CT",), "ABDOMEN", ("PORTAL VENOUS", "CORONAL", "SAGITTAL")),
    ("CT HEAD W/O CONTRAST", ("CT",), "HEAD", ("AXIAL BRAIN", "AXIAL BONE")),
    ("PET-CT WHOLE BODY", ("PT", "CT"), "WHOLEBODY", ("PET AC", "CT AC", "PET NAC")),
    ("XR CHEST 2 VIEWS", ("CR",), "CHEST", ("PA", "LATERAL")),
    ("XR HAND RIGHT", ("DX",), "HAND", ("PA", "OBLIQUE", "LATERAL")),
    ("MAMMO SCREENING BILATERAL", ("MG",), "BREAST", ("R CC", "L CC", "R MLO", "L MLO")),
    ("US ABDOMEN COMPLETE", ("US",), "ABDOMEN", ("LIVER", "KIDNEYS", "GALLBLADDER")),
    ("NM BONE SCAN", ("NM",), "WHOLEBODY", ("ANTERIOR", "POSTERIOR")),
)
SOP_CLASS = {
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "PT": "1.2.840.10008.5.1.4.1.1.128",
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "NM": "1.2.840.10008.5.1.4.1.1.20",
}
PHYSICIANS = ("House^Gregory", "Grey^Meredith", "Quinn^Michaela", "Kildare^James", "")
FIRST_DAY = datetime.date(2000, 1, 1).toordinal()
LAST_DAY = datetime.date(2025, 12, 31).toordinal()
STUDIES_PER_PATIENT = 1.6  # on average; some patients have many studies, most one or two


@dataclass(frozen=True)
class Plan:
    """What to synthesize: ``studies * series_per_study * instances_per_series`` instances."""

    studies: int
    series_per_study: int = 1
    instances_per_series: int = 5
    seed: int = 0
    chunk_instances: int = 25_000  # about this many instances per transaction (whole studies)

    def __post_init__(self) -> None:
        for name in ("studies", "series_per_study", "instances_per_series", "chunk_instances"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if not 0 <= self.seed < MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED - 1}, not {self.seed}")

    @property
    def instances(self) -> int:
        return self.studies * self.series_per_study * self.instances_per_series

    @property
    def chunk_studies(self) -> int:
        per_study = self.series_per_study * self.instances_per_series
        return max(1, self.chunk_instances // per_study)


@dataclass
class Progress:
    """Rows written so far (passed to the progress callback after each chunk)."""

    studies: int = 0
    series: int = 0
    instances: int = 0
    patients: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.studies + self.series + self.instances + self.patients

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def study_uid(seed: int, s: int) -> str:
    """StudyInstanceUID of the ``s``-th synthesized study (0-based) of ``seed``."""
    return f"{UID_ROOT}.{seed}.{s + 1}"


def patient_id(seed: int, p: int) -> str:
    return f"SYN{seed}-{p + 1:07d}"


# -- templates -------------------------------------------------------------------------------
def template_bytes(modality: str) -> bytes:
    """A small valid Part-10 instance of ``modality`` (8x8 16-bit gradient)."""
    uid = f"{UID_ROOT}.0.{list(SOP_CLASS).index(modality) + 1}"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SOP_CLASS[modality]
    meta.MediaStorageSOPInstanceUID = uid + ".1.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = SOP_CLASS[modality]
    ds.SOPInstanceUID = uid + ".1.1"
    ds.StudyDate = ds.SeriesDate = "20000101"
    ds.StudyTime = ds.SeriesTime = "000000"
    ds.AccessionNumber = "TEMPLATE"
    ds.Modality = modality
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = f"{modality} template"
    ds.SeriesDescription = f"{modality} template"
    ds.PatientName = "Template^Synthetic"
    ds.PatientID = "TEMPLATE"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.BodyPartExamined = "WHOLEBODY"
    ds.StudyInstanceUID = uid
    ds.SeriesInstanceUID = uid + ".1"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 64).tobytes()
    ds["PixelData"].VR = "OW"
    return dataset_to_bytes(ds)


@dataclass(frozen=True)
class _Template:
    path: str  # absolute: the rows are linked to it
    rec: InstanceRecord
    model: dict[str, Any]  # its DICOM JSON model


def write_templates(directory: Path, modalities: Sequence[str]) -> dict[str, _Template]:
    """One template file per modality in ``directory`` (rewritten only when missing)."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    out = {}
    for modality in modalities:
        data = template_bytes(modality)
        path = directory / f"{modality}.dcm"
        if not path.exists() or path.read_bytes() != data:
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        rec = parse_instance(data)
        out[modality] = _Template(str(path.resolve()), rec, json.loads(rec.json))
    return out


# -- row generation --------------------------------------------------------------------------
_PATIENT_COLS = tuple(c.name for c in patients.columns)
_STUDY_COLS = tuple(c.name for c in studies.columns)
_SERIES_COLS = tuple(c.name for c in series.columns)
_INSTANCE_COLS = tuple(c.name for c in instances.columns)
_AT_PK, _AT_SOP, _AT_NUMBER, _AT_JSON = (
    _INSTANCE_COLS.index(c) for c in ("pk", "sop_uid", "instance_number", "json")
)
_SOP_MARK, _NUMBER_MARK = "\x01SOP\x01", "\x01NUMBER\x01"


@dataclass
class _Rows:
    patients: list[tuple[Any, ...]]
    studies: list[tuple[Any, ...]]
    series: list[tuple[Any, ...]]
    instances: list[tuple[Any, ...]]


class _Generator:
    """Rows of the plan's studies, chunk by chunk, reproducibly from the seed."""

    def __init__(self, plan: Plan, templates: dict[str, _Template]) -> None:
        self.plan = plan
        self.templates = templates
        rng = random.Random(plan.seed)
        n_patients = max(1, math.ceil(plan.studies / STUDIES_PER_PATIENT))
        self.patient_of = [rng.randrange(n_patients) for _ in range(plan.studies)]
        self.studies_of = Counter(self.patient_of)
        self.patient_pk: dict[int, int] = {}  # patient number -> pk, once inserted
        self.patient_rows: dict[int, tuple[str, str, str]] = {}  # name, birth date, sex
        self.rng = rng
        self.now = int(time.time())

    def _patient(self, p: int) -> tuple[str, str, str]:
        found = self.patient_rows.get(p)
        if found is None:
            r = random.Random(self.plan.seed * 1_000_003 + p)  # a patient is the same anywhere
            name = f"{r.choice(FAMILY)}^{r.choice(GIVEN)}"
            birth = datetime.date.fromordinal(
                r.randint(
                    datetime.date(1930, 1, 1).toordinal(), datetime.date(2020, 12, 31).toordinal()
                )
            ).strftime("%Y%m%d")
            found = self.patient_rows[p] = (name, birth, r.choice("MF"))
        return found

    def chunk(self, first: int, last: int, pks: dict[str, int]) -> _Rows:
        """Rows of studies ``first..last-1``; new primary keys follow ``pks`` (table -> max)."""
        plan, rng, seed = self.plan, self.rng, self.plan.seed
        rows = _Rows([], [], [], [])
        next_patient, next_study = pks["patients"] + 1, pks["studies"] + 1
        next_series, next_instance = pks["series"] + 1, pks["instances"] + 1
        n_series, n_inst = plan.series_per_study, plan.instances_per_series
        for s in range(first, last):
            p = self.patient_of[s]
            name, birth, sex = self._patient(p)
            ppk = self.patient_pk.get(p)
            if ppk is None:
                ppk = self.patient_pk[p] = next_patient
                next_patient += 1
                pid = patient_id(seed, p)
                rows.patients.append(
                    _ordered(
                        _PATIENT_COLS,
                        pk=ppk,
                        patient_id=pid,
                        patient_name=name,
                        patient_name_ci=_pn_key(name),
                        patient_birth_date=birth,
                        patient_sex=sex,
                        num_studies=self.studies_of[p],
                    )
                )
            desc, mods, body_part, series_descs = rng.choice(STUDY_TYPES)
            date = datetime.date.fromordinal(rng.randint(FIRST_DAY, LAST_DAY)).strftime("%Y%m%d")
            tm = f"{rng.randint(7, 19):02d}{rng.randint(0, 59):02d}{rng.randint(0, 59):02d}"
            physician = rng.choice(PHYSICIANS)
            suid = study_uid(seed, s)
            accession = f"{seed % 1000:03d}{s + 1:09d}"
            series_mods = [mods[r % len(mods)] for r in range(n_series)]
            study_pk = next_study
            next_study += 1
            study = {
                "pk": study_pk,
                "study_uid": suid,
                "patient_fk": ppk,
                "patient_id": patient_id(seed, p),
                "patient_name": name,
                "patient_name_ci": _pn_key(name),
                "patient_name_words": _name_words(name),
                "patient_birth_date": birth,
                "patient_sex": sex,
                "study_date": date,
                "study_time": tm,
                "accession_number": accession,
                "referring_physician_name": physician,
                "referring_physician_name_ci": _pn_key(physician),
                "referring_physician_name_words": _name_words(physician),
                "study_description": desc,
                "study_id": str(s + 1),
                "specific_character_set": "ISO_IR 192",
                "modalities_in_study": "\\".join(sorted(set(series_mods))),
                "num_series": n_series,
                "num_instances": n_series * n_inst,
            }
            rows.studies.append(_ordered(_STUDY_COLS, **study))
            for r in range(n_series):
                modality = series_mods[r]
                tpl = self.templates[modality]
                ruid = f"{suid}.{r + 1}"
                sdesc = series_descs[r % len(series_descs)]
                series_pk = next_series
                next_series += 1
                srow = {
                    "pk": series_pk,
                    "series_uid": ruid,
                    "study_fk": study_pk,
                    "modality": modality,
                    "series_number": r + 1,
                    "series_description": sdesc,
                    "series_date": date,
                    "series_time": tm,
                    "pps_start_date": "",
                    "pps_start_time": "",
                    "body_part_examined": body_part,
                    "num_instances": n_inst,
                }
                rows.series.append(_ordered(_SERIES_COLS, **srow))
                head, mid, tail = _series_json(tpl.model, study, srow)
                t = tpl.rec
                row = list(  # the instance row of this series; per instance, four values change
                    _ordered(
                        _INSTANCE_COLS,
                        pk=0,
                        sop_uid="",
                        series_fk=series_pk,
                        study_fk=study_pk,
                        sop_class_uid=t.sop_class_uid,
                        instance_number=0,
                        rows=t.rows,
                        columns=t.columns,
                        bits_allocated=t.bits_allocated,
                        bits_stored=t.bits_stored,
                        high_bit=t.high_bit,
                        samples_per_pixel=t.samples_per_pixel,
                        number_of_frames=t.number_of_frames,
                        transfer_syntax_uid=t.transfer_syntax_uid,
                        path=tpl.path,
                        linked=True,
                        file_size=t.file_size,
                        sha256=t.sha256,
                        json="",
                        frames=t.frames,
                        bulk=t.bulk,
                        created=self.now,
                    )
                )
                for i in range(n_inst):
                    sop = f"{ruid}.{i + 1}"
                    row[_AT_PK], row[_AT_SOP], row[_AT_NUMBER] = next_instance, sop, i + 1
                    row[_AT_JSON] = f"{head}{sop}{mid}{i + 1}{tail}"
                    rows.instances.append(tuple(row))
                    next_instance += 1
        return rows


def _ordered(names: tuple[str, ...], /, **values: Any) -> tuple[Any, ...]:
    return tuple(values[c] for c in names)


def _text(vr: str, value: str) -> dict[str, Any]:
    if not value:
        return {"vr": vr}
    if vr == "PN":
        return {"vr": vr, "Value": [{"Alphabetic": value}]}
    return {"vr": vr, "Value": [value]}


def _series_json(
    model: dict[str, Any], study: dict[str, Any], srow: dict[str, Any]
) -> tuple[str, str, str]:
    """The JSON text of an instance of this series, cut where its SOP UID and number go."""
    m = dict(model)
    m.update(
        {
            "00080018": {"vr": "UI", "Value": [_SOP_MARK]},
            "00080020": _text("DA", study["study_date"]),
            "00080021": _text("DA", srow["series_date"]),
            "00080030": _text("TM", study["study_time"]),
            "00080031": _text("TM", srow["series_time"]),
            "00080050": _text("SH", study["accession_number"]),
            "00080060": _text("CS", srow["modality"]),
            "00080090": _text("PN", study["referring_physician_name"]),
            "00081030": _text("LO", study["study_description"]),
            "0008103E": _text("LO", srow["series_description"]),
            "00100010": _text("PN", study["patient_name"]),
            "00100020": _text("LO", study["patient_id"]),
            "00100030": _text("DA", study["patient_birth_date"]),
            "00100040": _text("CS", study["patient_sex"]),
            "00180015": _text("CS", srow["body_part_examined"]),
            "0020000D": _text("UI", study["study_uid"]),
            "0020000E": _text("UI", srow["series_uid"]),
            "00200010": _text("SH", study["study_id"]),
            "00200011": {"vr": "IS", "Value": [srow["series_number"]]},
            "00200013": {"vr": "IS", "Value": [_NUMBER_MARK]},
        }
    )
    text = dumps(dict(sorted(m.items())))
    head, _, rest = text.partition(dumps(_SOP_MARK)[1:-1])
    mid, _, tail = rest.partition(f'"{dumps(_NUMBER_MARK)[1:-1]}"')
    return head, mid, tail


# -- writing ---------------------------------------------------------------------------------
_TABLES: tuple[tuple[str, Table, tuple[str, ...]], ...] = (
    ("patients", patients, _PATIENT_COLS),
    ("studies", studies, _STUDY_COLS),
    ("series", series, _SERIES_COLS),
    ("instances", instances, _INSTANCE_COLS),
)


def _max_pks(conn: Connection) -> dict[str, int]:
    return {
        name: conn.execute(select(func.coalesce(func.max(t.c.pk), 0))).scalar_one()
        for name, t, _ in _TABLES
    }


def _write_sqlite(conn: Connection, table: Table, cols: tuple[str, ...], rows: list[tuple]) -> None:
    stmt = insert(table).values({c: bindparam(c) for c in cols})
    compiled = stmt.compile(dialect=conn.dialect)
    assert tuple(compiled.positiontup or ()) == cols, "positional parameters out of order"
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(str(compiled), rows)
    finally:
        cursor.close()


def _write_postgresql(
    conn: Connection, table: Table, cols: tuple[str, ...], rows: list[tuple]
) -> None:
    from psycopg import sql

    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, cols))
    )
    cursor = conn.connection.dbapi_connection.cursor()
    # Commits that wait for their WAL, here and in the VACUUM after the load: with
    # synchronous_commit=off, that VACUUM left every page of the studies out of the
    # visibility map (hint bits wait for the flush), so index-only scans read the heap
    # anyway until a later VACUUM. Measured on 30,000 studies; with it on, no heap fetch.
    cursor.execute("SET LOCAL synchronous_commit TO on")
    with cursor.copy(copy) as out:
        for row in rows:
            out.write_row(row)


def _finish_postgresql(index: Index) -> None:
    """Sequences past the explicit keys, then statistics and the visibility map
    (index-only scans) for the planner."""
    with index.write() as conn:
        for _, table, _ in _TABLES:
            conn.execute(
                select(
                    func.setval(
                        func.pg_get_serial_sequence(table.name, "pk"),
                        select(func.coalesce(func.max(table.c.pk), 0) + 1).scalar_subquery(),
                        False,
                    )
                )
            )
    with index.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET synchronous_commit TO on")  # see ``_write_postgresql``
        for _, table, _ in reversed(_TABLES):  # studies last: the table QIDO pages through
            conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")


class AlreadySynthesized(ValueError):
    """The index already holds the studies of this seed."""


def synthesize(
    db: DicomDatabase,
    plan: Plan,
    progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Add the plan's studies to ``db``'s index; returns what was written.

    Raises ``AlreadySynthesized`` when the first study of this seed is already indexed.
    """
    index = db.index
    postgres = index.engine.dialect.name == "postgresql"
    if index.engine.dialect.name not in ("sqlite", "postgresql"):
        raise ValueError(
            f"bulk load supports SQLite and PostgreSQL, not {index.engine.dialect.name}"
        )
    with index.read() as conn:
        taken = conn.execute(
            select(studies.c.pk).where(studies.c.study_uid == study_uid(plan.seed, 0))
        ).first()
    if taken is not None:
        raise AlreadySynthesized(
            f"the index already holds the synthetic studies of seed {plan.seed}; "
            "choose another --seed"
        )
    modalities = sorted({m for _, mods, _, _ in STUDY_TYPES for m in mods})
    templates = write_templates(db.root / "synthetic", modalities)
    gen = _Generator(plan, templates)
    write = _write_postgresql if postgres else _write_sqlite
    done = Progress()
    t0 = time.perf_counter()
    for first in range(0, plan.studies, plan.chunk_studies):
        last = min(plan.studies, first + plan.chunk_studies)
        with index.write() as conn:
            rows = gen.chunk(first, last, _max_pks(conn))
            for name, table, cols in _TABLES:
                write(conn, table, cols, getattr(rows, name))
        done.patients += len(rows.patients)
        done.studies += len(rows.studies)
        done.series += len(rows.series)
        done.instances += len(rows.instances)
        done.seconds = time.perf_counter() - t0
        if progress is not None:
            progress(done)
    if postgres:
        _finish_postgresql(index)
    done.seconds = time.perf_counter() - t0
    return done


def iter_study_uids(plan: Plan) -> Iterator[str]:
    """StudyInstanceUIDs the plan makes, in order."""
    return (study_uid(plan.seed, s) for s in range(plan.studies))
