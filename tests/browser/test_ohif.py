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
    index = server.get("/browse/", auth=False)
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert 'window.PUBLIC_URL="/browse/"' in index.text
    assert 'src="/browse/app-config.js"' in index.text
    assert 'src="/browse/app.bundle.1.js"' in index.text
    assert 'href="/browse/app.bundle.css"' in index.text
    assert 'href="//example.org/x"' in index.text  # protocol-relative links are left alone

    # OHIF's own routes (study UIDs contain dots) are its index page.
    for route in ("/browse/viewer?StudyInstanceUIDs=1.2.3", "/browse/viewer/1.2.840.113619"):
        page = server.get(route, auth=False)
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


def test_ohif_flag_needs_a_built_viewer(tmp_path):
    from voxweb.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="npm pack @ohif/app"):
        Settings.load({"ohif": str(tmp_path)}, env={})


def test_without_ohif_browse_is_the_placeholder(shared_server):
    assert shared_server.get("/api/status").json()["ohif"] is None
    assert "not configured" in shared_server.get("/browse/x", auth=False).text


@pytest.mark.browser
@pytest.mark.slow
def test_ohif_lists_and_opens_a_study(voxweb, browser):
    if not (OHIF_DIST / "index.html").is_file():
        pytest.skip(
            f"no OHIF build at {OHIF_DIST}: run `npm pack @ohif/app@3.13.2` and unpack "
            "package/dist there (.ci/run does), or set VOXWEB_OHIF_DIST"
        )
    server = voxweb("--ohif", str(OHIF_DIST))
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

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(OHIF_WAIT)
    violations = watch_content_policy(page)  # OHIF runs under its own CSP
    dicom_failures: list[str] = []
    page.on(
        "response",
        lambda r: "/dicom/" in r.url and r.status >= 400 and dicom_failures.append(r.url),
    )
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
    assert violations == []
    assert "frame-ancestors 'self'" in response.headers.get("content-security-policy", "")
    context.close()
