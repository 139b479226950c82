"""The consistency check behind ``voxweb dicom check``: the index against the stored files.

``check`` finds index rows whose file is missing or has another size, files of the store no
row refers to (orphans) and temp files left by an interrupted write; with ``repair=True`` it
fixes them (re-indexing files from their content). It works through an
``Ingester`` (its store and index), never on ``DicomDatabase``; no HTTP here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from voxweb.dicom.errors import DicomFormatError
from voxweb.dicom.ingest import Ingester, ingest_bytes, ingest_file
from voxweb.dicom.parse import parse_instance


@dataclass
class CheckReport:
    """Findings of ``check``; with ``repair=True`` the ``repaired`` list says what was done."""

    instances: int = 0
    missing: list[str] = field(default_factory=list)  # SOPInstanceUIDs whose file is gone
    size_mismatch: list[str] = field(default_factory=list)  # SOPInstanceUIDs
    orphans: list[str] = field(default_factory=list)  # store-relative paths not in the index
    temp_files: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.size_mismatch or self.orphans or self.temp_files)


def check(ing: Ingester, *, repair: bool = False, min_age_s: float = 60.0) -> CheckReport:
    """Verify index against storage: missing files, size mismatches, orphan and temp files.

    With ``repair``: rows of missing files are dropped; mismatched files are re-indexed from
    their current content (or dropped when unreadable); orphan files are indexed (or removed
    when unreadable or superseded); temp files are removed. Files younger than ``min_age_s``
    are left alone (they may belong to an ingest in flight).
    """
    rep = CheckReport()
    referenced: set[str] = set()
    drop: list[int] = []
    reread: list[tuple[int, str, bool]] = []
    for inst in ing.index.iter_all_instances():
        rep.instances += 1
        if not inst.linked:
            referenced.add(inst.path)
        f = ing.store.resolve(inst.path)
        try:
            size = f.stat().st_size
        except OSError:
            rep.missing.append(inst.sop_uid)
            drop.append(inst.pk)
            continue
        if size != inst.file_size:
            rep.size_mismatch.append(inst.sop_uid)
            reread.append((inst.pk, inst.path, inst.linked))
    now = time.time()
    for rel in ing.store.iter_files():
        if rel not in referenced and now - ing.store.resolve(rel).stat().st_mtime >= min_age_s:
            rep.orphans.append(rel)
    for tmp in ing.store.iter_temp_files():
        if now - tmp.stat().st_mtime >= min_age_s:
            rep.temp_files.append(tmp.relative_to(ing.store.root).as_posix())
    if not repair:
        return rep

    if drop:
        ing.index.delete_by_pks(drop)
        rep.repaired += [f"dropped index row of missing file ({uid})" for uid in rep.missing]
    for pk, path, linked in reread:
        ing.index.delete_by_pks([pk])
        f = ing.store.resolve(path)
        if linked:
            res = ingest_file(ing, f, link=True, policy="replace")
        else:
            res = ingest_bytes(ing, f.read_bytes(), policy="replace", source=path)
            if res.ok:
                cur = ing.index.get_instance(res.sop_uid)
                if cur is None or cur.path != path:
                    ing.store.remove(path)
        rep.repaired.append(f"re-indexed {path}: {res.status} {res.reason}".strip())
    for rel in rep.orphans:
        f = ing.store.resolve(rel)
        try:
            rec = parse_instance(f.read_bytes(), bulk_threshold=ing.bulk_threshold)
        except (OSError, DicomFormatError) as exc:
            ing.store.remove(rel)
            rep.repaired.append(f"removed unreadable orphan {rel} ({exc})")
            continue
        if ing.index.get_instance(rec.sop_uid) is None:
            ing.index.add(rec, rel)
            rep.repaired.append(f"indexed orphan {rel}")
        else:
            ing.store.remove(rel)
            rep.repaired.append(f"removed superseded orphan {rel}")
    for rel in rep.temp_files:
        try:
            (ing.store.root / rel).unlink()
        except OSError:
            continue
        rep.repaired.append(f"removed temp file {rel}")
    return rep
