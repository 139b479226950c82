"""Security headers on every response: no framing by other sites, no type sniffing, and a
Content-Security-Policy fitted to what each part of the server serves.

Another port of localhost could otherwise frame the logged-in control panel and turn one click
into "stop the server" (clickjacking). Each policy below is tested in Chromium against the
pages it covers (tests/browser/test_content_policy.py).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# voxweb's own pages (panel, viewer, API page): only files from this server; images may be
# data:/blob: URLs (the viewer draws PNGs it fetched). No inline script or style.
OWN_PAGES_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'self'"
)
# API answers (JSON, images, NRRD, DICOM) are never documents that run anything.
API_POLICY = "default-src 'none'; frame-ancestors 'self'"
# A docroot or extension the operator supplies (Slicer's own pages use inline scripts): only
# the framing rule, so their pages keep working.
FRAMING_POLICY = "frame-ancestors 'self'"
# OHIF v3 has an inline bootstrap script, builds styles at run time, decodes images in
# workers made from blobs and runs WebAssembly codecs.
OHIF_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' "
    "blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' "
    "data:; worker-src 'self' blob:; connect-src 'self' data: blob:; media-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'self'"
)

_ALWAYS = ((b"x-frame-options", b"SAMEORIGIN"), (b"x-content-type-options", b"nosniff"))


class SecurityHeaders:
    """Adds X-Frame-Options, X-Content-Type-Options and (if given) a CSP to each response,
    unless the app set that header itself."""

    def __init__(self, app: ASGIApp, policy: str | None = None) -> None:
        self.app = app
        self.extra = list(_ALWAYS)
        if policy:
            self.extra.append((b"content-security-policy", policy.encode("ascii")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.extra

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
