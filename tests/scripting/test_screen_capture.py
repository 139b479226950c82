"""ScreenCapture through /slicer/exec: rendered views written to files inside --file-root,
the same pixels the rendering routes serve."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.scripting.support import run, run_error, slice_image
from tests.support.server import VoxwebProcess

RAMP = """
k, j, i = np.indices((16, 20, 24))
volume = addVolumeFromArray((k * 20 + j * 3 + i).astype(np.int16), name="Ramp")
setSliceViewerLayers(background=volume, fit=True)
"""


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    return tmp_path_factory.mktemp("captures")


@pytest.fixture(scope="module")
def server(tmp_path_factory, roots):
    with VoxwebProcess(
        tmp_path_factory.mktemp("script-capture"),
        ["--auth", "none", "--enable-exec", "--no-sample-download", "--file-root", str(roots)],
    ) as proc:
        run(proc, RAMP)
        yield proc


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_capture_a_slice_view_writes_the_rendered_slice(server, roots):
    target = roots / "red.png"
    run(
        server,
        f"""
import ScreenCapture
cap = ScreenCapture.ScreenCaptureLogic()
cap.showViewControllers(False)
view = slicer.app.layoutManager().sliceWidget("Red").sliceView()
cap.captureImageFromView(view, {str(target)!r})
cap.showViewControllers(True)
""",
    )
    captured = _pixels(target)
    assert np.array_equal(captured, slice_image(server, "red"))
    assert captured.std() > 10  # the ramp, not an empty view


def test_capture_the_3d_view_and_the_layout_as_jpeg(server, roots):
    run(
        server,
        f"""
import ScreenCapture
cap = ScreenCapture.ScreenCaptureLogic()
view = slicer.app.layoutManager().threeDWidget(0).threeDView()
cap.captureImageFromView(view, {str(roots / "3d.png")!r})
cap.captureImageFromView(None, {str(roots / "layout.jpg")!r})
""",
    )
    three_d = Image.open(roots / "3d.png")
    three_d_served = Image.open(io.BytesIO(server.get("/slicer/threeD").content))
    assert three_d.format == "PNG" and three_d.size == three_d_served.size
    assert np.asarray(three_d.convert("RGB")).std() > 1  # the volume is rendered
    layout = Image.open(roots / "layout.jpg")
    assert layout.format == "JPEG" and layout.size == (1024, 768)


def test_slice_sweep_writes_numbered_images_that_differ(server, roots):
    (roots / "sweep").mkdir()  # the output folder must exist, as in Slicer
    run(
        server,
        f"""
import ScreenCapture
cap = ScreenCapture.ScreenCaptureLogic()
sliceNode = getNode("vtkMRMLSliceNodeRed")
before = sliceNode.GetSliceOffset()
cap.captureSliceSweep(sliceNode, -10.0, 10.0, 3, {str(roots / "sweep")!r}, "slice_%03d.png")
assert sliceNode.GetSliceOffset() == before   # the view stays where it was
""",
    )
    images = [_pixels(roots / "sweep" / f"slice_{n:03d}.png") for n in range(3)]
    assert not np.array_equal(images[0], images[2])


def test_paths_outside_the_file_roots_and_video_are_refused(server, roots):
    message = run_error(
        server,
        """
import ScreenCapture
ScreenCapture.ScreenCaptureLogic().captureImageFromView(None, "/etc/voxweb-capture.png")
""",
    )
    assert "voxweb-capture.png" in message
    message = run_error(
        server,
        "import ScreenCapture\nScreenCapture.ScreenCaptureLogic().createVideo(30, '', '', '')",
    )
    assert "video" in message
    message = run_error(
        server,
        f"""
import ScreenCapture
ScreenCapture.ScreenCaptureLogic().captureImageFromView(None, {str(roots / "x.gif")!r})
""",
    )
    assert ".gif" in message
