"""``DicomDatabase``: one object holding the store and the index, the API the HTTP layer uses.

It answers QIDO-RS (``search_*``), WADO-RS (``instances``, ``metadata*``, ``frame_ranges``,
``bulk_ranges``, ``read_ranges``), WADO-URI (``instance_file``), STOW-RS (``ingest_bytes``) and
DELETE (``delete``) without HTTP types: it takes plain strings and returns plain data. Reads
come from the index (one query each); only frame/bulk bytes and whole files touch the disk.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from voxweb.dicom import query as _query
from voxweb.dicom.changes import ChangeStamp
from voxweb.dicom.check import CheckReport
from voxweb.dicom.check import check as _check
from voxweb.dicom.errors import NotFoundError
from voxweb.dicom.index import HotReads, Index, StoredInstance, absolutize_bulkdata, loads_frames
from voxweb.dicom.ingest import (
    DuplicatePolicy,
    ImportReport,
    Ingester,
    IngestResult,
    IngestSettings,
)
from voxweb.dicom.jsontext import dumps_bytes
from voxweb.dicom.parse import BULK_THRESHOLD
from voxweb.dicom.store import Store
from voxweb.dicom.workers import IN_PROCESS_ABOVE, IngestWorkers


@dataclass(frozen=True)
class ByteRanges:
    """Where bytes live in a file: read each ``(offset, length)`` range and concatenate.

    ``transfer_syntax_uid`` says how the bytes are encoded (native little/big endian or the
    compressed syntax of an encapsulated frame).
    """

    path: Path
    ranges: list[tuple[int, int]]
    transfer_syntax_uid: str

    @property
    def length(self) -> int:
        return sum(n for _, n in self.ranges)


_CACHE_ENTRIES = 256  # QIDO answers kept
_CACHE_MAX_ENTRY = 4 << 20  # larger answers are not cached


def index_location(data_dir: str | os.PathLike[str], index_url: str | None = None) -> str:
    """The index a database in ``data_dir`` uses: ``index_url``, else its SQLite file."""
    return str(index_url or (Path(data_dir) / "dicom" / "index.sqlite"))


@lru_cache(maxsize=4096)
def _frame_table(frames_json: str | None) -> list[list[tuple[int, int]]] | None:
    return loads_frames(frames_json)


class DicomDatabase:
    """A DICOM database under ``<data_dir>/dicom`` (store + SQL index).

    ``index_url`` and ``store_root`` put the index (e.g. PostgreSQL) and the instance files
    (e.g. a shared mount) elsewhere: several processes and hosts then serve one database.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        index_url: str | None = None,
        store_root: str | os.PathLike[str] | None = None,
        fsync: bool = True,
        duplicate_policy: DuplicatePolicy = "refuse",
        bulk_threshold: int = BULK_THRESHOLD,
        ingest_processes: int = 0,
    ) -> None:
        """``ingest_processes``: worker processes for ``ingest_many`` (0: in this process)."""
        self.root = Path(data_dir) / "dicom"
        settings = IngestSettings(
            store_root=str(store_root or (self.root / "store")),
            index_url=index_location(data_dir, index_url),
            fsync=fsync,
            duplicate_policy=duplicate_policy,
            bulk_threshold=bulk_threshold,
        )
        self.store = Store(settings.store_root, fsync=fsync)
        self.index = Index(settings.index_url)
        self.ingester = Ingester(self.store, self.index, settings)
        self.duplicate_policy = duplicate_policy
        self.bulk_threshold = bulk_threshold
        self._hot = HotReads(self.index)
        self._changes = ChangeStamp(self.index, self._hot)
        self._cache_lock = threading.Lock()
        self._qido_cache: OrderedDict[tuple[Any, ...], tuple[Any, bytes]] = OrderedDict()
        self.workers = IngestWorkers(settings, ingest_processes) if ingest_processes > 0 else None

    def close(self) -> None:
        """Release database connections."""
        self._changes.close()
        self._hot.close()
        with self._cache_lock:
            self._qido_cache.clear()
        if self.workers is not None:
            self.workers.close()
        self.index.close()

    def ready(self) -> str | None:
        """None when the index answers and the storage is reachable; else what is wrong."""
        try:
            with self.index.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            return f"the index does not answer ({type(exc).__name__}: {exc})"
        if not self.store.reachable():
            return f"the storage {self.store.root} is not reachable"
        return None

    # -- ingest --------------------------------------------------------------------------
    def ingest_bytes(self, data: bytes, **kwargs: Any) -> IngestResult:
        """STOW-RS part / any bytes: see ``voxweb.dicom.ingest.ingest_bytes``."""
        return self.ingester.ingest_bytes(data, **kwargs)

    def ingest_many(self, datas: Iterable[bytes | memoryview], **kwargs: Any) -> list[IngestResult]:
        """Several instances, one sync, one transaction: ``voxweb.dicom.ingest.ingest_many``.

        Runs in a worker process when the database has them (see ``voxweb.dicom.workers``),
        which reads views (e.g. the parts of a STOW body) without copying them first.
        """
        datas = list(datas)
        if self.workers is not None and sum(map(len, datas)) <= IN_PROCESS_ABOVE:
            results = self.workers.ingest_many(datas, **kwargs)
            if results is not None:
                return results
        return self.ingester.ingest_many([bytes(d) for d in datas], **kwargs)

    def ingest_file(
        self, path: str | os.PathLike[str], *, link: bool = False, **kwargs: Any
    ) -> IngestResult:
        """One file, copied or linked: see ``voxweb.dicom.ingest.ingest_file``."""
        return self.ingester.ingest_file(path, link=link, **kwargs)

    def import_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        link: bool = False,
        progress: Callable[[int, IngestResult], None] | None = None,
        **kwargs: Any,
    ) -> ImportReport:
        """Files, folders, zips, DICOMDIRs: see ``voxweb.dicom.ingest.import_paths``."""
        return self.ingester.import_paths(paths, link=link, progress=progress, **kwargs)

    def check(self, *, repair: bool = False, min_age_s: float = 60.0) -> CheckReport:
        """Index vs storage consistency: see ``voxweb.dicom.check.check``."""
        return _check(self.ingester, repair=repair, min_age_s=min_age_s)

    def delete(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> int:
        """Delete a study / series / instance (index rows, then managed files); returns count."""
        removed = self.index.delete(study_uid, series_uid, sop_uid)
        for path, linked in removed:
            if not linked:
                self.store.remove(path)
        return len(removed)

    # -- QIDO-RS -------------------------------------------------------------------------
    def search_studies(self, params: Any = (), **kwargs: Any) -> list[dict[str, Any]]:
        """QIDO-RS ``/studies``: see ``voxweb.dicom.query.search``."""
        return _query.search(self.index, "study", params, **kwargs)

    def search_series(
        self, params: Any = (), *, study_uid: str | None = None, **kwargs: Any
    ) -> list[dict[str, Any]]:
        """QIDO-RS ``/series`` and ``/studies/{S}/series``."""
        return _query.search(self.index, "series", params, study_uid=study_uid, **kwargs)

    def search_instances(
        self,
        params: Any = (),
        *,
        study_uid: str | None = None,
        series_uid: str | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """QIDO-RS ``/instances``, ``/studies/{S}/instances``, ``/studies/{S}/series/{R}/instances``."""
        return _query.search(
            self.index, "instance", params, study_uid=study_uid, series_uid=series_uid, **kwargs
        )

    def search_json(
        self,
        level: str,
        params: Iterable[tuple[str, str]] = (),
        *,
        study_uid: str | None = None,
        series_uid: str | None = None,
        base_url: str | None = None,
    ) -> bytes:
        """A QIDO-RS answer as JSON bytes, cached until the index changes.

        The cache key is the exact request (level, parameters in order, path UIDs, base URL);
        an entry is valid while the index's change stamp (``voxweb.dicom.changes``) is
        unchanged, i.e. until any connection of any process or host commits a write.
        """
        pairs = tuple(params)
        key = (level, pairs, study_uid, series_uid, base_url)
        version = self._changes.current()
        if version is not None:
            with self._cache_lock:
                hit = self._qido_cache.get(key)
                if hit is not None and hit[0] == version:
                    self._qido_cache.move_to_end(key)
                    return hit[1]
        kwargs: dict[str, Any] = {"base_url": base_url}
        if level in ("series", "instance"):
            kwargs["study_uid"] = study_uid
        if level == "instance":
            kwargs["series_uid"] = series_uid
        items = _query.search(self.index, level, pairs, **kwargs)
        body = dumps_bytes(items)
        if version is not None and len(body) <= _CACHE_MAX_ENTRY:
            with self._cache_lock:
                self._qido_cache[key] = (version, body)
                self._qido_cache.move_to_end(key)
                while len(self._qido_cache) > _CACHE_ENTRIES:
                    self._qido_cache.popitem(last=False)
        return body

    # -- WADO-RS -------------------------------------------------------------------------
    def metadata_json_text(
        self,
        study_uid: str,
        series_uid: str | None = None,
        sop_uid: str | None = None,
        *,
        base_url: str | None = None,
    ) -> str:
        """The metadata response body (a JSON array) built by string joins, no parsing.

        With ``base_url`` (e.g. ``http://host/dicom``) BulkDataURIs become absolute URLs;
        without it they stay relative to each instance URL (``bulkdata/7FE00010``).
        """
        rows = self.index.metadata_json(study_uid, series_uid, sop_uid)
        if base_url is None:
            return "[" + ",".join(r[3] for r in rows) + "]"
        base = base_url.rstrip("/")
        return (
            "["
            + ",".join(
                absolutize_bulkdata(js, f"{base}/studies/{s}/series/{r}/instances/{i}")
                for s, r, i, js in rows
            )
            + "]"
        )

    def metadata(
        self,
        study_uid: str,
        series_uid: str | None = None,
        sop_uid: str | None = None,
        *,
        base_url: str | None = None,
    ) -> list[dict[str, Any]]:
        """Parsed metadata items (see ``metadata_json_text``)."""
        return json.loads(
            self.metadata_json_text(study_uid, series_uid, sop_uid, base_url=base_url)
        )

    def instances(
        self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None
    ) -> list[StoredInstance]:
        """Stored instances for WADO-RS retrieve (``path`` via ``instance_path``); 404 if none."""
        found = self.index.find_instances(study_uid, series_uid, sop_uid)
        if not found:
            raise NotFoundError(
                f"{'instance' if sop_uid else 'series' if series_uid else 'study'} not found"
            )
        return found

    def instance_path(self, inst: StoredInstance) -> Path:
        """Absolute path of a stored instance's Part-10 file."""
        return self.store.resolve(inst.path)

    def instance_file(
        self, sop_uid: str, study_uid: str | None = None, series_uid: str | None = None
    ) -> tuple[Path, StoredInstance]:
        """WADO-URI: the Part-10 file of an instance (study/series UIDs checked when given)."""
        inst = self.index.get_instance(sop_uid)
        if (
            inst is None
            or (study_uid and inst.study_uid != study_uid)
            or (series_uid and inst.series_uid != series_uid)
        ):
            raise NotFoundError(f"instance {sop_uid} not found")
        return self.store.resolve(inst.path), inst

    def locator(self, study_uid: str, series_uid: str, sop_uid: str) -> dict[str, Any]:
        """Path, transfer syntax, frame and bulk tables of one instance: the frames hot path.

        One prepared SQL statement on a pooled connection (no statement building), about ten
        times cheaper than ``Index.locator_row``. ``NotFoundError`` when unknown.
        """
        row = self._hot.locator(study_uid, series_uid, sop_uid)
        if row is None:
            raise NotFoundError(f"instance {sop_uid} not found in series {series_uid}")
        return row

    def frame_ranges(
        self,
        study_uid: str | None,
        series_uid: str | None,
        sop_uid: str,
        frames: Iterable[int],
        *,
        row: dict[str, Any] | None = None,
    ) -> list[ByteRanges] | None:
        """Byte ranges of 1-based ``frames`` (native or encapsulated, as stored).

        Returns None when the frames cannot be located by offset (deflated files, odd layouts):
        use ``decode_frames`` then. Raises ``NotFoundError`` for unknown instances or frames.
        ``row`` is a ``locator`` answer already fetched by the caller.
        """
        if row is None:
            row = self.index.locator_row(study_uid, series_uid, sop_uid)
        table = _frame_table(row["frames"])
        if table is None:
            if row["rows"] is None and '"7FE00010"' not in (row["bulk"] or ""):
                raise NotFoundError(f"instance {sop_uid} has no pixel data")
            return None
        path = self.store.resolve(row["path"])
        out = []
        for n in frames:
            if not 1 <= n <= len(table):
                raise NotFoundError(f"instance {sop_uid} has {len(table)} frame(s), not frame {n}")
            out.append(ByteRanges(path, table[n - 1], row["transfer_syntax_uid"]))
        return out

    def bulk_ranges(
        self, study_uid: str | None, series_uid: str | None, sop_uid: str, tag_path: str
    ) -> ByteRanges | None:
        """Byte range of a bulk value (``tag_path`` as in the BulkDataURI, e.g. ``7FE00010``).

        For encapsulated PixelData the range covers the whole item sequence as stored
        (use ``frame_ranges`` for frames). None when not locatable (deflated files).
        """
        row = self.index.locator_row(study_uid, series_uid, sop_uid)
        bulk = json.loads(row["bulk"] or "{}")
        key = tag_path.strip("/").upper()
        if key not in bulk:
            if row["transfer_syntax_uid"] == "1.2.840.10008.1.2.1.99":
                return None
            raise NotFoundError(f"instance {sop_uid} has no bulk data {tag_path}")
        off, length = bulk[key]
        return ByteRanges(
            self.store.resolve(row["path"]), [(off, length)], row["transfer_syntax_uid"]
        )

    @staticmethod
    def read_ranges(loc: ByteRanges) -> bytes:
        """Read the bytes of ``loc`` (one seek + read per range)."""
        buf = io.BytesIO()
        with open(loc.path, "rb") as f:
            for off, length in loc.ranges:
                f.seek(off)
                buf.write(f.read(length))
        return buf.getvalue()

    def decode_frames(self, sop_uid: str, frames: Iterable[int]) -> list[bytes]:
        """Fallback: native frame bytes decoded with pydicom (slow path, needs codecs)."""
        import pydicom
        from pydicom.pixels import pixel_array

        path, _inst = self.instance_file(sop_uid)
        ds = pydicom.dcmread(path)
        n = int(ds.get("NumberOfFrames", 1) or 1)
        out = []
        for i in frames:
            if not 1 <= i <= n:
                raise NotFoundError(f"instance {sop_uid} has {n} frame(s), not frame {i}")
            arr = pixel_array(ds, index=i - 1)
            out.append(arr.tobytes())
        return out


__all__ = ["ByteRanges", "DicomDatabase", "index_location"]
