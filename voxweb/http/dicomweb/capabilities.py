"""``OPTIONS /dicom``: what this DICOMweb service offers, as JSON; ``204`` elsewhere."""

from __future__ import annotations

import json

from voxweb.context import ServerContext
from voxweb.dicom import frames as _frames
from voxweb.http.dicomweb.negotiation import DICOM_JSON, JSON
from voxweb.http.dicomweb.request import ALLOW, ROOTS, DicomRequest, Reply


def options(ctx: ServerContext, req: DicomRequest) -> Reply:
    if req.segments:
        return Reply(b"", None, 204, {"Allow": ALLOW})
    caps = {
        "service": "DICOMweb",
        "root": req.base,
        "roots": list(ROOTS),
        "services": {
            "QIDO-RS": [
                "/studies",
                "/series",
                "/instances",
                "/studies/{S}/series",
                "/studies/{S}/instances",
                "/studies/{S}/series/{R}/instances",
            ],
            "WADO-RS": [
                "/studies/{S}[/series/{R}[/instances/{I}]]",
                ".../metadata",
                ".../rendered",
                ".../thumbnail",
                ".../instances/{I}/frames/{list}[/rendered|/thumbnail]",
                ".../instances/{I}/bulkdata/{tag path}",
            ],
            "WADO-URI": ["?requestType=WADO&studyUID=&seriesUID=&objectUID=&contentType="],
            "STOW-RS": ["POST /studies", "POST /studies/{S}"],
            "DELETE": (
                ["/studies/{S}[/series/{R}[/instances/{I}]]"] if ctx.settings.dicom_delete else []
            ),
        },
        "qido": {
            "matching": [
                "single value",
                "wildcard * ?",
                "date/time ranges",
                "UID lists",
                "universal",
                "case-insensitive PN",
                "fuzzymatching",
            ],
            "parameters": ["limit", "offset", "includefield", "fuzzymatching"],
            "emptyResult": "200 []",
        },
        "media": {
            "instances": [
                'multipart/related; type="application/dicom"',
                "application/dicom (one instance)",
            ],
            "metadata": [DICOM_JSON, JSON],
            "frames": [
                'multipart/related; type="application/octet-stream"',
                'multipart/related; type="*/*"',
                "application/octet-stream",
                "compressed syntaxes as stored with transfer-syntax=*",
            ],
            "rendered": list(_frames.RENDER_MEDIA_TYPES),
            "store": [
                'multipart/related; type="application/dicom"',
                'multipart/related; type="application/dicom+json" (metadata and bulk data)',
                "application/dicom (one instance)",
            ],
        },
        "transferSyntaxDecoders": {
            ts: _frames.decoder_available(ts)
            for ts in sorted(_frames._COMPRESSED_MEDIA)
            if ts.startswith("1.2.840.10008.1.2.4.")
            and int(ts.rsplit(".", 1)[1]) < 100
            or ts == "1.2.840.10008.1.2.5"
        },
    }
    return Reply(json.dumps(caps, indent=1).encode(), JSON, 200, {"Allow": ALLOW})
