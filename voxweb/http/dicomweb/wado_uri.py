"""WADO-URI: ``GET /dicom?requestType=WADO&studyUID=&seriesUID=&objectUID=&contentType=``.

The Part-10 file (as stored, or transcoded to Explicit VR Little Endian) or one rendered frame
(``frameNumber``, ``rows``, ``columns``, ``windowCenter``, ``windowWidth``, ``imageQuality``).
Slicer answers 404 without ``objectUID``; so does this, also for unknown paths below the root.
"""

from __future__ import annotations

from voxweb.context import ServerContext
from voxweb.dicom import DicomDatabase
from voxweb.dicom import frames as _frames
from voxweb.dicom.frames import EXPLICIT_VR_LITTLE_ENDIAN, RenderOptions
from voxweb.http.dicomweb.request import DicomRequest, HttpError, Reply, run


async def wado_uri(ctx: ServerContext, req: DicomRequest) -> Reply:
    sop = req.param("objectUID")
    if not sop:
        # Slicer answers 404 without objectUID; so do we (also for unknown paths).
        raise HttpError(404, "WADO-URI needs objectUID (or use /studies... for DICOMweb)")
    rtype = req.param("requestType")
    if rtype is not None and rtype.upper() != "WADO":
        raise HttpError(400, f"requestType must be WADO, not {rtype!r}")
    ctypes = [c.strip().lower() for c in (req.param("contentType") or "").split(",")]
    ctypes = [c for c in ctypes if c] or ["application/dicom"]
    ctype = next(
        (c for c in ctypes if c in ("application/dicom", "*/*", *_frames.RENDER_MEDIA_TYPES)),
        None,
    )
    if ctype is None:
        raise HttpError(406, "contentType must be application/dicom, image/jpeg or image/png")
    db = ctx.dicom
    study, series = req.param("studyUID"), req.param("seriesUID")
    if ctype in ("application/dicom", "*/*"):
        ts = req.param("transferSyntax") or "*"
        return await run(_file, db, sop, study, series, ts)
    try:
        frame = int(req.param("frameNumber") or req.param("frame") or 1)
    except ValueError as exc:
        raise HttpError(400, "frameNumber must be an integer") from exc
    rows, cols = req.param("rows"), req.param("columns")
    viewport = None
    if rows or cols:
        viewport = _frames.parse_viewport(f"{cols or 0},{rows or 0}")
    window = None
    wc, ww = req.param("windowCenter"), req.param("windowWidth")
    if wc and ww:
        window = _frames.parse_window(f"{wc},{ww}")
    opts = RenderOptions(
        media_type=ctype,
        viewport=viewport,
        window=window,
        quality=_frames.parse_quality(req.param("imageQuality")),
    )
    return await run(_render, db, sop, study, series, frame, opts)


def _file(db: DicomDatabase, sop: str, study: str | None, series: str | None, ts: str) -> Reply:
    path, inst = db.instance_file(sop, study, series)
    if ts not in ("*", inst.transfer_syntax_uid):
        if ts != EXPLICIT_VR_LITTLE_ENDIAN:
            raise HttpError(406, f"cannot transcode to {ts}; stored as {inst.transfer_syntax_uid}")
        return Reply(_frames.transcode_to_explicit_le(path), "application/dicom")
    with open(path, "rb") as f:
        return Reply(f.read(), "application/dicom")


def _render(
    db: DicomDatabase,
    sop: str,
    study: str | None,
    series: str | None,
    frame: int,
    opts: RenderOptions,
) -> Reply:
    path, _ = db.instance_file(sop, study, series)
    return Reply(_frames.render(path, frame, opts), opts.media_type)
