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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxweb.dicom import ingest as _ingest
from voxweb.dicom import query as _query
from voxweb.dicom.errors import NotFoundError
from voxweb.dicom.index import Index, StoredInstance, absolutize_bulkdata, loads_frames
from voxweb.dicom.parse import BULK_THRESHOLD
from voxweb.dicom.store import Store


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


class DicomDatabase:
    """A DICOM database under ``<data_dir>/dicom`` (store + SQL index)."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        index_url: str | None = None,
        fsync: bool = True,
        duplicate_policy: _ingest.DuplicatePolicy = "refuse",
        bulk_threshold: int = BULK_THRESHOLD,
    ) -> None:
        self.root = Path(data_dir) / "dicom"
        self.store = Store(self.root / "store", fsync=fsync)
        self.index = Index(index_url or (self.root / "index.sqlite"))
        self.duplicate_policy = duplicate_policy
        self.bulk_threshold = bulk_threshold

    def close(self) -> None:
        """Release database connections."""
        self.index.close()

    # -- ingest --------------------------------------------------------------------------
    def ingest_bytes(self, data: bytes, **kwargs: Any) -> _ingest.IngestResult:
        """STOW-RS part / any bytes: see ``voxweb.dicom.ingest.ingest_bytes``."""
        return _ingest.ingest_bytes(self, data, **kwargs)

    def ingest_file(
        self, path: str | os.PathLike[str], *, link: bool = False, **kwargs: Any
    ) -> _ingest.IngestResult:
        """One file, copied or linked: see ``voxweb.dicom.ingest.ingest_file``."""
        return _ingest.ingest_file(self, path, link=link, **kwargs)

    def import_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        link: bool = False,
        progress: Callable[[int, _ingest.IngestResult], None] | None = None,
        **kwargs: Any,
    ) -> _ingest.ImportReport:
        """Files, folders, zips, DICOMDIRs: see ``voxweb.dicom.ingest.import_paths``."""
        return _ingest.import_paths(self, paths, link=link, progress=progress, **kwargs)

    def check(self, *, repair: bool = False, min_age_s: float = 60.0) -> _ingest.CheckReport:
        """Index vs storage consistency: see ``voxweb.dicom.ingest.check``."""
        return _ingest.check(self, repair=repair, min_age_s=min_age_s)

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

    def frame_ranges(
        self, study_uid: str | None, series_uid: str | None, sop_uid: str, frames: Iterable[int]
    ) -> list[ByteRanges] | None:
        """Byte ranges of 1-based ``frames`` (native or encapsulated, as stored).

        Returns None when the frames cannot be located by offset (deflated files, odd layouts):
        use ``decode_frames`` then. Raises ``NotFoundError`` for unknown instances or frames.
        """
        row = self.index.locator_row(study_uid, series_uid, sop_uid)
        table = loads_frames(row["frames"])
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


def open_database(data_dir: str | os.PathLike[str], **kwargs: Any) -> DicomDatabase:
    """Open (creating when needed) the DICOM database of a voxweb data dir."""
    return DicomDatabase(data_dir, **kwargs)


__all__ = ["ByteRanges", "DicomDatabase", "open_database"]
