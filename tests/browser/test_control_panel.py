"""The control panel pages: served over HTTP, and driven in a real Chromium (Playwright).

The browser test starts a real ``voxweb serve``, opens the printed token URL, and checks what
a user sees: status, API switches that really switch, the live log fed by server-sent events,
Clear log, the no-token notice, and the API documentation page. Screenshots go to
``test-output/`` (git-ignored).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import OUTPUT, T, watch_content_policy
from tests.support.server import wait_for


def test_docroot_pages_are_served_with_their_types(shared_server):
    expected = {
        "/": "text/html",
        "/api.html": "text/html",
        "/browse.html": "text/html",
        "/browse/viewer/1.2.3": "text/html",  # any /browse* address is the OHIF page
        "/panel.js": "text/javascript",
        "/api.js": "text/javascript",
        "/common.js": "text/javascript",
        "/panel.css": "text/css",
        "/favicon.svg": "image/svg+xml",
    }
    for path, content_type in expected.items():
        # Pages need no token: the token protects the APIs they call.
        response = shared_server.get(path, auth=False)
        assert response.status_code == 200, path
        assert response.headers["content-type"].split(";")[0] == content_type, path
    assert "OHIF" in shared_server.get("/browse/viewer/1.2.3", auth=False).text
    assert 'src="/panel.js"' in shared_server.get("/", auth=False).text


@pytest.mark.browser
def test_control_panel_in_chromium(voxweb, browser):
    from playwright.sync_api import expect

    server = voxweb()
    status = server.get("/api/status").json()
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(T)
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    violations = watch_content_policy(page)

    # The token URL sets the cookie and redirects to the clean address.
    page.goto(f"{server.url}/?token={server.token}")
    assert page.url == f"{server.url}/"
    expect(page.locator('[data-field="version"]')).to_have_text(
        f"voxweb {status['version']}", timeout=T
    )
    expect(page.locator('[data-field="port"]')).to_have_text(str(server.port), timeout=T)
    expect(page.locator('[data-field="url"]')).to_have_text(server.url, timeout=T)
    expect(page.locator("#connection")).to_have_text("live", timeout=T)

    # The switches show the server's state; exec is locked without --enable-exec.
    for name, on in status["apis"].items():
        expect(page.locator(f"#switch-{name}")).to_be_checked(checked=on, timeout=T)
    expect(page.locator("#switch-exec")).to_be_disabled(timeout=T)
    expect(page.locator("#help-exec")).to_contain_text("--enable-exec", timeout=T)
    expect(page.locator("#alive-caption")).to_contain_text("the server answered", timeout=T)
    page.screenshot(path=OUTPUT / "control_panel.png", full_page=True)

    # Switch DICOMweb off in the page: the server turns it off and /dicom answers 404.
    assert server.get("/dicom/studies").status_code != 404
    dicom = page.get_by_role("switch", name=re.compile(r"^DICOMweb API"))
    dicom.click()
    wait_for(lambda: server.get("/api/status").json()["apis"]["dicom"] is False, what="dicom off")
    assert server.get("/dicom/studies").status_code == 404
    expect(dicom).not_to_be_checked(timeout=T)
    expect(dicom).to_be_enabled(timeout=T)
    dicom.click()
    wait_for(lambda: server.get("/api/status").json()["apis"]["dicom"] is True, what="dicom on")
    assert server.get("/dicom/studies").status_code != 404

    # A request from elsewhere shows up in the page's log through the event stream.
    assert server.get("/slicer/system/version").status_code == 200
    version_rows = page.locator("#log li").filter(has_text="GET /slicer/system/version 200")
    expect(version_rows.first).to_be_visible(timeout=T)
    page.screenshot(path=OUTPUT / "control_panel_log.png", full_page=True)

    # Clear log empties the panel and the server's log.
    page.get_by_role("button", name="Clear log").click()
    expect(version_rows).to_have_count(0, timeout=T)
    snapshot = server.get("/api/log").json()
    assert snapshot["cleared_at"] > 0
    assert all(entry["seq"] > snapshot["cleared_at"] for entry in snapshot["entries"])
    assert not any("/slicer/system/version" in entry["message"] for entry in snapshot["entries"])
    # Rows left in the page, if any, are only ones logged after the clear.
    page.wait_for_function(
        "cleared => [...document.querySelectorAll('#log li')].every(li => +li.dataset.seq > cleared)",
        arg=snapshot["cleared_at"],
        timeout=T,
    )
    page.screenshot(path=OUTPUT / "control_panel_cleared.png", full_page=True)

    # The API documentation page lists the endpoints from /api/openapi.json.
    page.goto(f"{server.url}/api.html")
    expect(page.locator('article[data-path="/api/status"]')).to_be_visible(timeout=T)
    expect(page.locator('article[data-path="/api/switches"]')).to_contain_text("exec", timeout=T)
    page.screenshot(path=OUTPUT / "api_docs.png", full_page=True)
    assert page_errors == []

    # Without the cookie the page says how to get in, and the token form works.
    fresh = browser.new_context()
    stranger = fresh.new_page()
    stranger.set_default_timeout(T)
    stranger.goto(f"{server.url}/")
    notice = stranger.get_by_text("Open the URL printed by")
    expect(notice).to_be_visible(timeout=T)
    expect(stranger.locator("#panel")).to_be_hidden(timeout=T)
    stranger.screenshot(path=OUTPUT / "control_panel_no_token.png", full_page=True)
    stranger.get_by_label("Or paste the token here:").fill(server.token)
    stranger.get_by_role("button", name="Open the panel").click()
    expect(stranger.locator('[data-field="port"]')).to_have_text(str(server.port), timeout=T)
    assert stranger.url == f"{server.url}/"
    # The API page without the cookie: the same notice, and the static route docs.
    stranger.context.clear_cookies()
    stranger.goto(f"{server.url}/api.html")
    expect(stranger.get_by_text("Open the URL printed by")).to_be_visible(timeout=T)
    expect(stranger.locator("#slicer-title")).to_be_visible(timeout=T)
    fresh.close()

    # A wrong token in the address is called out as such.
    wrong = browser.new_context()
    wrong_page = wrong.new_page()
    wrong_page.goto(f"{server.url}/?token=not-the-right-token")
    expect(wrong_page.locator('[data-role="auth-detail"]')).to_contain_text(
        "not accepted", timeout=T
    )
    wrong.close()
    assert violations == []
    context.close()
