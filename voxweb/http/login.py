"""A login page in front of the hosted OHIF (``--ohif``) when the browser has no valid token.

OHIF itself cannot tell a missing token from a dead server: with no cookie (or one from an
earlier token) its study list shows "Data Source Connection Error". So when token auth is
on and OHIF's page is asked for without a valid token, voxweb answers with its own small
page instead: what to open, or a field to paste the token into. The form is a plain GET to
the same address with ``?token=``; ``StaticGuard`` turns that into the cookie and redirects
to the clean address, so the viewer opens where the user was going (deep links keep their
query). No script and no inline style: the page runs under voxweb's own strict policy.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl

from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from voxweb.http.headers import OWN_PAGES_POLICY
from voxweb.http.security import SecurityPolicy
from voxweb.http.static import OhifFiles


class OhifLogin:
    """Wraps ``OhifFiles``: its page only with a valid token, else the login page."""

    def __init__(self, app: ASGIApp, files: OhifFiles, policy: SecurityPolicy) -> None:
        self.app = app
        self.files = files
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        policy = self.policy
        if scope["type"] == "http" and policy.ctx.token and self.files.serves_page(scope):
            token, source = policy.request_token(scope)
            if not policy.token_matches(token):
                await self.page(scope, source)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def page(self, scope: Scope, source: str | None) -> HTMLResponse:
        if source == "cookie":
            why = (
                "This browser's login is from an earlier token of this server: it was "
                "restarted with a new token (--new-token), or the token was rotated."
            )
        elif source is not None:
            why = "That token is not this server's token."
        else:
            why = "This voxweb server needs its API token before OHIF can read its studies."
        action = scope.get("root_path", "") + scope["raw_path"].decode("latin-1")
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query
            if k != "token"
        )
        e = html.escape
        body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>voxweb: log in to open OHIF</title>
</head>
<body>
<main id="ohif-login">
<h1>Log in to open the OHIF viewer</h1>
<p id="login-why">{e(why)}</p>
<p>Open the address voxweb printed when it started (it ends in <code>?token=…</code>);
<code>voxweb url</code> prints it again. Then come back to <a href="{e(action)}">this page</a>.</p>
<p>Or paste the token here. <code>voxweb token</code> prints it; it is also in the file
<code>{e(self.policy.token_file)}</code>.</p>
<form method="get" action="{e(action)}">
{hidden}
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Log in</button>
</form>
<p>The browser keeps the login as a cookie for this server; OHIF opens once it is set.</p>
</main>
</body>
</html>
"""
        return HTMLResponse(
            body,
            status_code=401,
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": OWN_PAGES_POLICY,
                "WWW-Authenticate": 'Bearer realm="voxweb"',
            },
        )
