"""``DELETE /studies/{S}[/series/{R}[/instances/{I}]]``: off unless ``--dicom-delete`` (405)."""

from __future__ import annotations

import json

from voxweb.context import ServerContext
from voxweb.http.dicomweb.negotiation import JSON
from voxweb.http.dicomweb.request import DicomRequest, HttpError, Reply, run


def check_enabled(ctx: ServerContext) -> None:
    """``405`` when deleting is switched off (checked before the path)."""
    if not ctx.settings.dicom_delete:
        raise HttpError(
            405,
            "DELETE is switched off on this server (voxweb serve --dicom-delete)",
            {"Allow": "GET, HEAD, POST, OPTIONS"},
        )


def not_deletable(ctx: ServerContext) -> HttpError:
    """The answer to DELETE on any other path (after the switch is checked)."""
    check_enabled(ctx)
    return HttpError(404, "DELETE works on /studies/{S}[/series/{R}[/instances/{I}]]")


async def delete(
    ctx: ServerContext,
    req: DicomRequest,
    study: str,
    series: str | None = None,
    sop: str | None = None,
) -> Reply:
    check_enabled(ctx)
    count = await run(ctx.dicom.delete, study, series, sop)
    return Reply(json.dumps({"success": True, "deleted": count}).encode(), JSON)
