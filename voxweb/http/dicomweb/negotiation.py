"""``Accept`` negotiation for DICOMweb: parse media types and decide what each resource sends.

``parse_accept`` / ``parse_media_type`` read the headers; ``choose`` picks among plain offers
(QIDO and metadata JSON); the other deciders read transfer-syntax and ``type`` parameters of
multipart ranges in the client's order, as PS3.18 describes for instances, frames, bulk data
and rendered images. Each returns what to send or raises ``HttpError(406)``. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voxweb.dicom import frames as _frames
from voxweb.dicom.frames import EXPLICIT_VR_LITTLE_ENDIAN
from voxweb.http.errors import HttpError

DICOM_JSON = "application/dicom+json"
JSON = "application/json"


@dataclass(frozen=True)
class MediaRange:
    """One entry of an ``Accept`` header: ``type/subtype`` (lower case), parameters, q."""

    mtype: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    if '"' not in text:  # the common case, and the hot path of every request
        return text.split(sep)
    out, cur, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def parse_media_type(text: str) -> MediaRange:
    """``multipart/related; type="application/dicom"; transfer-syntax=*`` -> MediaRange."""
    pieces = _split_outside_quotes(text, ";")
    mtype = pieces[0].strip().lower()
    params: dict[str, str] = {}
    q = 1.0
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        k, v = piece.split("=", 1)
        k, v = k.strip().lower(), v.strip().strip('"').strip()
        if k == "q":
            try:
                q = float(v)
            except ValueError:
                q = 1.0
        else:
            params[k] = v.lower() if k == "type" else v
    return MediaRange(mtype, params, q)


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header, best first (stable for equal q)."""
    if not header or not header.strip():
        return []
    ranges = [parse_media_type(p) for p in _split_outside_quotes(header, ",") if p.strip()]
    ranges = [r for r in ranges if r.mtype and r.q > 0]
    return sorted(ranges, key=lambda r: -r.q)


def is_multipart(m: MediaRange) -> bool:
    return m.mtype in ("multipart/related", "multipart/*")


def _specificity(m: MediaRange) -> int:
    if m.mtype == "*/*":
        return 0
    return 1 if m.mtype.endswith("/*") else 2


def _matches(m: MediaRange, offer: str) -> bool:
    if m.mtype in ("*/*", offer):
        return True
    return m.mtype.endswith("/*") and offer.startswith(m.mtype[:-1])


def choose(accept: list[MediaRange], offers: list[str]) -> str | None:
    """The offer (a plain ``type/subtype``) the client prefers, or None when it takes none.

    No ``Accept`` takes the first offer. Otherwise each offer gets the q of the most specific
    range that matches it; the highest q wins, then the offer named exactly rather than through
    a wildcard, then the order of ``offers`` (the server's preference).
    """
    if not accept:
        return offers[0] if offers else None
    best: tuple[float, int, int] | None = None
    chosen = None
    for rank, offer in enumerate(offers):
        matching = [m for m in accept if _matches(m, offer)]
        if not matching:
            continue
        top = max(matching, key=_specificity)
        q = max(m.q for m in matching if _specificity(m) == _specificity(top))
        key = (q, _specificity(top), -rank)
        if q > 0 and (best is None or key > best):
            best, chosen = key, offer
    return chosen


# -- QIDO and metadata ------------------------------------------------------------------------
def _json_ranges(accept: list[MediaRange]) -> list[MediaRange]:
    """``multipart/related; type="application/dicom+json"`` read as the JSON type it wraps."""
    out = []
    for m in accept:
        if is_multipart(m) and m.params.get("type") in (DICOM_JSON, None):
            m = MediaRange(DICOM_JSON, {}, m.q)
        out.append(m)
    return out


def json_media_type(accept: list[MediaRange]) -> str:
    """QIDO and metadata JSON: ``application/dicom+json`` (PS3.18's default) unless the client
    prefers ``application/json``."""
    ctype = choose(_json_ranges(accept), [DICOM_JSON, JSON])
    if ctype is None:
        raise HttpError(
            406,
            "this resource is available as application/dicom+json or application/json only",
        )
    return ctype


# -- WADO-RS instances ------------------------------------------------------------------------
def retrieve_choice(accept: list[MediaRange], one_instance: bool) -> tuple[str, str]:
    """``(mode, transfer syntax)``; mode 'single' (bare Part 10) or 'multipart'."""
    if not accept:
        # Slicer-style clients (no Accept) get the bare file for one instance.
        return ("single" if one_instance else "multipart"), "*"
    for m in accept:
        ts = m.params.get("transfer-syntax", "*")
        if m.mtype in ("*/*", "application/*"):
            return ("single" if one_instance else "multipart"), "*"
        if m.mtype == "application/dicom" and one_instance:
            return "single", ts
        if is_multipart(m) and m.params.get("type", "application/dicom") in (
            "application/dicom",
            "*/*",
            "application/*",
        ):
            return "multipart", ts
    raise HttpError(
        406,
        'instances are available as multipart/related; type="application/dicom"'
        + (" or application/dicom" if one_instance else ""),
    )


# -- frames -----------------------------------------------------------------------------------
def frames_choice(
    accept: list[MediaRange], stored_ts: str, stored_media: str
) -> tuple[bool, bool, str | None]:
    """``(single part, as stored, media type label)`` for a frames request, or HttpError(406).

    The label is the media type the client named for compressed frames sent as stored
    (``application/octet-stream; transfer-syntax=*``); None means the PS3.18 type (image/jpeg...).
    """
    native = _frames.is_native(stored_ts)
    if not accept:
        return False, True, None
    for m in accept:
        ts = m.params.get("transfer-syntax")
        if m.mtype in ("*/*", "application/*"):
            return False, True, None
        if m.mtype == "application/octet-stream":
            if ts == "*" or ts is None or ts == EXPLICIT_VR_LITTLE_ENDIAN:
                return True, ts == "*", "application/octet-stream"
            continue
        if not native and m.mtype == stored_media and ts in (None, "*", stored_ts):
            return True, True, None
        if is_multipart(m):
            t = m.params.get("type", "application/octet-stream")
            if t in ("*/*", "application/*"):
                if ts in (None, "*", stored_ts):
                    return False, True, None
                if ts == EXPLICIT_VR_LITTLE_ENDIAN:
                    return False, False, None
                continue
            if t == "application/octet-stream":
                if ts == "*":
                    return False, True, "application/octet-stream"
                if ts in (None, EXPLICIT_VR_LITTLE_ENDIAN):
                    return False, native and stored_ts != _frames.EXPLICIT_VR_BIG_ENDIAN, None
                continue
            if not native and t == stored_media and ts in (None, "*", stored_ts):
                return False, True, None
    raise HttpError(
        406,
        f"frames are stored as {stored_ts}; ask for transfer-syntax=* to get them as stored "
        f"or application/octet-stream for native bytes",
    )


# -- bulk data --------------------------------------------------------------------------------
def bulk_single(accept: list[MediaRange]) -> bool:
    """True: bulk data as a bare ``application/octet-stream`` body; False: one-part multipart."""
    if not accept:
        return True
    for m in accept:
        if m.mtype in ("*/*", "application/*", "application/octet-stream"):
            return True
        if is_multipart(m) and m.params.get("type", "application/octet-stream") in (
            "application/octet-stream",
            "*/*",
            "application/*",
        ):
            return False
    raise HttpError(
        406,
        "bulk data is available as application/octet-stream or "
        'multipart/related; type="application/octet-stream"',
    )


# -- rendered ---------------------------------------------------------------------------------
def render_media_type(accept: list[MediaRange]) -> str:
    """The image type of a rendered or thumbnail answer."""
    media = None
    if not accept:
        media = "image/jpeg"
    for m in accept:
        if m.mtype in _frames.RENDER_MEDIA_TYPES:
            media = m.mtype
            break
        if m.mtype in ("*/*", "image/*"):
            media = "image/jpeg"
            break
        if is_multipart(m) and m.params.get("type") in _frames.RENDER_MEDIA_TYPES:
            media = m.params["type"]
            break
    if media is None:
        raise HttpError(406, "rendered images are available as image/jpeg or image/png")
    return media
