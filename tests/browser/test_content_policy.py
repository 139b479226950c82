"""Browser halves of the December attack round, in a real Chromium.

A hostile page is served from another port of 127.0.0.1 (same-site, other origin), while the
browser holds voxweb's login cookie. It tries to frame the logged-in control panel
(clickjacking) and to run code through ``/slicer/exec`` with a no-cors ``text/plain`` POST
under ``--cors-origin '*'``. Both must fail. voxweb's own pages must run without a single
Content-Security-Policy violation.
"""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from tests.browser.conftest import OUTPUT, T, watch_content_policy
from tests.support.server import wait_for

pytestmark = pytest.mark.browser


class AttackerSite:
    """A plain HTTP server on another loopback port serving one page."""

    def __init__(self, html: str) -> None:
        body = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/attack.html"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def logged_in_page(browser, server):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(T)
    page.goto(f"{server.url}/?token={server.token}")  # sets the SameSite=Strict cookie
    page.locator('[data-field="port"]').filter(has_text=str(server.port)).wait_for()
    return page


def test_another_localhost_port_cannot_frame_the_panel(voxweb, browser):
    server = voxweb()
    page = logged_in_page(browser, server)
    site = AttackerSite(f'<iframe id="victim" src="{server.url}/" width=900 height=600></iframe>')
    try:
        blocked: list[str] = []
        page.on("console", lambda m: "frame-ancestors" in m.text and blocked.append(m.text))
        page.goto(site.url)
        wait_for(lambda: blocked, timeout=T / 1000, what="Chromium to block the frame")
        frames = [f for f in page.frames if f != page.main_frame]
        assert frames, "the iframe was not created at all"
        # The panel never rendered inside the frame: no version field, no buttons to click.
        assert all(f.locator('[data-field="port"]').count() == 0 for f in frames)
        page.screenshot(path=OUTPUT / "clickjacking_blocked.png")
        # The panel still loads as a page of its own.
        page.goto(f"{server.url}/")
        page.locator('[data-field="port"]').filter(has_text=str(server.port)).wait_for()
    finally:
        site.close()
        page.context.close()


def test_wildcard_cors_page_on_another_port_cannot_exec_with_the_cookie(voxweb, browser, tmp_path):
    marker = tmp_path / "pwned"
    server = voxweb("--enable-exec", "--cors-origin", "*")
    page = logged_in_page(browser, server)
    code = json.dumps(f"open({str(marker)!r}, 'w').write('x')\n__execResult = 1")
    site = AttackerSite(
        "<script>"
        f"fetch('{server.url}/slicer/exec', {{method: 'POST', mode: 'no-cors', "
        f"credentials: 'include', headers: {{'Content-Type': 'text/plain'}}, body: {code}}})"
        ".then(() => document.title = 'sent', () => document.title = 'sent');"
        f"const img = new Image(); img.src = '{server.url}/slicer/sampledata?name=MRHead';"
        "</script>"
    )
    names_before = server.get("/slicer/mrml/names").json()
    exec_status: list[int] = []
    page.on("response", lambda r: "/slicer/exec" in r.url and exec_status.append(r.status))
    sample_done: list[str] = []  # Chromium's ORB may fail the <img> instead of answering it
    for event in ("requestfinished", "requestfailed"):
        page.on(event, lambda r, e=event: "sampledata" in r.url and sample_done.append(e))
    try:
        page.goto(site.url)
        page.wait_for_function("document.title === 'sent'")
        wait_for(lambda: exec_status, timeout=T / 1000, what="the exec response")
        assert exec_status == [403]
        wait_for(lambda: sample_done, timeout=T / 1000, what="the <img> request to end")
        assert not marker.exists(), "the hostile page ran code"
        # the <img> loaded no sample either
        assert server.get("/slicer/mrml/names").json() == names_before
    finally:
        site.close()
        page.context.close()


def test_own_pages_run_under_their_policy(voxweb, browser, tmp_path):
    server = voxweb("--no-sample-download")
    page = logged_in_page(browser, server)
    violations = watch_content_policy(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for path, ready in (
        ("/", '[data-field="version"]'),
        ("/api.html", "#slicer-title"),
        ("/viewer.html", "#views .view"),
    ):
        response = page.goto(server.url + path)
        assert "script-src 'self';" in response.headers["content-security-policy"]
        page.locator(ready).first.wait_for()
    # the viewer draws an uploaded volume: images, blobs and the event stream all allowed
    volume = Path(tmp_path / "cube.nrrd")
    volume.write_bytes(
        b"NRRD0004\ntype: uint8\ndimension: 3\nsizes: 8 8 8\nencoding: raw\n"
        b"space: left-posterior-superior\nspace directions: (1,0,0) (0,1,0) (0,0,1)\n"
        b"space origin: (0,0,0)\n\n" + bytes(range(256)) * 2
    )
    page.set_input_files("#file-input", [str(volume)])
    wait_for(lambda: "cube" in server.get("/slicer/mrml/names").json(), timeout=20, what="upload")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#views img')].some(i => i.naturalWidth > 0)"
    )
    page.screenshot(path=OUTPUT / "viewer_under_csp.png")
    assert violations == [] and errors == []
    page.context.close()
