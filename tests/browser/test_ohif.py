"""OHIF v3 hosted at ``/browse`` (``voxweb serve --ohif DIR``), in a real Chromium.

The prebuilt OHIF comes from the npm package ``@ohif/app`` (``.ci/run`` unpacks it into
``.cache/ohif/package/dist``; ``VOXWEB_OHIF_DIST`` names another folder). Without it the
browser test is skipped with the reason. The study list must show the stored study's
description, and opening the study must fetch frames from this server's ``/dicom``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.browser.conftest import OUTPUT, watch_content_policy
from tests.http.dicomweb_support import multipart_body
from voxweb.dicom.export import volume_to_part10

ROOT = Path(__file__).resolve().parents[2]
OHIF_DIST = Path(os.environ.get("VOXWEB_OHIF_DIST") or ROOT / ".cache/ohif/package/dist")
OHIF_WAIT = 60_000  # OHIF's first start parses about 20 MB of JavaScript


def fake_ohif(tmp_path: Path) -> Path:
    """A stand-in dist with the shapes of the real one: root-relative assets and chunks."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(
        '<!doctype html><script>window.PUBLIC_URL="/"</script>'
        '<script src="/app-config.js"></script><link href="/app.bundle.css" rel="stylesheet">'
        '<script defer src="/app.bundle.1.js"></script><a href="//example.org/x">x</a>'
    )
    (dist / "app.bundle.1.js").write_text('__webpack_require__.p = "/";\nconsole.log(1);\n')
    (dist / "app.bundle.css").write_text("body{}")
    (dist / "assets" / "logo.svg").write_text("<svg/>")
    (dist / "app-config.js").write_text("window.config = {dataSources: ['the demo server']};")
    return dist


def test_ohif_files_are_served_under_browse(voxweb, tmp_path):
    dist = fake_ohif(tmp_path)
    server = voxweb("--ohif", str(dist))
    assert server.get("/api/status").json()["ohif"] == "/browse/"

    moved = server.get("/browse", auth=False, allow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == "/browse/"
    index = server.get("/browse/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert 'window.PUBLIC_URL="/browse/"' in index.text
    assert 'src="/browse/app-config.js"' in index.text
    assert 'src="/browse/app.bundle.1.js"' in index.text
    assert 'href="/browse/app.bundle.css"' in index.text
    assert 'href="//example.org/x"' in index.text  # protocol-relative links are left alone

    # OHIF's own routes (study UIDs contain dots) are its index page.
    for route in ("/browse/viewer?StudyInstanceUIDs=1.2.3", "/browse/viewer/1.2.840.113619"):
        page = server.get(route)
        assert page.status_code == 200 and 'PUBLIC_URL="/browse/"' in page.text, route
    assert server.get("/browse/missing.js", auth=False).status_code == 404
    assert server.get("/browse/../token", auth=False).status_code == 404

    config = server.get("/browse/app-config.js", auth=False)
    assert config.headers["content-type"].startswith("text/javascript")
    assert f'"qidoRoot": "{server.url}/dicom"' in config.text
    assert f'"wadoRoot": "{server.url}/dicom"' in config.text
    assert '"qidoSupportsIncludeField": true' in config.text
    assert '"imageRendering": "wadors"' in config.text
    assert '"routerBasename": "/browse"' in config.text
    assert "the demo server" not in config.text

    chunk = server.get("/browse/app.bundle.1.js", auth=False)
    assert '__webpack_require__.p = "/browse/";' in chunk.text
    assert server.get("/browse/assets/logo.svg", auth=False).text == "<svg/>"
    # The docroot's own pages are untouched.
    assert "voxweb" in server.get("/", auth=False).text


def test_ohif_page_without_a_valid_token_is_a_login_page(voxweb, tmp_path):
    server = voxweb("--ohif", str(fake_ohif(tmp_path)))
    for headers, why in (
        ({}, "needs its API token"),
        ({"Cookie": f"voxweb_token_{server.port}=stale-token-0123456789"}, "earlier token"),
    ):
        page = server.get("/browse/viewer?StudyInstanceUIDs=1.2.3", auth=False, headers=headers)
        assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
        assert why in page.text and "PUBLIC_URL" not in page.text
        # voxweb's own strict policy (no inline script or style), not OHIF's
        assert page.headers["content-security-policy"].startswith("default-src 'self'; script")
        assert "<script" not in page.text and "style=" not in page.text
        assert "voxweb url" in page.text and "voxweb token" in page.text
        assert str((server.data_dir / "token").resolve()) in page.text
        # the form comes back to the same page and keeps the deep link's query
        assert 'action="/browse/viewer"' in page.text
        assert '<input type="hidden" name="StudyInstanceUIDs" value="1.2.3">' in page.text
    wrong = server.get("/browse/?token=not-the-token-0123456789", auth=False)
    assert wrong.status_code == 401 and "not this server" in wrong.text
    # the form's answer: the cookie, and on to the page the user asked for
    login = server.get(
        f"/browse/viewer?StudyInstanceUIDs=1.2.3&token={server.token}",
        auth=False,
        allow_redirects=False,
    )
    assert login.status_code == 303
    assert login.headers["location"] == "/browse/viewer?StudyInstanceUIDs=1.2.3"
    assert f"voxweb_token_{server.port}={server.token}" in login.headers["set-cookie"]
    # the viewer's files and config need no login; without token auth there is no login page
    assert server.get("/browse/app.bundle.1.js", auth=False).status_code == 200
    assert server.get("/browse/app-config.js", auth=False).status_code == 200
    open_server = voxweb("--ohif", str(fake_ohif(tmp_path / "b")), "--auth", "none")
    assert 'PUBLIC_URL="/browse/"' in open_server.get("/browse/", auth=False).text


def test_ohif_flag_needs_a_built_viewer(tmp_path):
    from voxweb.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="npm pack @ohif/app"):
        Settings.load({"ohif": str(tmp_path)}, env={})


def test_without_ohif_browse_is_the_placeholder(shared_server):
    assert shared_server.get("/api/status").json()["ohif"] is None
    assert "not configured" in shared_server.get("/browse/x", auth=False).text


def store_study(server) -> str:
    """Store a small synthetic study; returns its StudyInstanceUID."""
    k, j, i = np.mgrid[0:12, 0:48, 0:48]
    volume = ((i * 5 + j * 3 + k * 20) % 400).astype(np.int16)
    study = "1.2.826.0.1.3680043.8.498.77"
    parts = volume_to_part10(
        volume,
        np.diag([1.0, 1.0, 2.0, 1.0]),
        study_uid=study,
        patient_name="Ohif^Test",
        patient_id="OHIF1",
        study_description="Hosted OHIF study",
        series_description="Ramp",
    )
    body, content_type = multipart_body(parts)
    assert server.post("/dicom/studies", data=body, headers={"Content-Type": content_type}).ok
    return study


def need_ohif() -> None:
    if not (OHIF_DIST / "index.html").is_file():
        pytest.skip(
            f"no OHIF build at {OHIF_DIST}: run `npm pack @ohif/app@3.13.2` and unpack "
            "package/dist there (.ci/run does), or set VOXWEB_OHIF_DIST"
        )


@pytest.mark.browser
@pytest.mark.slow
def test_ohif_without_a_login_shows_how_to_log_in_then_opens(voxweb, browser):
    need_ohif()
    server = voxweb("--ohif", str(OHIF_DIST))
    store_study(server)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(OHIF_WAIT)
    violations = watch_content_policy(page)
    # No cookie at all: voxweb's login page, not OHIF's "Data Source Connection Error".
    page.goto(f"{server.url}/browse/")
    page.get_by_role("heading", name="Log in to open the OHIF viewer").wait_for()
    assert "needs its API token" in page.locator("#login-why").inner_text()
    page.screenshot(path=OUTPUT / "ohif_login.png")
    # A cookie from an earlier token (the server was restarted with --new-token): the same
    # page says so; pasting the token logs in and goes on to OHIF's study list.
    context.add_cookies(
        [{"name": f"voxweb_token_{server.port}", "value": "an-old-token-0123456789",
          "url": server.url}]
    )  # fmt: skip
    page.goto(f"{server.url}/browse/")
    assert "earlier token" in page.locator("#login-why").inner_text()
    page.get_by_label("Token").fill(server.token)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Hosted OHIF study").first.wait_for(timeout=OHIF_WAIT)
    assert page.url == f"{server.url}/browse/"
    assert page.get_by_text("Data Source Connection Error").count() == 0
    page.screenshot(path=OUTPUT / "ohif_after_login.png")
    assert violations == []  # the login page under voxweb's policy, OHIF under its own
    context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_ohif_lists_and_opens_a_study(voxweb, browser):
    need_ohif()
    server = voxweb("--ohif", str(OHIF_DIST))
    study = store_study(server)

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(OHIF_WAIT)
    violations = watch_content_policy(page)  # OHIF runs under its own CSP
    dicom_failures: list[str] = []
    page.on(
        "response",
        lambda r: "/dicom/" in r.url and r.status >= 400 and dicom_failures.append(r.url),
    )
    missing: list[str] = []  # fonts, chunks, images that OHIF asks for and does not get
    page.on("response", lambda r: r.status == 404 and missing.append(r.url))
    # The control panel links to the hosted OHIF.
    page.goto(f"{server.url}/?token={server.token}")
    page.locator("#ohif-note").wait_for(state="hidden")
    assert page.locator("#ohif-link").get_attribute("href") == "/browse/"
    page.goto(f"{server.url}/browse/?token={server.token}")
    assert page.url == f"{server.url}/browse/"
    page.get_by_text("Hosted OHIF study").first.wait_for(timeout=OHIF_WAIT)
    page.screenshot(path=OUTPUT / "ohif_study_list.png")

    with page.expect_request(lambda r: "/frames/" in r.url, timeout=OHIF_WAIT) as frames:
        page.goto(f"{server.url}/browse/viewer?StudyInstanceUIDs={study}")
    request = frames.value
    assert request.url.startswith(f"{server.url}/dicom/studies/{study}/series/")
    response = request.response()
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("multipart/related")
    page.screenshot(path=OUTPUT / "ohif_viewer.png")
    assert dicom_failures == []
    assert missing == []
    assert violations == []
    assert "frame-ancestors 'self'" in response.headers.get("content-security-policy", "")
    context.close()


def test_ohif_styles_and_service_worker_name_assets_under_browse(voxweb, tmp_path):
    dist = fake_ohif(tmp_path)
    (dist / "app.bundle.css").write_text(
        "@font-face{src:url(/a34f.woff2) format('woff2')}"
        ".x{background:url('/assets/logo.svg')}.y{background:url(//cdn.example/z.png)}"
    )
    (dist / "sw.js").write_text(
        'self.__precacheManifest=[{"revision":"1","url":"/app.bundle.1.js"},'
        '{"url":"/a34f.woff2"}];importScripts("https://cdn.example/workbox-sw.js");'
    )
    (dist / "a34f.woff2").write_bytes(b"wOF2")
    server = voxweb("--ohif", str(dist))
    css = server.get("/browse/app.bundle.css", auth=False)
    assert "url(/browse/a34f.woff2)" in css.text
    assert "url('/browse/assets/logo.svg')" in css.text
    assert "url(//cdn.example/z.png)" in css.text  # another host: left alone
    assert server.get("/browse/a34f.woff2", auth=False).status_code == 200
    sw = server.get("/browse/sw.js", auth=False)
    assert '"url":"/browse/app.bundle.1.js"' in sw.text and '"/browse/a34f.woff2"' in sw.text
    assert "https://cdn.example/workbox-sw.js" in sw.text
    # rewritten files are cached like the rest: an ETag, and 304 when it still matches
    for path in ("/browse/app.bundle.css", "/browse/sw.js", "/browse/app.bundle.1.js"):
        first = server.get(path, auth=False)
        etag = first.headers["etag"]
        again = server.get(path, auth=False, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"", path
