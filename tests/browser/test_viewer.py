"""The viewer page (``/viewer.html``) in a real Chromium, against a real ``voxweb serve``.

It starts with an empty scene and does what a user does: loads the MRHead sample, scrolls a
slice view with the wheel, drags window/level, places and moves points, switches layouts,
uploads NRRD and NIfTI files, loads a DICOM series stored through STOW-RS, and sees changes
made by another client. Every wait is for a condition; screenshots go to ``test-output/``.
"""

from __future__ import annotations

import io

import nibabel as nib
import nrrd
import numpy as np
import pytest

from tests.browser.conftest import OUTPUT, T, watch_content_policy
from tests.http.dicomweb_support import multipart_body
from tests.support.server import wait_for
from tests.support.volumes import nrrd_header_for, raw_nrrd
from voxweb.dicom.export import volume_to_part10

pytestmark = pytest.mark.browser

# Pixel statistics of an <img> (its red channel) read back through a canvas.
IMAGE_STATS = """(selector) => {
  const img = document.querySelector(selector);
  if (!img || !img.naturalWidth) return null;
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0, sq = 0, hash = 0;
  const n = d.length / 4;
  for (let i = 0; i < d.length; i += 4) {
    const v = d[i];
    sum += v; sq += v * v;
    hash = (hash * 31 + v + d[i + 1] * 7 + d[i + 2] * 13) % 1000000007;
  }
  const mean = sum / n;
  return {mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)), w: canvas.width, h: canvas.height, hash};
}"""


def frame(view: str) -> str:
    return f'.view[data-view="{view}"] img.frame'


def sphere_volume(n: int = 32) -> np.ndarray:
    k, j, i = np.mgrid[0:n, 0:n, 0:n]
    r = np.sqrt((i - n / 2) ** 2 + (j - n / 2) ** 2 + (k - n / 2) ** 2)
    return np.where(r < n / 3, 800 - r * 10, 20).astype(np.int16)


def store_series(server) -> tuple[str, str]:
    """STOW-RS a small synthetic MR series; returns (study UID, series UID)."""
    study, series = "1.2.826.0.1.3680043.8.498.901", "1.2.826.0.1.3680043.8.498.901.1"
    parts = volume_to_part10(
        sphere_volume(),
        np.diag([1.2, 1.2, 1.5, 1.0]),
        study_uid=study,
        series_uid=series,
        patient_name="Viewer^Test",
        study_description="Viewer sphere study",
        series_description="Sphere T1",
    )
    body, content_type = multipart_body(parts)
    reply = server.post("/dicom/studies", data=body, headers={"Content-Type": content_type})
    assert reply.status_code == 200, reply.text
    return study, series


def properties_of(server, node_id: str) -> dict:
    return server.get(f"/slicer/mrml/properties?id={node_id}").json()[node_id]


def volume_names(server) -> list[str]:
    return [v["name"] for v in server.get("/slicer/volumes").json()]


def open_viewer(browser, server):
    """A page on the viewer, entered through the token URL, with its errors collected."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    # An init script, not eval() in the page: the viewer's CSP forbids eval, as it should.
    page.add_init_script(f"window.__imageStats = {IMAGE_STATS};")
    page.set_default_timeout(T)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{server.url}/viewer.html?token={server.token}")
    assert page.url == f"{server.url}/viewer.html"
    page.locator("#connection").filter(has_text="live").wait_for(timeout=T)
    return page


def settled(page, view: str) -> None:
    """Wait until the view has shown a PNG and has nothing in flight."""
    page.wait_for_function(
        """(sel) => { const img = document.querySelector(sel);
            return img && img.dataset.format === 'png' && !img.closest('.view').dataset.busy; }""",
        arg=frame(view),
        timeout=T,
    )


def test_viewer_in_chromium(voxweb, browser, tmp_path):
    server = voxweb("--no-sample-download")

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    # An init script, not eval() in the page: the viewer's CSP forbids eval, as it should.
    page.add_init_script(f"window.__imageStats = {IMAGE_STATS};")
    page.set_default_timeout(T)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    violations = watch_content_policy(page)  # the whole session runs under the page CSP

    # Count image requests in flight per view: never more than one.
    in_flight: dict[str, int] = {}
    most: dict[str, int] = {}

    def view_of(url: str) -> str | None:
        if "/slicer/slice?" in url:
            return url.split("view=")[1].split("&")[0]
        if "/slicer/threeD?" in url:
            return "3D"
        return None

    def started(request) -> None:
        view = view_of(request.url)
        if view:
            in_flight[view] = in_flight.get(view, 0) + 1
            most[view] = max(most.get(view, 0), in_flight[view])

    def ended(request) -> None:
        view = view_of(request.url)
        if view:
            in_flight[view] -= 1

    page.on("request", started)
    page.on("requestfinished", ended)
    page.on("requestfailed", ended)

    def stats(view: str) -> dict:
        return page.evaluate(IMAGE_STATS, frame(view))

    def settled(view: str) -> None:
        """Wait until the view has shown a PNG and has nothing in flight."""
        page.wait_for_function(
            """(sel) => { const img = document.querySelector(sel);
                return img && img.dataset.format === 'png' && !img.closest('.view').dataset.busy; }""",
            arg=frame(view),
            timeout=T,
        )

    def loads(view: str) -> int:
        return int(page.locator(frame(view)).get_attribute("data-loads") or 0)

    # The token URL sets the cookie and lands on the clean address; the scene is empty.
    page.goto(f"{server.url}/viewer.html?token={server.token}")
    assert page.url == f"{server.url}/viewer.html"
    page.locator("#connection").filter(has_text="live").wait_for(timeout=T)
    views = page.locator("#views .view")
    assert views.count() == 4
    page.get_by_text("No volume in this view").first.wait_for(timeout=T)

    # Sample data: one click, and all four views show non-blank images.
    page.get_by_role("button", name="MRHead").click()
    wait_for(lambda: "MRHead" in volume_names(server), timeout=30, what="MRHead loaded")
    for view in ("Red", "Yellow", "Green", "3D1"):
        page.wait_for_function(
            "([sel, stats]) => { const s = window.__imageStats(sel); return s && s.std > 5; }",
            arg=[frame(view), IMAGE_STATS],
            timeout=T,
        )
        settled(view)
        s = stats(view)
        box = page.locator(frame(view)).bounding_box()  # the view below its toolbar
        assert abs(s["w"] - box["width"]) <= 2 and abs(s["h"] - box["height"]) <= 2, (view, s, box)
    page.screenshot(path=OUTPUT / "viewer_fourup.png")

    # The wheel scrolls the Red view: new position on the server, a different picture.
    red = page.locator(frame("Red"))
    before = stats("Red")
    offset_before = server.get("/slicer/mrml/properties?id=vtkMRMLSliceNodeRed").json()
    offset_before = offset_before["vtkMRMLSliceNodeRed"]["SliceOffset"]
    red_box = red.bounding_box()
    page.mouse.move(red_box["x"] + red_box["width"] / 2, red_box["y"] + red_box["height"] / 2)
    for _ in range(12):
        page.mouse.wheel(0, 100)
    wait_for(
        lambda: (
            server.get("/slicer/mrml/properties?id=vtkMRMLSliceNodeRed").json()[
                "vtkMRMLSliceNodeRed"
            ]["SliceOffset"]
            < offset_before - 5
        ),
        what="the Red slice to move down",
    )
    settled("Red")
    page.wait_for_function(
        "([sel, stats, hash]) => { const s = window.__imageStats(sel); return s && s.hash !== hash; }",
        arg=[frame("Red"), IMAGE_STATS, before["hash"]],
    )
    assert "jpeg" in red.get_attribute("data-formats")  # JPEG while scrolling, PNG once idle

    # The keyboard moves the focused view too: one ArrowUp is one slice up.
    offset = properties_of(server, "vtkMRMLSliceNodeRed")["SliceOffset"]
    page.locator('.view[data-view="Red"]').focus()
    page.keyboard.press("ArrowUp")
    wait_for(
        lambda: properties_of(server, "vtkMRMLSliceNodeRed")["SliceOffset"] > offset + 0.5,
        what="ArrowUp to move the Red slice",
    )
    settled("Red")
    assert most["Red"] == 1, most

    # Left-drag on Yellow changes window/level: the pixel values change.
    settled("Yellow")
    before = stats("Yellow")
    box = page.locator(frame("Yellow")).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 150, y + 80, steps=15)
    page.mouse.up()
    page.wait_for_function(
        "(sel) => document.querySelector(sel).dataset.src.includes('window=')", arg=frame("Yellow")
    )
    settled("Yellow")
    after = stats("Yellow")
    assert abs(after["mean"] - before["mean"]) > 2, (before, after)
    assert most["Yellow"] == 1, most
    page.screenshot(path=OUTPUT / "viewer_window_level.png")

    # Clicks in the Green view place points where the click was, then move one.
    settled("Green")
    green = server.get("/slicer/mrml/properties?id=vtkMRMLSliceNodeGreen").json()
    centre_ras = np.array(green["vtkMRMLSliceNodeGreen"]["SliceToRAS"])[:3, 3]
    box = page.locator(frame("Green")).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    def points() -> list[list[float]]:
        out = []
        for node in server.get("/slicer/fiducials").json().values():
            out += [m["position"] for m in node["markups"]]
        return out

    wait_for(lambda: len(points()) == 1, what="a point placed by a click")
    spacing = max(green["vtkMRMLSliceNodeGreen"]["FieldOfView"][:2]) / min(
        box["width"], box["height"]
    )
    assert np.linalg.norm(np.array(points()[0]) - centre_ras) < 2 * spacing + 0.5
    page.mouse.click(box["x"] + box["width"] / 4, box["y"] + box["height"] / 4)
    wait_for(lambda: len(points()) == 2, what="a second point")
    page.locator("#fiducials tr").nth(1).wait_for(timeout=T)
    first = points()[0]
    page.get_by_label("Move F-1 with the next click").check()
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6)
    wait_for(lambda: points()[0] != first, what="the first point to move")
    assert len(points()) == 2
    page.locator("#fiducials tr").first.wait_for(timeout=T)
    page.screenshot(path=OUTPUT / "viewer_points.png")

    # The 3-D view: a look-from button and a drag both give new pictures.
    settled("3D1")
    before = stats("3D1")
    page.locator('.view[data-view="3D1"]').get_by_role("button", name="L", exact=True).click()
    page.wait_for_function(
        "([sel, stats, hash]) => { const s = window.__imageStats(sel); return s && s.hash !== hash; }",
        arg=[frame("3D1"), IMAGE_STATS, before["hash"]],
    )
    box = page.locator(frame("3D1")).bounding_box()
    n = loads("3D1")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2, steps=12)
    page.mouse.up()
    settled("3D1")
    assert loads("3D1") > n
    # The wheel zooms the 3-D view.
    before = stats("3D1")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)
    settled("3D1")
    page.wait_for_function(
        "([sel, stats, hash]) => { const s = window.__imageStats(sel); return s && s.hash !== hash; }",
        arg=[frame("3D1"), IMAGE_STATS, before["hash"]],
    )
    assert "zoom=" in " ".join(
        page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)")
    )
    assert most["3D"] == 1, most

    # Layouts: the menu offers the server's layouts (/api/layouts), in its order.
    from voxweb.scene.views import LAYOUT_TITLES

    options = page.eval_on_selector_all("#layout option", "os => os.map(o => [o.value, o.text])")
    assert options == [list(item) for item in LAYOUT_TITLES.items()]
    # Layouts: the switcher changes the number of views; so does another client.
    page.select_option("#layout", "OneUp3D")
    page.wait_for_function("() => document.querySelectorAll('#views .view').length === 1")
    wait_for(
        lambda: (
            server.get("/slicer/mrml/properties?id=vtkMRMLLayoutNodevtkMRMLLayoutNode").json()[
                "vtkMRMLLayoutNodevtkMRMLLayoutNode"
            ]["LayoutName"]
            == "OneUp3D"
        ),
        what="the server's layout to follow",
    )
    assert server.get("/slicer/gui?viewersLayout=Conventional").status_code == 200
    page.wait_for_function("() => document.querySelectorAll('#views .view').length === 4")
    assert page.locator("#layout").input_value() == "Conventional"
    # Another client moves the Red slice: the page's position and picture follow.
    settled("Red")
    before = stats("Red")
    assert server.get("/slicer/slice?view=Red&offset=30&size=64x64").status_code == 200
    page.locator('.view[data-view="Red"] .offset').filter(has_text="30.0 mm").wait_for(timeout=T)
    page.wait_for_function(
        "([sel, stats, hash]) => { const s = window.__imageStats(sel); return s && s.hash !== hash; }",
        arg=[frame("Red"), IMAGE_STATS, before["hash"]],
    )
    settled("Red")
    page.screenshot(path=OUTPUT / "viewer_conventional.png")
    page.select_option("#layout", "FourUp")
    page.wait_for_function("() => document.querySelectorAll('#views .view').length === 4")

    # The orientation menu turns the Red view sagittal (on the server too), and back.
    def red_orientation() -> str:
        reply = server.get("/slicer/mrml/properties?id=vtkMRMLSliceNodeRed").json()
        return reply["vtkMRMLSliceNodeRed"]["Orientation"]

    settled("Red")
    before = stats("Red")
    page.get_by_label("Red orientation").select_option("Sagittal")
    wait_for(lambda: red_orientation() == "Sagittal", what="Red to turn sagittal")
    page.wait_for_function(
        "([sel, stats, hash]) => { const s = window.__imageStats(sel); return s && s.hash !== hash; }",
        arg=[frame("Red"), IMAGE_STATS, before["hash"]],
    )
    page.get_by_label("Red orientation").select_option("Axial")
    wait_for(lambda: red_orientation() == "Axial", what="Red to turn axial again")

    # The label-map opacity reaches every slice view.
    page.locator("#label-opacity").fill("0.3")
    wait_for(
        lambda: all(
            abs(node["LabelOpacity"] - 0.3) < 1e-6
            for node in server.get("/slicer/mrml/properties?class=vtkMRMLSliceNode").json().values()
        ),
        what="the label opacity on the server",
    )

    # Files chosen (or dropped) on the page are uploaded and loaded: NRRD and NIfTI.
    array = sphere_volume(24)
    nrrd_path = tmp_path / "ball.nrrd"
    buffer = io.BytesIO()
    nrrd.write(buffer, array, {**nrrd_header_for(np.eye(4)), "encoding": "raw"}, index_order="C")
    nrrd_path.write_bytes(buffer.getvalue())
    nifti_path = tmp_path / "ball2.nii.gz"
    nib.save(nib.Nifti1Image(np.transpose(array, (2, 1, 0)).copy(), np.eye(4)), nifti_path)
    # The NRRD is dropped on the page (a real drop event carrying a file), the NIfTI chosen.
    page.evaluate(
        """([name, bytes]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(bytes)], name));
          const target = document.querySelector('#views');
          for (const type of ['dragenter', 'dragover', 'drop']) {
            target.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
          }
        }""",
        ["ball.nrrd", list(nrrd_path.read_bytes())],
    )
    wait_for(lambda: "ball" in volume_names(server), what="the dropped NRRD to load")
    page.set_input_files("#file-input", [str(nifti_path)])
    wait_for(
        lambda: {"ball", "ball2"} <= set(volume_names(server)), what="the uploaded files to load"
    )
    page.locator("#load-status").filter(has_text="ball2.nii.gz loaded.").wait_for(timeout=T)

    # The volume chooser brings MRHead back.
    mrhead = next(v["id"] for v in server.get("/slicer/volumes").json() if v["name"] == "MRHead")
    page.select_option("#volume", mrhead)
    wait_for(
        lambda: (
            server.get("/slicer/mrml/properties?id=vtkMRMLSelectionNodeSingleton").json()[
                "vtkMRMLSelectionNodeSingleton"
            ]["ActiveVolumeID"]
            == mrhead
        ),
        what="MRHead to be active again",
    )
    # ... fitted to it again (the small uploaded balls had zoomed the views in).
    wait_for(
        lambda: properties_of(server, "vtkMRMLSliceNodeRed")["FieldOfView"][0] > 150,
        what="the Red view to fit MRHead",
    )

    # A file the server cannot read: the page says so in plain words.
    bad = tmp_path / "broken.nrrd"
    bad.write_bytes(b"this is not an NRRD file")
    page.set_input_files("#file-input", [str(bad)])
    page.locator("#error").filter(has_text="could not load broken.nrrd").wait_for(timeout=T)
    page.screenshot(path=OUTPUT / "viewer_error.png")

    assert errors == []
    assert violations == []
    assert max(most.values()) == 1, most
    messages = page.locator(".view .message:visible")
    assert messages.count() == 0, messages.all_inner_texts()

    # Without the cookie the page explains how to get in.
    stranger = browser.new_context().new_page()
    stranger.goto(f"{server.url}/viewer.html")
    stranger.get_by_text("Open the URL printed by").wait_for(timeout=T)
    stranger.context.close()
    context.close()


def test_viewer_loads_a_dicom_series(voxweb, browser):
    server = voxweb("--no-sample-download")
    study_uid, series_uid = store_series(server)
    page = open_viewer(browser, server)

    # DICOM browser: studies -> series -> Load.
    page.get_by_role("button", name="Viewer sphere study").click()
    page.get_by_role("button", name="Load series Sphere T1 into the scene").click()
    # named as Slicer names a series: "<SeriesNumber>: <SeriesDescription>"
    wait_for(lambda: "1: Sphere T1" in volume_names(server), what="the DICOM series in the scene")
    page.wait_for_function(
        "(name) => document.querySelector('#volume').selectedOptions[0]?.text === name",
        arg="1: Sphere T1",
    )
    settled(page, "Red")
    page.wait_for_function(
        "([sel, stats]) => { const s = window.__imageStats(sel); return s && s.std > 5; }",
        arg=[frame("Red"), IMAGE_STATS],
    )
    page.screenshot(path=OUTPUT / "viewer_dicom.png")
    active = server.get("/slicer/mrml/properties?id=vtkMRMLSelectionNodeSingleton").json()
    loaded_id = active["vtkMRMLSelectionNodeSingleton"]["ActiveVolumeID"]
    voxels = server.get(f"/slicer/volume?id={loaded_id}")
    assert voxels.status_code == 200
    header_end = voxels.content.index(b"\n\n") + 2
    assert len(voxels.content) - header_end == sphere_volume().nbytes
    assert page.locator(f'li[data-study="{study_uid}"] li[data-series="{series_uid}"]').count() == 1
    assert page.errors == []
    page.context.close()


def test_empty_views_show_no_broken_image_and_images_start_below_the_toolbar(voxweb, browser):
    server = voxweb()
    page = open_viewer(browser, server)
    page.locator(frame("Red")).wait_for(state="attached", timeout=T)
    empty = page.evaluate(
        """() => [...document.querySelectorAll('.view img.frame')].map((img) =>
            [img.hasAttribute('src'), getComputedStyle(img).visibility])"""
    )
    assert empty and all(item == [False, "hidden"] for item in empty), empty
    page.screenshot(path=str(OUTPUT / "viewer-empty-scene.png"))
    header = nrrd_header_for(np.diag([1.0, 1.0, 1.0, 1.0]))
    buffer = io.BytesIO()
    nrrd.write(buffer, sphere_volume(), header)
    reply = server.post("/slicer/volume?id=sphere", data=buffer.getvalue())
    assert reply.status_code == 200, reply.text
    settled(page, "Red")
    geometry = page.evaluate(
        """(sel) => { const img = document.querySelector(sel);
            const bar = img.closest('.view').querySelector('.bar').getBoundingClientRect();
            const box = img.getBoundingClientRect();
            const view = img.closest('.view').getBoundingClientRect();
            return {barBottom: bar.bottom, top: box.top, bottom: box.bottom,
                    viewBottom: view.bottom, visible: getComputedStyle(img).visibility,
                    ratio: img.naturalWidth / img.naturalHeight, boxRatio: box.width / box.height}; }""",
        frame("Red"),
    )
    assert geometry["visible"] == "visible"
    assert geometry["top"] >= geometry["barBottom"] - 0.5  # nothing hides under the toolbar
    assert abs(geometry["bottom"] - geometry["viewBottom"]) < 1
    assert abs(geometry["ratio"] - geometry["boxRatio"]) < 0.02  # rendered for the area below
    page.screenshot(path=str(OUTPUT / "viewer-below-toolbar.png"))
    assert not page.errors


def test_three_d_centre_button_undoes_zoom_and_look_from_fits(voxweb, browser):
    server = voxweb()
    header = nrrd_header_for(np.diag([1.0, 1.0, 1.0, 1.0]))
    buffer = io.BytesIO()
    nrrd.write(buffer, sphere_volume(), header)
    assert server.post("/slicer/volume?id=sphere", data=buffer.getvalue()).status_code == 200
    page = open_viewer(browser, server)
    settled(page, "3D1")
    bar = page.locator('.view[data-view="3D1"] .bar')
    bar.get_by_role("button", name="A", exact=True).click()
    page.wait_for_function(
        "(sel) => (document.querySelector(sel).dataset.src || '').includes('lookFromAxis=A')",
        arg=frame("3D1"),
    )
    settled(page, "3D1")
    fitted = server.get("/slicer/mrml/properties?class=vtkMRMLViewNode").json()
    camera = next(iter(fitted.values()))["Camera"]
    page.locator(frame("3D1")).hover()
    page.mouse.wheel(0, -600)  # zoom in
    page.wait_for_function(
        "(sel) => (document.querySelector(sel).dataset.src || '').includes('zoom=')",
        arg=frame("3D1"),
    )
    settled(page, "3D1")
    bar.locator('[data-role="centre"]').click()
    page.wait_for_function(
        "(sel) => (document.querySelector(sel).dataset.src || '').includes('centerView=1')",
        arg=frame("3D1"),
    )
    settled(page, "3D1")
    after = next(iter(server.get("/slicer/mrml/properties?class=vtkMRMLViewNode").json().values()))
    np.testing.assert_allclose(after["Camera"]["Position"], camera["Position"], atol=1e-6)
    np.testing.assert_allclose(after["Camera"]["FocalPoint"], camera["FocalPoint"], atol=1e-6)
    assert not page.errors


def test_dragged_window_level_survives_a_reload_and_offline_samples_are_disabled(voxweb, browser):
    server = voxweb("--no-sample-download")
    k, j, i = np.mgrid[0:16, 0:64, 0:64]
    array = ((i * 7 + j * 3 + k * 5) % 500).astype(np.int16)
    body = raw_nrrd(array)
    assert server.post("/slicer/volume?id=Ramp", data=body).ok
    node_id = server.get("/slicer/mrml/ids?class=vtkMRMLScalarVolumeNode").json()[0]
    before = properties_of(server, node_id)

    page = open_viewer(browser, server)
    # Offline with no local copy, CTChest cannot load: its button is disabled and says why.
    chest = page.locator('[data-sample="CTChest"]')
    page.wait_for_function("() => document.querySelector('[data-sample=\"CTChest\"]').disabled")
    assert "cannot load" in chest.get_attribute("title")
    assert not page.locator('[data-sample="MRHead"]').is_disabled()  # the offline copy
    settled(page, "Red")
    box = page.locator(frame("Red")).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 120, y + 60, steps=10)
    page.mouse.up()
    wait_for(
        lambda: properties_of(server, node_id)["Window"] != before["Window"],
        what="the dragged window/level to reach the scene",
    )
    after = properties_of(server, node_id)
    page.reload()
    page.locator("#connection").filter(has_text="live").wait_for(timeout=T)
    settled(page, "Red")
    assert properties_of(server, node_id)["Window"] == after["Window"]
    # the reloaded page draws with the kept window: same as a fresh render with it
    shown = page.evaluate(IMAGE_STATS, frame("Red"))
    assert shown is not None and shown["std"] > 5
    assert page.errors == []
    page.context.close()
