"""Between the scene and the DICOM database: load series as volumes, import, write back.

* ``load_series`` / ``load_study``: stored series -> ScalarVolume nodes in the scene (shown).
* ``open_study``: load a study, importing it first when it names another DICOMweb server.
* ``import_dicomweb_study``: copy a study from another DICOMweb server (WADO-RS retrieve) into
  the database, under the server's fetch policy (off unless ``--allow-url-fetch``; private
  and loopback hosts only with ``--allow-private-urls``), then load it: what Slicer's
  ``/accessDICOMwebStudy`` and ``slicer://viewer/?studyUID=&dicomweb_endpoint=`` links intend.
* ``store_volume``: a scene volume -> a DICOM series in the database (``export.py``), and
  ``store_segmentation``: a segmentation drawn on a loaded series -> DICOM SEG (highdicom),
  so a scene edited over ``/slicer`` shows up in OHIF.

Used by ``http/slicer_api.py``; no HTTP framework types here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from voxweb.dicom import DicomDatabase, DicomFormatError
from voxweb.dicom.export import volume_to_part10
from voxweb.dicom.load import SeriesVolume, image_series
from voxweb.dicom.load import load_series as _series_volume
from voxweb.dicom.multipart import MultipartError, split_multipart
from voxweb.scene.nodes import ScalarVolume, Segmentation
from voxweb.services.fetch import (
    FetchFailedError,
    FetchPolicy,
    FetchRefusedError,
    open_connection,
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
    volume = volume_node(_series_volume(db, study_uid, series_uid, workspace.max_volume_size))
    with workspace.scene.lock:
        workspace.scene.add(volume, workspace.scene.unique_name(volume.name))
        if show:
            workspace.show_volume(volume)
    logger.info("loaded DICOM series %s as %s", series_uid, volume.id)
    return volume


def volume_node(loaded: SeriesVolume) -> ScalarVolume:
    """The scene node of a loaded series (window/level from its headers when they have one)."""
    volume = ScalarVolume(loaded.array, loaded.ijk_to_ras, loaded.name)
    if loaded.window is not None and loaded.level is not None:
        volume.display.window, volume.display.level = loaded.window, loaded.level
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
    try:
        return [content for _, content in split_multipart(body, m.group(1))]
    except MultipartError as exc:
        raise FetchFailedError(
            f"the answer is not a well-formed multipart message: {exc}"
        ) from None


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
    parts, conn = open_connection(url, policy)
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


# Where this server answers DICOMweb (http/dicomweb serves these roots).
DICOMWEB_ROOTS = ("/dicom-web", "/dicom")


def is_local_endpoint(endpoint: str, bound_host: str, bound_port: int) -> bool:
    """True when the DICOMweb ``endpoint`` URL is this server's own (nothing to import)."""
    parts = urlsplit(endpoint)
    return (
        parts.port == bound_port
        and (parts.hostname or "") in ("localhost", "127.0.0.1", "::1", bound_host)
        and parts.path.rstrip("/") in DICOMWEB_ROOTS
    )


@dataclass
class OpenedStudy:
    """A study loaded into the scene, and how many instances were imported for it first."""

    volumes: list[ScalarVolume]
    stored: int = 0


def open_study(
    workspace: Workspace,
    db: DicomDatabase,
    study_uid: str,
    endpoint: str | None = None,
    access_token: str | None = None,
    *,
    bound_host: str = "",
    bound_port: int = 0,
) -> OpenedStudy:
    """Load a study into the scene, importing it from ``endpoint`` first when that is another
    DICOMweb server (``bound_host``/``bound_port``: this server's own address)."""
    stored = 0
    if endpoint and not is_local_endpoint(endpoint, bound_host, bound_port):
        summary = import_dicomweb_study(
            db, endpoint, study_uid, workspace.fetch_policy, access_token
        )
        stored = summary.stored
    return OpenedStudy(load_study(workspace, db, study_uid), stored)


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
    results = db.ingest_many(parts, source=f"scene:{volume.id}")
    failed = [r.reason for r in results if not r.ok]
    if failed:
        raise DicomFormatError(f"{len(failed)} slice(s) were not stored: {failed[0]}")
    return results[0].study_uid, results[0].series_uid


def store_segmentation(
    db: DicomDatabase,
    segmentation: Segmentation,
    study_uid: str,
    series_uid: str,
    *,
    atol_mm: float = 0.01,
) -> tuple[str, str]:
    """Write a scene segmentation as a DICOM SEG (highdicom) referencing a stored series.

    The segmentation's voxel grid must be the series' grid (same shape and IJK->RAS, as when
    it was drawn on the volume loaded from that series). Returns (series, SOP) UIDs of the SEG.
    """
    import highdicom as hd
    import numpy as np
    import pydicom
    from pydicom.sr.codedict import codes

    from voxweb import __version__
    from voxweb.dicom.export import dataset_to_bytes
    from voxweb.dicom.load import datasets_to_volume

    datasets = [pydicom.dcmread(db.instance_path(i)) for i in db.instances(study_uid, series_uid)]
    reference = datasets_to_volume(datasets)
    if tuple(reference.array.shape) != tuple(segmentation.shape) or not np.allclose(
        reference.ijk_to_ras, segmentation.ijk_to_ras, atol=atol_mm
    ):
        raise DicomFormatError(
            "the segmentation's voxel grid differs from the series' grid; draw it on the "
            "volume loaded from that series"
        )
    if not segmentation.segments:
        raise DicomFormatError("the segmentation has no segments")
    iop = np.array([float(x) for x in datasets[0].ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    datasets.sort(
        key=lambda ds: float(np.array([float(x) for x in ds.ImagePositionPatient]) @ normal)
    )
    masks, descriptions = [], []
    for number, segment in enumerate(segmentation.segments.values(), start=1):
        masks.append(segmentation.layers[segment.layer] == segment.label_value)
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=segment.name or f"Segment {number}",
                segmented_property_category=codes.SCT.Tissue,
                segmented_property_type=codes.SCT.Tissue,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            )
        )
    seg = hd.seg.Segmentation(
        source_images=datasets,
        pixel_array=np.stack(masks, axis=-1).astype(np.uint8),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=900,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="voxweb",
        manufacturer_model_name="voxweb",
        software_versions=__version__,
        device_serial_number="0",
        series_description=segmentation.name or "Segmentation",
    )
    result = db.ingest_bytes(dataset_to_bytes(seg), source=f"scene:{segmentation.id}")
    if not result.ok:
        raise DicomFormatError(f"the SEG was not stored: {result.reason}")
    return result.series_uid, result.sop_uid


class DicomBridge:
    """The DICOM database as exec code sees it (``dicom`` in the namespace): load into the
    scene, store scene nodes back, import from another DICOMweb server."""

    def __init__(self, workspace: Workspace, database: Callable[[], DicomDatabase]) -> None:
        self._workspace = workspace
        self._database = database

    @property
    def database(self) -> DicomDatabase:
        return self._database()

    def load_series(self, study_uid: str, series_uid: str) -> ScalarVolume:
        return load_series(self._workspace, self.database, study_uid, series_uid)

    def load_study(self, study_uid: str) -> list[ScalarVolume]:
        return load_study(self._workspace, self.database, study_uid)

    def store(
        self, node: Any, study_uid: str | None = None, series_uid: str | None = None, **kw: Any
    ) -> dict:
        """Store a volume as a new series, or a segmentation as a SEG on ``series_uid``."""
        return store_node(self.database, getattr(node, "node", node), study_uid, series_uid, **kw)


def store_node(
    db: DicomDatabase,
    node: Any,
    study_uid: str | None = None,
    series_uid: str | None = None,
    **kw: Any,
) -> dict:
    """Store a scene volume (new series) or segmentation (SEG referencing a stored series)."""
    if isinstance(node, Segmentation):
        if not (study_uid and series_uid):
            raise DicomFormatError(
                "a segmentation is stored as a SEG of a stored series: give its study and series"
            )
        seg_series, sop = store_segmentation(db, node, study_uid, series_uid)
        return {"study": study_uid, "series": seg_series, "sop": sop}
    if isinstance(node, ScalarVolume):
        study, series = store_volume(db, node, study_uid=study_uid, **kw)
        return {"study": study, "series": series}
    raise DicomFormatError(
        f"{getattr(node, 'name', node)!r} is neither a volume nor a segmentation"
    )


__all__ = [
    "DICOMWEB_ROOTS",
    "DicomBridge",
    "OpenedStudy",
    "store_node",
    "ImportSummary",
    "import_dicomweb_study",
    "is_local_endpoint",
    "load_series",
    "load_study",
    "open_study",
    "retrieve_study",
    "store_segmentation",
    "store_volume",
]
