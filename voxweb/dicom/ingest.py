"""Ingest DICOM instances into the database: bytes, files, folders, zip files, DICOMDIR.

``ingest_bytes`` parses once (``voxweb.dicom.parse``), writes the file atomically into the store
(or references it in place in *link* mode), then indexes it in one write transaction, so several
STOW requests and an import can run at once from threads and processes. Duplicates (same
SOPInstanceUID) with identical bytes are a no-op; different bytes are refused or replace the old
instance, per policy. An ``Ingester`` is built from a ``Store``, an ``Index`` and
``IngestSettings`` (or, in a worker process, from the settings alone with ``Ingester.open``):
it never sees ``DicomDatabase``. The consistency check is in ``voxweb.dicom.check``. No HTTP
here.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import pydicom

from voxweb.dicom.errors import DicomFormatError
from voxweb.dicom.index import AddOutcome, Index
from voxweb.dicom.parse import BULK_THRESHOLD, InstanceRecord, parse_instance
from voxweb.dicom.storage import Storage
from voxweb.dicom.store import Store

log = logging.getLogger(__name__)

DuplicatePolicy = Literal["refuse", "replace"]

# STOW-RS FailureReason codes (PS3.18 / PS3.4) the HTTP layer can put in FailedSOPSequence
FAILURE_PROCESSING = 0xC000  # cannot understand / process the object
FAILURE_DUPLICATE = 0x0111  # same SOPInstanceUID, different content, refused by policy
FAILURE_STUDY_MISMATCH = 0xA900  # does not belong to the study given in the STOW-RS URL
FAILURE_OUT_OF_RESOURCES = 0xA700  # disk full / I/O error


@dataclass
class IngestResult:
    """Outcome of one ingest. ``status``: stored / replaced / duplicate / failed."""

    status: str
    sop_uid: str = ""
    sop_class_uid: str = ""
    study_uid: str = ""
    series_uid: str = ""
    reason: str = ""
    failure_code: int | None = None
    source: str = ""

    @property
    def ok(self) -> bool:
        """True when the instance is in the database after the call."""
        return self.status in ("stored", "replaced", "duplicate")


@dataclass
class ImportReport:
    """Counts of an ``import_paths`` run and the list of ``(source, reason)`` failures."""

    stored: int = 0
    replaced: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.stored + self.replaced + self.duplicates + self.failed


@dataclass(frozen=True)
class IngestSettings:
    """Plain, picklable settings of an ingester: where the store and the index are, whether
    files are fsynced, and the limits. A worker process builds its own ingester from them."""

    store_root: str
    # an SQLAlchemy URL or the path of an SQLite file; not in repr: it may hold a password
    index_url: str = field(repr=False)
    fsync: bool = True
    duplicate_policy: DuplicatePolicy = "refuse"
    bulk_threshold: int = BULK_THRESHOLD


class Ingester:
    """Parses instances, writes their files into ``store`` and indexes them in ``index``."""

    def __init__(self, store: Storage, index: Index, settings: IngestSettings) -> None:
        self.store = store
        self.index = index
        self.settings = settings
        self.duplicate_policy: DuplicatePolicy = settings.duplicate_policy
        self.bulk_threshold = settings.bulk_threshold

    @classmethod
    def open(cls, settings: IngestSettings) -> Ingester:
        """An ingester with its own store and index connections (``close`` releases them)."""
        return cls(
            Store(settings.store_root, fsync=settings.fsync), Index(settings.index_url), settings
        )

    def close(self) -> None:
        """Release the index's connections."""
        self.index.close()

    def ingest_bytes(self, data: bytes, **kwargs: Any) -> IngestResult:
        """See the module function ``ingest_bytes``."""
        return ingest_bytes(self, data, **kwargs)

    def ingest_many(self, datas: Iterable[bytes], **kwargs: Any) -> list[IngestResult]:
        """See the module function ``ingest_many``."""
        return ingest_many(self, datas, **kwargs)

    def ingest_file(
        self, path: str | os.PathLike[str], *, link: bool = False, **kwargs: Any
    ) -> IngestResult:
        """See the module function ``ingest_file``."""
        return ingest_file(self, path, link=link, **kwargs)

    def import_paths(self, paths: Iterable[str | os.PathLike[str]], **kwargs: Any) -> ImportReport:
        """See the module function ``import_paths``."""
        return import_paths(self, paths, **kwargs)


def ingest_bytes(
    ing: Ingester,
    data: bytes,
    *,
    policy: DuplicatePolicy | None = None,
    expected_study_uid: str | None = None,
    link_path: str | os.PathLike[str] | None = None,
    source: str = "",
) -> IngestResult:
    """Store and index one DICOM instance given as bytes (Part 10, or a raw dataset).

    ``link_path``: reference that existing file instead of copying (its bytes are ``data``).
    ``expected_study_uid``: STOW-RS ``POST /studies/{S}``; other studies fail (0xA900).
    Never raises for bad input: the result says ``failed`` with a reason.
    """
    parsed = parse_part(data, ing.bulk_threshold, expected_study_uid, source)
    return store_parsed(ing, [parsed], policy=policy, link_paths=[link_path], sources=[source])[0]


def ingest_many(
    ing: Ingester,
    datas: Iterable[bytes],
    *,
    policy: DuplicatePolicy | None = None,
    expected_study_uid: str | None = None,
    source: str = "",
) -> list[IngestResult]:
    """Ingest several instances (a STOW-RS request): one file-system sync, one transaction."""
    parsed = [parse_part(d, ing.bulk_threshold, expected_study_uid, source) for d in datas]
    return store_parsed(ing, parsed, policy=policy, sources=[source] * len(parsed))


def parse_part(
    data: bytes, bulk_threshold: int, expected_study_uid: str | None, source: str
) -> InstanceRecord | IngestResult:
    """Parse and check one instance: its record, or a ``failed`` result saying why.

    Pure (no database, no I/O), so it can run in a worker process.
    """
    try:
        rec = parse_instance(data, bulk_threshold=bulk_threshold)
    except DicomFormatError as exc:
        return IngestResult(
            "failed", reason=str(exc), failure_code=FAILURE_PROCESSING, source=source, **exc.uids
        )
    except Exception as exc:  # pydicom raises many kinds on broken input; none may escape
        return IngestResult(
            "failed",
            reason=f"unreadable DICOM data ({type(exc).__name__}: {exc})",
            failure_code=FAILURE_PROCESSING,
            source=source,
        )
    if expected_study_uid is not None and rec.study_uid != expected_study_uid:
        return IngestResult(
            "failed",
            sop_uid=rec.sop_uid,
            sop_class_uid=rec.sop_class_uid,
            study_uid=rec.study_uid,
            series_uid=rec.series_uid,
            reason=f"StudyInstanceUID {rec.study_uid} differs from the study {expected_study_uid} of the request",
            failure_code=FAILURE_STUDY_MISMATCH,
            source=source,
        )
    return rec


@dataclass
class _Prepared:
    """An instance parsed, checked and written, waiting for its index row."""

    result: IngestResult
    rec: InstanceRecord
    path: str
    linked: bool
    wrote: bool


def store_parsed(
    ing: Ingester,
    parsed: Sequence[InstanceRecord | IngestResult],
    *,
    policy: DuplicatePolicy | None = None,
    link_paths: Sequence[str | os.PathLike[str] | None] | None = None,
    sources: Sequence[str] | None = None,
) -> list[IngestResult]:
    """Write the files of parsed instances, make them durable, then index them all at once.

    A file is durable before its row is committed: one fsync (a single file) or one
    ``syncfs`` (several) for the batch, then one index transaction for every row.
    """
    policy = policy or ing.duplicate_policy
    cut = _repeat_index(parsed)
    if cut is not None:  # the same instance twice: the second must see what the first did
        head = store_parsed(
            ing,
            parsed[:cut],
            policy=policy,
            link_paths=link_paths[:cut] if link_paths else None,
            sources=sources[:cut] if sources else None,
        )
        return head + store_parsed(
            ing,
            parsed[cut:],
            policy=policy,
            link_paths=link_paths[cut:] if link_paths else None,
            sources=sources[cut:] if sources else None,
        )
    recs = [p for p in parsed if isinstance(p, InstanceRecord)]
    existing = ing.index.stored_versions([r.sop_uid for r in recs]) if recs else {}
    sync_each = len(recs) < 2
    steps: list[_Prepared | IngestResult] = []
    stale: list[int] = []  # rows whose file vanished: re-pointed at the file written now
    for i, item in enumerate(parsed):
        if isinstance(item, IngestResult):
            steps.append(item)
            continue
        link = link_paths[i] if link_paths else None
        source = sources[i] if sources else ""
        prev = existing.get(item.sop_uid)
        step = _prepare(ing, item, prev, policy, link, source, sync_each)
        if isinstance(step, _Prepared) and prev is not None and prev.sha256 == item.sha256:
            stale.append(prev.pk)  # same content indexed, its file gone: written again now
        steps.append(step)
    prepared = [p for p in steps if isinstance(p, _Prepared)]
    written = [p.path for p in prepared if p.wrote]
    if written and not sync_each:
        ing.store.sync_all(written)
    if stale:
        ing.index.delete_by_pks(stale)
    try:
        outcomes = ing.index.add_many(
            [(p.rec, p.path, p.linked) for p in prepared], replace=(policy == "replace")
        )
    except Exception:
        # The files stay: their paths are content keys, so another process or host storing
        # the same instance right now may be about to index this very file. `voxweb dicom
        # check --repair` takes up files no row refers to once they are old enough.
        log.warning("index insert failed; %d written file(s) left for `dicom check`", len(written))
        raise
    for prep, outcome in zip(prepared, outcomes, strict=True):
        _settle(ing, prep, outcome)
    return [p.result if isinstance(p, _Prepared) else p for p in steps]


def _repeat_index(parsed: Sequence[InstanceRecord | IngestResult]) -> int | None:
    """Index of the first record whose SOPInstanceUID came earlier in ``parsed``, or None."""
    seen: set[str] = set()
    for i, item in enumerate(parsed):
        if isinstance(item, InstanceRecord):
            if item.sop_uid in seen:
                return i
            seen.add(item.sop_uid)
    return None


def _prepare(
    ing: Ingester,
    rec: InstanceRecord,
    existing: Any,
    policy: DuplicatePolicy,
    link_path: str | os.PathLike[str] | None,
    source: str,
    sync: bool,
) -> _Prepared | IngestResult:
    """Check an instance against the index and write its file (fsynced only when ``sync``)."""
    result = IngestResult(
        "stored",
        sop_uid=rec.sop_uid,
        sop_class_uid=rec.sop_class_uid,
        study_uid=rec.study_uid,
        series_uid=rec.series_uid,
        source=source,
    )
    if existing is not None:
        if existing.sha256 == rec.sha256:
            if ing.store.exists(existing.path):
                result.status = "duplicate"
                return result
            if link_path is None and existing.path == ing.store.content_key(
                rec.study_uid, rec.series_uid, rec.sop_uid, rec.sha256
            ):
                # its file vanished: write it again where the row points, leaving the row
                # alone (a shared folder may just not show another host's new file yet)
                return _rewrite(ing, result, existing.path, rec.data)
        elif policy != "replace":
            result.status, result.failure_code = "failed", FAILURE_DUPLICATE
            result.reason = (
                f"an instance with SOPInstanceUID {rec.sop_uid} and different content exists"
            )
            return result

    data = rec.data  # a raw dataset was wrapped into Part 10 by the parser
    if link_path is not None:
        return _Prepared(result, rec, str(Path(link_path).resolve()), True, False)
    path = ing.store.content_key(rec.study_uid, rec.series_uid, rec.sop_uid, rec.sha256)
    if existing is not None and ing.store.has_file(path, len(data)):
        return _Prepared(result, rec, path, False, False)  # the file of a stale row is back
    if not _write_file(ing, result, path, data, sync):
        return result
    return _Prepared(result, rec, path, False, True)


def _write_file(ing: Ingester, result: IngestResult, path: str, data: bytes, sync: bool) -> bool:
    """Store the instance file; on failure ``result`` says why (out of resources)."""
    try:
        ing.store.write(path, data, sync=sync)
    except OSError as exc:
        result.status, result.failure_code = "failed", FAILURE_OUT_OF_RESOURCES
        result.reason = f"cannot write the instance file: {exc}"
        return False
    return True


def _rewrite(ing: Ingester, result: IngestResult, path: str, data: bytes) -> IngestResult:
    """Write the file of an indexed instance again (same key, same bytes), durably."""
    _write_file(ing, result, path, data, sync=True)
    return result


def _settle(ing: Ingester, prep: _Prepared, outcome: AddOutcome) -> None:
    """Turn the index outcome into the result, removing files nothing refers to."""
    result, path = prep.result, prep.path
    if outcome.status == "duplicate":
        result.status = "duplicate"
        if prep.wrote:
            current = ing.index.get_instance(result.sop_uid)
            if current is not None and current.path != path:
                ing.store.remove(path)
    elif outcome.status == "conflict":
        if prep.wrote:
            ing.store.remove(path)
        result.status, result.failure_code = "failed", FAILURE_DUPLICATE
        result.reason = (
            f"an instance with SOPInstanceUID {result.sop_uid} and different content exists"
        )
    elif outcome.status == "replaced":
        result.status = "replaced"
        if outcome.old_path and outcome.old_path != path and not outcome.old_linked:
            ing.store.remove(outcome.old_path)


def ingest_file(
    ing: Ingester,
    path: str | os.PathLike[str],
    *,
    link: bool = False,
    policy: DuplicatePolicy | None = None,
) -> IngestResult:
    """Ingest one file; ``link=True`` references it in place instead of copying it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return IngestResult(
            "failed",
            reason=f"cannot read file: {exc}",
            failure_code=FAILURE_PROCESSING,
            source=str(path),
        )
    if link and not (len(data) >= 132 and data[128:132] == b"DICM"):
        link = False  # a raw dataset is converted to Part 10, so it must be copied
    return ingest_bytes(
        ing, data, policy=policy, link_path=path if link else None, source=str(path)
    )


def _iter_sources(
    paths: Iterable[str | os.PathLike[str]],
) -> Iterator[tuple[str, Path | None, Callable[[], bytes]]]:
    """Yield ``(label, file_path_or_None, read)`` for every candidate file."""
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames.sort()
                for name in sorted(filenames):
                    yield from _iter_file(Path(dirpath, name), in_walk=True)
        elif p.exists():
            yield from _iter_file(p, in_walk=False)
        else:
            yield str(p), None, _raiser(f"no such file or folder: {p}")


def _raiser(msg: str) -> Callable[[], bytes]:
    def read() -> bytes:
        raise OSError(msg)

    return read


def _iter_file(p: Path, *, in_walk: bool) -> Iterator[tuple[str, Path | None, Callable[[], bytes]]]:
    if p.name.upper() == "DICOMDIR":
        if in_walk:
            return  # the folder walk finds the referenced files itself
        yield from _iter_dicomdir(p)
        return
    if p.suffix.lower() == ".zip" and zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as zf:
            for info in zf.infolist():
                if info.is_dir() or PurePosixPath(info.filename).name.upper() == "DICOMDIR":
                    continue
                label = f"{p}!{info.filename}"
                yield label, None, (lambda zf=zf, info=info: zf.read(info))
        return
    yield str(p), p, p.read_bytes


def _iter_dicomdir(p: Path) -> Iterator[tuple[str, Path | None, Callable[[], bytes]]]:
    try:
        dicomdir = pydicom.dcmread(p, force=True)
        records = dicomdir.DirectoryRecordSequence
    except Exception as exc:
        yield str(p), None, _raiser(f"unreadable DICOMDIR: {exc}")
        return
    for item in records:
        ref = item.get("ReferencedFileID")
        if not ref:
            continue
        parts = [ref] if isinstance(ref, str) else list(ref)
        f = p.parent.joinpath(*parts)
        if not f.exists():  # media written in upper case, file system lower case or the reverse
            alt = p.parent.joinpath(*[x.lower() for x in parts])
            f = alt if alt.exists() else f
        yield str(f), f, f.read_bytes


_IMPORT_BATCH = 64  # files per sync and transaction
_IMPORT_BATCH_BYTES = 256 << 20


def import_paths(
    ing: Ingester,
    paths: Iterable[str | os.PathLike[str]],
    *,
    link: bool = False,
    policy: DuplicatePolicy | None = None,
    progress: Callable[[int, IngestResult], None] | None = None,
) -> ImportReport:
    """Import files, folders (recursively), zip files and DICOMDIRs.

    ``link=True`` references plain files in place (zip members are always copied). Files go
    in batches: one file-system sync and one index transaction per batch.
    ``progress(count_done, result)`` is called after each candidate file.
    """
    report = ImportReport()
    batch: list[tuple[str, InstanceRecord | IngestResult, Path | None]] = []
    size = 0
    done = 0

    def flush() -> None:
        nonlocal done, size
        stored = store_parsed(
            ing,
            [item for _, item, _ in batch],
            policy=policy,
            link_paths=[link_path for _, _, link_path in batch],
            sources=[label for label, _, _ in batch],
        )
        for (label, _, _), result in zip(batch, stored, strict=True):
            done += 1
            _count(report, label, result)
            if progress is not None:
                progress(done, result)
        batch.clear()
        size = 0

    for label, file_path, read in _iter_sources(paths):
        try:
            data = read()
        except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
            item: InstanceRecord | IngestResult = IngestResult(
                "failed", reason=str(exc), failure_code=FAILURE_PROCESSING, source=label
            )
            use_link = False
        else:
            use_link = link and file_path is not None and data[128:132] == b"DICM"
            item = parse_part(data, ing.bulk_threshold, None, label)
            size += len(data)
        batch.append((label, item, file_path if use_link else None))
        if len(batch) >= _IMPORT_BATCH or size >= _IMPORT_BATCH_BYTES:
            flush()
    if batch:
        flush()
    return report


def _count(report: ImportReport, label: str, result: IngestResult) -> None:
    if result.status == "stored":
        report.stored += 1
    elif result.status == "replaced":
        report.replaced += 1
    elif result.status == "duplicate":
        report.duplicates += 1
    else:
        report.failed += 1
        report.errors.append((label, result.reason))
