"""``GET /healthz``: readiness for a load balancer, before any other check.

Unauthenticated and outside the Host check (a balancer probes by IP address), so it says
nothing but ready or not: ``200 ok`` when ``check`` finds the service able to answer, ``503``
otherwise (the reason goes to the log, never to the prober). Not in the access log: a probe
every few seconds would push the real requests out of the ring.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"


class Healthz:
    """Answers ``GET``/``HEAD /healthz`` from ``check`` (None: ready; else why not)."""

    def __init__(self, app: ASGIApp, check: Callable[[], str | None]) -> None:
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != HEALTH_PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            response = Response(b"", status_code=405, headers={"Allow": "GET, HEAD"})
        else:
            problem = await run_in_threadpool(self.check)
            if problem is None:
                response = Response(b"ok\n", media_type="text/plain")
            else:
                log.warning("not ready: %s", problem)
                response = Response(b"not ready\n", status_code=503, media_type="text/plain")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        await response(scope, receive, send)
