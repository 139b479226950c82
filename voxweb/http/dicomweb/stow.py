"""STOW-RS: store Part-10 instances (multipart or one bare body), or DICOM JSON metadata plus
bulk data parts (PS3.18 10.5), and answer the store response dataset.

``200`` when all were stored, ``202`` when some failed, ``409`` when all failed, ``400`` when
no part at all is a DICOM instance. Ingest (and its worker processes) is ``voxweb.dicom``'s.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

from voxweb.context import ServerContext
from voxweb.dicom import DicomDatabase, DicomFormatError
from voxweb.dicom.fromjson import (
    BulkPart,
    BulkResolver,
    frame_number,
    parse_metadata,
    part10_from_json,
)
from voxweb.dicom.ingest import IngestResult
from voxweb.dicom.jsontext import dumps_bytes
from voxweb.http.dicomweb.negotiation import DICOM_JSON, JSON, parse_media_type
from voxweb.http.dicomweb.request import DicomRequest, HttpError, Reply, run
from voxweb.http.multipart import MultipartError, split_multipart

log = logging.getLogger(__name__)

Parts = list[tuple[dict[str, str], bytes | memoryview]]


def parse_multipart(body: bytes, content_type: str) -> Parts:
    """Parts of a ``multipart/related`` request: ``(headers (lower-case names), content)``.

    The contents are views into ``body``: they are only passed on to the ingest.

    Raises ``HttpError(400)`` when the body is not a well-formed multipart message.
    """
    mt = parse_media_type(content_type)
    boundary = mt.params.get("boundary")
    if not mt.mtype.startswith("multipart/") or not boundary:
        raise HttpError(400, "the request body is not multipart/related with a boundary")
    try:
        return split_multipart(body, boundary, copy=False)
    except MultipartError as exc:
        raise HttpError(400, str(exc)) from None


async def stow(ctx: ServerContext, req: DicomRequest, study: str | None) -> Reply:
    """``POST /studies[/{study}]``."""
    db = ctx.dicom
    ctype = req.headers.get("content-type", "")
    mt = parse_media_type(ctype)
    if mt.mtype == "application/dicom":
        parts: Parts = [({"content-type": "application/dicom"}, await req.body())]
    elif mt.mtype.startswith("multipart/"):
        t = mt.params.get("type", "application/dicom")
        if t in (DICOM_JSON, JSON):
            parts = parse_multipart(await req.body(), ctype)
            if not parts:
                raise HttpError(400, "the multipart body has no parts")
            return await run(_stow_json, db, parts, study, req.base)
        if t not in ("application/dicom", "*/*"):
            raise HttpError(
                415,
                'STOW-RS accepts multipart/related; type="application/dicom" or '
                'type="application/dicom+json" (metadata and bulk data)',
            )
        parts = parse_multipart(await req.body(), ctype)
    else:
        raise HttpError(
            415, 'STOW-RS needs Content-Type: multipart/related; type="application/dicom"'
        )
    if not parts:
        raise HttpError(400, "the multipart body has no parts")
    return await run(_stow_binary, db, parts, study, req.base)


def _stow_binary(db: DicomDatabase, parts: Parts, study: str | None, base: str) -> Reply:
    dicom_parts: list[bytes | memoryview] = []
    refused: list[IngestResult] = []
    for headers, data in parts:
        part_type = parse_media_type(headers.get("content-type", "application/dicom")).mtype
        if part_type not in ("application/dicom", "application/octet-stream", ""):
            reason = f"a part of type {part_type} is not application/dicom"
            refused.append(IngestResult("failed", reason=reason, failure_code=0xC000))
        else:
            dicom_parts.append(data)
    return _store_instances(db, dicom_parts, refused, study, base)


def _stow_json(db: DicomDatabase, parts: Parts, study: str | None, base: str) -> Reply:
    """STOW-RS of DICOM JSON metadata plus bulk data parts (PS3.18 10.5)."""
    items: list[dict[str, Any]] = []
    bulk: list[BulkPart] = []
    for n, (headers, data) in enumerate(parts):
        mt = parse_media_type(headers.get("content-type", DICOM_JSON if n == 0 else ""))
        if mt.mtype in (DICOM_JSON, JSON):
            items += parse_metadata(bytes(data))
        else:
            location = headers.get("content-location", "").strip()
            ts = mt.params.get("transfer-syntax")
            bulk.append(BulkPart(location, mt.mtype, ts, bytes(data)))
    if not items:
        raise HttpError(400, "the request has no application/dicom+json metadata part")
    resolve = _bulk_resolver(bulk, base)
    datas: list[bytes | memoryview] = []
    refused: list[IngestResult] = []
    for item in items:
        try:
            datas.append(part10_from_json(item, resolve))
        except DicomFormatError as exc:
            refused.append(IngestResult("failed", reason=str(exc), failure_code=0xC000, **exc.uids))
    return _store_instances(db, datas, refused, study, base)


def _store_instances(
    db: DicomDatabase,
    dicom_parts: list[bytes | memoryview],
    refused: list[IngestResult],
    study: str | None,
    base: str,
) -> Reply:
    """Ingest the instances and answer the STOW-RS response dataset.

    ``refused``: the failures of parts that were not even offered to the ingest. When no
    part at all is an identifiable instance the request is a client error (400), not a
    per-instance failure.
    """
    referenced: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    studies_seen: list[str] = []
    results = db.ingest_many(dicom_parts, expected_study_uid=study) if dicom_parts else []
    results = refused + results
    if all(not r.ok and not r.sop_uid for r in results):
        reasons = [r.reason for r in results]
        shown = "; ".join(dict.fromkeys(reasons[:5]))
        raise HttpError(
            400,
            f"none of the {len(reasons)} part(s) of the request is a DICOM instance: {shown}",
        )
    for res in results:
        if res.ok:
            url = f"{base}/studies/{res.study_uid}/series/{res.series_uid}/instances/{res.sop_uid}"
            referenced.append(
                {
                    "00081150": {"vr": "UI", "Value": [res.sop_class_uid]},
                    "00081155": {"vr": "UI", "Value": [res.sop_uid]},
                    "00081190": {"vr": "UR", "Value": [url]},
                }
            )
            if res.study_uid not in studies_seen:
                studies_seen.append(res.study_uid)
        else:
            log.info("STOW-RS part refused: %s", res.reason)
            failed.append(_failed_item(res.sop_class_uid, res.sop_uid, res.failure_code or 0xC000))
    answer: dict[str, Any] = {}
    target = study or (studies_seen[0] if len(studies_seen) == 1 else None)
    if target:
        answer["00081190"] = {"vr": "UR", "Value": [f"{base}/studies/{target}"]}
    if failed:
        answer["00081198"] = {"vr": "SQ", "Value": failed}
    if referenced:
        answer["00081199"] = {"vr": "SQ", "Value": referenced}
    status = 200 if not failed else (202 if referenced else 409)
    return Reply(dumps_bytes(answer), DICOM_JSON, status)


def _bulk_resolver(parts: list[BulkPart], base: str) -> BulkResolver:
    """BulkDataURI -> parts, matching Content-Locations as given or resolved against ``base``."""

    def absolute(uri: str) -> str:
        return urljoin(base + "/", uri)

    by_location: dict[str, BulkPart] = {}
    for part in parts:
        if part.location:
            by_location.setdefault(part.location, part)
            by_location.setdefault(absolute(part.location), part)

    def resolve(uri: str) -> list[BulkPart]:
        for key in (uri, absolute(uri)):
            if key in by_location:
                return [by_location[key]]
        for key in (uri, absolute(uri)):
            frames = [(frame_number(p.location, key), p) for p in parts]
            found = sorted((n, i, p) for i, (n, p) in enumerate(frames) if n is not None)
            if found:
                return [p for _, _, p in found]
        return []

    return resolve


def _failed_item(sop_class: str, sop_uid: str, code: int) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if sop_class:
        item["00081150"] = {"vr": "UI", "Value": [sop_class]}
    if sop_uid:
        item["00081155"] = {"vr": "UI", "Value": [sop_uid]}
    item["00081197"] = {"vr": "US", "Value": [code]}
    return item
