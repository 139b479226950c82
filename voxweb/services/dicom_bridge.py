"""Between the scene and the DICOM database: load series as volumes, import, write back.

* ``load_series`` / ``load_study``: stored series -> ScalarVolume nodes in the scene (shown).
* ``import_dicomweb_study``: copy a study from another DICOMweb server (WADO-RS retrieve) into
  the database, under the server's fetch policy (off unless ``--allow-url-fetch``; private
  and loopback hosts only with ``--allow-private-urls``), then load it: what Slicer's
  ``/accessDICOMwebStudy`` and ``slicer://viewer/?studyUID=&dicomweb_endpoint=`` links intend.
* ``store_volume``: a scene volume -> a DICOM series in the database (``export.py``), so a
  scene edited over ``/slicer`` shows up in OHIF.

Used by ``http/slicer_api.py``; no HTTP framework types here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from voxweb.dicom import DicomDatabase, DicomFormatError
from voxweb.dicom.export import volume_to_part10
from voxweb.dicom.load import image_series
from voxweb.dicom.load import load_series as _series_volume
from voxweb.scene.nodes import ScalarVolume
from voxweb.services.fetch import (
    FetchFailedError,
    FetchPolicy,
    FetchRefusedError,
    _connect,
    _vetted_address,
)
from voxweb.services.workspace import Workspace

logger = logging.getLogger(__name__)

_UID = re.compile(r"^[0-9.]{1,64}$")


@dataclass
class ImportSummary:
    """What an import from another DICOMweb server did."""

    stored: int = 0
    duplicates: int = 0
    failed: int = 0


def load_series(
    workspace: Workspace, db: DicomDatabase, study_uid: str, series_uid: str, show: bool = True
) -> ScalarVolume:
    """Add the stored series to the scene as a volume (and show it)."""
    volume = _series_volume(db, study_uid, series_uid)
    with workspace.scene.lock:
        workspace.scene.add(volume)
        if show:
            workspace.show_volume(volume)
    logger.info("loaded DICOM series %s as %s", series_uid, volume.id)
    return volume


def load_study(workspace: Workspace, db: DicomDatabase, study_uid: str) -> list[ScalarVolume]:
    """Every image series of a stored study as volumes; the first one is shown."""
    volumes = []
    for series_uid in image_series(db, study_uid):
        try:
            volumes.append(load_series(workspace, db, study_uid, series_uid, show=not volumes))
        except DicomFormatError as exc:
            logger.info("series %s not loaded: %s", series_uid, exc)
    if not volumes:
        raise DicomFormatError(f"study {study_uid} has no series that loads as a volume")
    return volumes


def _multipart_parts(body: bytes, content_type: str) -> list[bytes]:
    m = re.search(r'boundary="?([^";,]+)"?', content_type, re.I)
    if not m:
        raise FetchFailedError(f"the answer is not multipart ({content_type})")
    delim = b"\r\n--" + m.group(1).encode()
    parts = []
    for chunk in (b"\r\n" + body).split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        _, sep, content = chunk.partition(b"\r\n\r\n")
        if sep:
            parts.append(content)
    return parts


def retrieve_study(
    endpoint: str, study_uid: str, policy: FetchPolicy, access_token: str | None = None
) -> list[bytes]:
    """WADO-RS ``GET {endpoint}/studies/{S}``: the Part-10 instances, under ``policy``."""
    if not policy.enabled:
        raise FetchRefusedError(
            "importing from another DICOMweb server is disabled; start voxweb with "
            "--allow-url-fetch (and --allow-private-urls for local servers)"
        )
    if not _UID.match(study_uid):
        raise ValueError(f"{study_uid!r} is not a DICOM UID")
    url = endpoint.rstrip("/") + f"/studies/{study_uid}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefusedError(f"only http and https DICOMweb servers, not {endpoint!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = _vetted_address(parts.hostname, port, policy)
    conn = _connect(parts.scheme, parts.hostname, port, address, policy.timeout)
    headers = {
        "User-Agent": "voxweb",
        "Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*',
    }
    if access_token:
        headers["Authorization"] = f"Bearer {access_token}"
    try:
        conn.request(
            "GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers
        )
        response = conn.getresponse()
        if response.status != 200:
            raise FetchFailedError(f"{url} answered {response.status} {response.reason}")
        body = response.read(policy.max_bytes + 1)
        if len(body) > policy.max_bytes:
            raise FetchRefusedError(f"{url} is over the limit of {policy.max_bytes} bytes")
        return _multipart_parts(body, response.getheader("Content-Type", ""))
    finally:
        conn.close()


def import_dicomweb_study(
    db: DicomDatabase,
    endpoint: str,
    study_uid: str,
    policy: FetchPolicy,
    access_token: str | None = None,
) -> ImportSummary:
    """Copy a study from another DICOMweb server into the database."""
    summary = ImportSummary()
    for part in retrieve_study(endpoint, study_uid, policy, access_token):
        result = db.ingest_bytes(part, source=endpoint)
        if result.status in ("stored", "replaced"):
            summary.stored += 1
        elif result.status == "duplicate":
            summary.duplicates += 1
        else:
            summary.failed += 1
    if not summary.stored and not summary.duplicates:
        raise FetchFailedError(f"{endpoint} returned no usable instance of study {study_uid}")
    logger.info("imported study %s from %s: %s", study_uid, endpoint, summary)
    return summary


def store_volume(
    db: DicomDatabase,
    volume: ScalarVolume,
    *,
    patient_name: str = "Anonymous",
    patient_id: str = "VOXWEB",
    study_uid: str | None = None,
    modality: str = "MR",
) -> tuple[str, str]:
    """Write a scene volume into the database as a new series; returns (study, series) UIDs."""
    parts = volume_to_part10(
        volume.array,
        volume.ijk_to_ras,
        modality=modality,
        patient_name=patient_name,
        patient_id=patient_id,
        study_uid=study_uid,
        series_description=volume.name,
        study_description="voxweb scene",
    )
    results = [db.ingest_bytes(p, source=f"scene:{volume.id}") for p in parts]
    failed = [r.reason for r in results if not r.ok]
    if failed:
        raise DicomFormatError(f"{len(failed)} slice(s) were not stored: {failed[0]}")
    return results[0].study_uid, results[0].series_uid


__all__ = [
    "ImportSummary",
    "import_dicomweb_study",
    "load_series",
    "load_study",
    "retrieve_study",
    "store_volume",
]
