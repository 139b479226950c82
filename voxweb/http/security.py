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
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxweb.context import ServerContext
from voxweb.http.responses import error_response, local_redirect
from voxweb.tokenfile import token_path

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


# host[:port] and nothing else: no userinfo ("evil@localhost"), path, query or spaces.
_HOST_FORM = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?")


def _split_host(value: str) -> tuple[str, int | None]:
    """``"[::1]:2016"`` -> ``("::1", 2016)``; ``"localhost"`` -> ``("localhost", None)``.

    Anything that is not exactly host[:port] gives ``("", None)``, which no check accepts.
    """
    match = _HOST_FORM.fullmatch(value)
    if match is None:
        return "", None
    port = int(match.group(2)) if match.group(2) else None
    if port is not None and port > 65535:
        return "", None
    return match.group(1).strip("[]").lower(), port


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


# Kinds of SiteVerdict.
SAME = "same"  # this server's own pages, or a navigation the user made
NAMED = "named"  # an origin listed by name with --cors-origin
ANY = "any"  # a foreign origin that only --cors-origin '*' lets in
UNKNOWN = "unknown"  # no browser signal at all: a script, curl, or a very old browser
FOREIGN = "foreign"  # another site, not allowed


@dataclass(frozen=True)
class SiteVerdict:
    kind: str
    origin: str | None = None  # the Origin to echo in CORS headers
    why: str = ""


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
        self.token_file = str(token_path(settings.resolved_data_dir()))

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

    def origin_named(self, origin: str) -> bool:
        """Listed by name with --cors-origin (``*`` does not count)."""
        return origin.lower().rstrip("/") in self.origins

    def origin_allowed(self, origin: str) -> bool:
        return self.any_origin or self.origin_named(origin)

    def is_own_origin(self, origin: str, headers: Headers, scheme: str) -> bool:
        try:
            parts = urlsplit(origin)
            origin_port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        host, port = _split_host(headers.get("host", ""))
        port = port or (443 if scheme == "https" else 80)
        return parts.scheme == scheme and (parts.hostname or "") == host and origin_port == port

    def site_verdict(self, scope: Scope) -> SiteVerdict:
        """Where a request comes from, as far as the browser tells (see ``SiteVerdict``)."""
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        scheme = scope.get("scheme", "http")
        if origin is not None:
            if self.is_own_origin(origin, headers, scheme):
                return SiteVerdict(SAME)
            if origin != "null" and self.origin_named(origin):
                return SiteVerdict(NAMED, origin)
            if origin != "null" and self.any_origin:
                return SiteVerdict(ANY, origin)
            return SiteVerdict(FOREIGN, why=f"requests from origin {origin!r} are not allowed")
        fetch_site = headers.get("sec-fetch-site", "").lower()
        referer = headers.get("referer")
        ref_origin = _origin_of(referer) if referer else None
        if fetch_site in ("cross-site", "same-site"):
            # An <img>/<script>/link load carries no Origin; its Referer may name an allowed one.
            if ref_origin and self.origin_named(ref_origin):
                return SiteVerdict(NAMED)
            if ref_origin and self.any_origin:
                return SiteVerdict(ANY)
            return SiteVerdict(FOREIGN, why=f"{fetch_site} requests are not allowed")
        if fetch_site in ("same-origin", "none"):
            return SiteVerdict(SAME)  # "none": the user typed the address or used a bookmark
        # No Origin and no Sec-Fetch-Site: a script or curl, or a browser too old to send
        # Sec-Fetch-Site. Only the Referer can tell a same-origin page from a foreign one.
        if ref_origin and self.is_own_origin(ref_origin, headers, scheme):
            return SiteVerdict(SAME)
        return SiteVerdict(UNKNOWN)

    def cookie_allowed(self, verdict: SiteVerdict) -> bool:
        """The login cookie counts only on requests from this server's own pages (or from an
        origin listed by name): another port of localhost is same-site, so the browser sends
        the SameSite=Strict cookie with its requests too."""
        return verdict.kind in (SAME, NAMED)

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
            hosts = [v for k, v in scope["headers"] if k == b"host"]
            if len(hosts) > 1:
                # Proxies and servers disagree on which of two Hosts counts: refuse both.
                await error_response(400, "Bad Request: more than one Host header")(
                    scope, receive, send
                )
                return
            host = hosts[0].decode("latin-1") if hosts else None
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
        verdict = policy.site_verdict(scope)
        headers = Headers(scope=scope)
        if is_preflight(scope, headers):
            # Answered here, never passed on: a handler sees no request without a token.
            await self._preflight(scope, receive, send, verdict)
            return
        if verdict.kind == FOREIGN:
            await error_response(403, f"Forbidden: {verdict.why}")(scope, receive, send)
            return
        send = _with_headers(send, policy.cors_headers(verdict.origin))
        if policy.ctx.token:
            token, source = policy.request_token(scope)
            if not policy.token_matches(token):
                await unauthorized(token, policy.token_file)(scope, receive, send)
                return
            if source == "cookie" and not policy.cookie_allowed(verdict):
                await error_response(
                    403,
                    "Forbidden: the login cookie is accepted only from this server's own pages "
                    "(or an origin listed by name with --cors-origin); other pages must send "
                    "'Authorization: Bearer <token>'",
                )(scope, receive, send)
                return
            if verdict.kind == ANY and source != "header":
                await error_response(
                    403,
                    "Forbidden: with --cors-origin '*', pages from other origins must send "
                    "the token as 'Authorization: Bearer <token>'",
                )(scope, receive, send)
                return
            if source == "query":
                send = _with_headers(send, [(b"set-cookie", policy.token_cookie())])
        await self.app(scope, receive, send)

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, verdict: SiteVerdict
    ) -> None:
        if verdict.kind not in (NAMED, ANY) or not verdict.origin:
            await error_response(
                403, "Forbidden: CORS preflight from an origin that is not allowed"
            )(scope, receive, send)
            return
        origin = verdict.origin
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


def is_preflight(scope: Scope, headers: Headers) -> bool:
    """A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. Any other
    OPTIONS is an ordinary request and needs the token like the rest."""
    return (
        scope["method"] == "OPTIONS"
        and "origin" in headers
        and "access-control-request-method" in headers
    )


def unauthorized(token: str | None, token_file: str) -> Response:
    """401 that tells a Slicer user whose curl recipe has no token what to do."""
    why = "missing" if token is None else "wrong"
    return error_response(
        401,
        f"Unauthorized: the API token is {why}. Send it in the header "
        "'Authorization: Bearer <token>', e.g. "
        'curl -H "Authorization: Bearer $(voxweb token)" <url>. '
        f"The token is in the file {token_file} and `voxweb token` prints it; browsers: "
        "open the URL voxweb printed at start (`voxweb url` prints it again). Legacy clients "
        "that cannot send a token: restart with --auth none (loopback only; then any local "
        "process can use the API).",
        headers={"WWW-Authenticate": 'Bearer realm="voxweb"'},
    )


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
            response = local_redirect(target, 303)
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
