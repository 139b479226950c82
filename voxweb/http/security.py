"""Who may talk to voxweb: Host checks, cross-site rules, CORS, and the API token.

Three ASGI wrappers, applied in this order by ``http/app.py``:

* ``HostGuard`` (everything): the Host header must name this server, so a DNS-rebound name
  never reaches it, even with ``--auth none``.
* ``ApiGuard`` (every API route): requests a browser makes for another site (a foreign
  ``Origin``, or ``Sec-Fetch-Site`` other than same-origin/none) get 403 unless the origin is
  allow-listed; CORS preflights are answered from the allow-list; then the token is required.
* ``StaticGuard`` (the docroot): the token only if ``static_auth`` is set; a valid
  ``?token=`` on a page sets the cookie and redirects to the clean URL.

Slicer clients change state with GETs (``/slicer/sampledata``...), so the cross-site rule and
the token are what keep an ``<img src>`` on a hostile page away from them.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from collections.abc import Iterable
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxweb.context import ServerContext
from voxweb.http.responses import error_response

PREFLIGHT_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
PREFLIGHT_HEADERS = (
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "if-none-match",
    "if-modified-since",
    "range",
    "x-request-id",
    "last-event-id",
)
EXPOSED_HEADERS = "Content-Length, Content-Type, Content-Range, ETag, Last-Modified"
_WILDCARD_BINDS = {"0.0.0.0", "::", ""}


def _split_host(value: str) -> tuple[str, int | None]:
    """``"[::1]:2016"`` -> ``("::1", 2016)``; ``"localhost"`` -> ``("localhost", None)``."""
    try:
        parts = urlsplit("//" + value)
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", None


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class SecurityPolicy:
    """The decisions; the ASGI wrappers below only apply them."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        settings = ctx.settings
        names = {"localhost", "127.0.0.1", "::1"}
        names.update(h.lower().strip("[]") for h in settings.allowed_host)
        bound = settings.host.lower().strip("[]")
        self.wildcard_bind = bound in _WILDCARD_BINDS
        if not self.wildcard_bind:
            names.add(bound)
        else:
            # Bound to every interface: the machine's own names are fine too. IP literals are
            # accepted below, because a rebinding attack needs a domain name.
            for name in {socket.gethostname(), socket.getfqdn()}:
                names.add(name.lower())
        self.host_names = frozenset(names)
        self.any_origin = "*" in settings.cors_origin
        self.origins = frozenset(o.lower().rstrip("/") for o in settings.cors_origin if o != "*")

    # --- Host ----------------------------------------------------------------------------

    def host_allowed(self, host_header: str | None) -> bool:
        if host_header is None:
            return True  # HTTP/1.0 clients may omit it; browsers always send one.
        name, _ = _split_host(host_header)
        if not name:
            return False
        if name in self.host_names:
            return True
        return self.wildcard_bind and _is_ip_literal(name)

    # --- Origins -------------------------------------------------------------------------

    def origin_allowed(self, origin: str) -> bool:
        return self.any_origin or origin.lower().rstrip("/") in self.origins

    def is_own_origin(self, origin: str, headers: Headers, scheme: str) -> bool:
        try:
            parts = urlsplit(origin)
            origin_port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        host, port = _split_host(headers.get("host", ""))
        port = port or (443 if scheme == "https" else 80)
        return parts.scheme == scheme and (parts.hostname or "") == host and origin_port == port

    def site_verdict(self, scope: Scope) -> tuple[str, str | None]:
        """Classify a request: ``("same", None)``, ``("allowed", origin)`` or ``("foreign", why)``."""
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        scheme = scope.get("scheme", "http")
        if origin is not None:
            if self.is_own_origin(origin, headers, scheme):
                return "same", None
            if origin != "null" and self.origin_allowed(origin):
                return "allowed", origin
            return "foreign", f"requests from origin {origin!r} are not allowed"
        fetch_site = headers.get("sec-fetch-site", "").lower()
        if fetch_site in ("cross-site", "same-site"):
            # An <img>/<script>/link load carries no Origin; its Referer may name an allowed one.
            referer = headers.get("referer")
            if referer:
                parts = urlsplit(referer)
                ref_origin = f"{parts.scheme}://{parts.netloc}"
                if self.origin_allowed(ref_origin):
                    return "allowed", None
            return "foreign", f"{fetch_site} requests are not allowed"
        return "same", None

    def cors_headers(self, origin: str | None) -> list[tuple[bytes, bytes]]:
        if not origin:
            return []
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
            (b"vary", b"Origin"),
        ]

    # --- Token ---------------------------------------------------------------------------

    def token_matches(self, candidate: str | None) -> bool:
        expected = self.ctx.token
        if not expected or not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), expected.encode())

    def request_token(self, scope: Scope) -> tuple[str | None, str | None]:
        """The token a request carries and where: ``header``, ``query`` or ``cookie``."""
        headers = Headers(scope=scope)
        auth = headers.get("authorization")
        if auth:
            kind, _, value = auth.partition(" ")
            if kind.lower() in ("bearer", "token") and value.strip():
                return value.strip(), "header"
        query = scope.get("query_string", b"").decode("latin-1")
        if "token=" in query:
            for key, value in parse_qsl(query, keep_blank_values=True):
                if key == "token":
                    return value, "query"
        cookie_header = headers.get("cookie")
        if cookie_header:
            cookies = SimpleCookie()
            try:
                cookies.load(cookie_header)
            except Exception:
                return None, None
            morsel = cookies.get(self.ctx.cookie_name)
            if morsel is not None:
                return morsel.value, "cookie"
        return None, None

    def token_cookie(self) -> bytes:
        secure = "; Secure" if self.ctx.settings.scheme == "https" else ""
        return (
            f"{self.ctx.cookie_name}={self.ctx.token}; Path=/; HttpOnly; SameSite=Strict{secure}"
        ).encode("latin-1")


def _with_headers(send: Send, extra: Iterable[tuple[bytes, bytes]]) -> Send:
    extra = list(extra)
    if not extra:
        return send

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = list(message.get("headers", [])) + extra
        await send(message)

    return wrapped


class HostGuard:
    """403 for any Host header that does not name this server (DNS-rebinding defence)."""

    def __init__(self, app: ASGIApp, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = Headers(scope=scope).get("host")
            if not self.policy.host_allowed(host):
                response = error_response(403, f"Host {host!r} is not a name of this server")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ApiGuard:
    """Cross-site refusal, CORS and token auth in front of an API."""

    def __init__(self, app: ASGIApp, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.policy
        verdict, detail = policy.site_verdict(scope)
        headers = Headers(scope=scope)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, receive, send, verdict, detail)
            return
        if verdict == "foreign":
            await error_response(403, f"Forbidden: {detail}")(scope, receive, send)
            return
        cors = policy.cors_headers(detail if verdict == "allowed" else None)
        send = _with_headers(send, cors)
        if policy.ctx.token and scope["method"] != "OPTIONS":
            token, source = policy.request_token(scope)
            if not policy.token_matches(token):
                why = "missing" if token is None else "wrong"
                response = error_response(
                    401,
                    f"Unauthorized: the API token is {why}. Send 'Authorization: Bearer <token>' "
                    "or open the URL voxweb printed at start.",
                    headers={"WWW-Authenticate": 'Bearer realm="voxweb"'},
                )
                await response(scope, receive, send)
                return
            if source == "query":
                send = _with_headers(send, [(b"set-cookie", policy.token_cookie())])
        await self.app(scope, receive, send)

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, verdict: str, origin: str | None
    ) -> None:
        if verdict != "allowed" or not origin:
            await error_response(
                403, "Forbidden: CORS preflight from an origin that is not allowed"
            )(scope, receive, send)
            return
        requested = Headers(scope=scope).get("access-control-request-headers", "")
        unknown = [
            h.strip()
            for h in requested.split(",")
            if h.strip() and h.strip().lower() not in PREFLIGHT_HEADERS
        ]
        if unknown:
            await error_response(
                403, f"Forbidden: request headers not allowed: {', '.join(unknown)}"
            )(scope, receive, send)
            return
        response = Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": PREFLIGHT_METHODS,
                "Access-Control-Allow-Headers": ", ".join(PREFLIGHT_HEADERS),
                "Access-Control-Max-Age": "86400",
                "Vary": "Origin",
            },
        )
        await response(scope, receive, send)


class StaticGuard:
    """Token handling for the docroot: optional auth, and the ``?token=`` -> cookie handoff."""

    def __init__(self, app: ASGIApp, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.policy.ctx.token:
            await self.app(scope, receive, send)
            return
        policy = self.policy
        token, source = policy.request_token(scope)
        valid = policy.token_matches(token)
        if source == "query" and valid and scope["method"] in ("GET", "HEAD"):
            # Move the token from the address bar into an HttpOnly cookie.
            query = [
                (k, v)
                for k, v in parse_qsl(
                    scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
                )
                if k != "token"
            ]
            target = scope.get("root_path", "") + scope["raw_path"].decode("latin-1")
            if query:
                target += "?" + urlencode(query)
            response = RedirectResponse(target, status_code=303)
            response.raw_headers.append((b"set-cookie", policy.token_cookie()))
            response.headers["Cache-Control"] = "no-store"
            await response(scope, receive, send)
            return
        if policy.ctx.settings.static_auth and not valid:
            await error_response(401, "Unauthorized: open the URL voxweb printed at start")(
                scope, receive, send
            )
            return
        origin = Headers(scope=scope).get("origin")
        if origin and policy.origin_allowed(origin):
            send = _with_headers(send, policy.cors_headers(origin))
        await self.app(scope, receive, send)
