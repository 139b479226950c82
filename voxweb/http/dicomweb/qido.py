"""QIDO-RS: search studies, series and instances; answers the index's DICOM JSON as is.

An empty search answers ``200 []`` (what Slicer's DICOMweb clients expect). Matching rules
live in ``voxweb.dicom.query``; this module only passes the query through.
"""

from __future__ import annotations

from voxweb.context import ServerContext
from voxweb.http.dicomweb.negotiation import json_media_type
from voxweb.http.dicomweb.request import DicomRequest, Reply, run


async def search(
    ctx: ServerContext,
    req: DicomRequest,
    level: str,
    study: str | None = None,
    series: str | None = None,
) -> Reply:
    """``level`` is ``study``, ``series`` or ``instance``."""
    accept = req.accept
    db = ctx.dicom
    body = await run(
        lambda: db.search_json(
            level, req.query, study_uid=study, series_uid=series, base_url=req.base
        )
    )
    return Reply(body, json_media_type(accept))
