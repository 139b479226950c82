"""Markups drawn on slice images and as 3-D surfaces: each type lands where geometry says."""

from __future__ import annotations

import numpy as np
from PIL import Image

from voxweb.render.markups_overlay import draw_markups, markup_shapes, markup_surfaces
from voxweb.render.slice import SliceGeometry
from voxweb.scene import MarkupsFiducial, MarkupsLine, MarkupsPlane, MarkupsROI, Scene

# Axial plane at S = 0, 100 x 100 mm on 100 x 100 pixels: pixel (col, row) centre is at
# R = col - 49.5, A = 49.5 - row.
GEOMETRY = SliceGeometry(np.eye(4), (100.0, 100.0), (100, 100))


def pixel(r: float, a: float) -> tuple[int, int]:
    return int(round(a * -1 + 49.5)), int(round(r + 49.5))  # (row, col)


def render(*nodes) -> np.ndarray:
    scene = Scene()
    for node in nodes:
        node.properties_label_visible = False
        node.point_labels_visible = False
        if node.scene is not None:
            node.scene.remove(node)
        scene.add(node)
    shapes, _ = markup_shapes(scene, lambda n: np.eye(4))
    image = Image.new("RGB", GEOMETRY.size)
    return np.asarray(draw_markups(image, GEOMETRY, shapes)).astype(int)


def lit(image: np.ndarray) -> np.ndarray:
    return image.sum(axis=2) > 0


def test_line_in_the_plane_is_drawn_between_its_points_only():
    line = MarkupsLine("L")
    line.add_point((-20, 10, 0))
    line.add_point((20, 10, 0))
    for cp in line.control_points:
        cp.visible = False  # the segment alone
    line.color = line.selected_color = (1.0, 0.0, 0.0)
    image = render(line)
    row, _ = pixel(0, 10)
    assert image[row, pixel(-10, 10)[1]].tolist() == [255, 0, 0]
    assert image[row, pixel(15, 10)[1]].tolist() == [255, 0, 0]
    ys, xs = np.nonzero(lit(image))
    assert abs(ys.mean() - row) < 1.5 and ys.max() - ys.min() <= 3
    assert xs.min() >= pixel(-21, 0)[1] and xs.max() <= pixel(21, 0)[1]


def test_far_line_fades_out_and_opacity_scales_colour():
    far = MarkupsLine("far")
    far.add_point((-20, 0, 30))
    far.add_point((20, 0, 30))
    assert not lit(render(far)).any()
    line = MarkupsLine("L")
    line.add_point((-20, 0, 0))
    line.add_point((20, 0, 0))
    line.selected_color = (1.0, 1.0, 1.0)
    line.opacity = 0.5
    values = render(line)[pixel(5, 0)]
    assert 120 <= values[0] <= 135


def test_point_glyph_and_colours():
    f = MarkupsFiducial("F")
    f.add_point((10, -10, 0))
    f.add_point((-10, 10, 0))
    f.control_points[1].selected = False
    f.selected_color, f.color = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)
    image = render(f)

    def near(r: float, a: float) -> np.ndarray:
        row, col = pixel(r, a)
        return image[row - 6 : row + 7, col - 6 : col + 7]

    assert (near(10, -10)[..., 0] == 255).any() and not (near(10, -10)[..., 2] > 0).any()
    assert (near(-10, 10)[..., 2] == 255).any() and not (near(-10, 10)[..., 0] > 0).any()


def test_roi_cut_is_its_rectangle():
    roi = MarkupsROI("R")
    roi.set_center((0, 0, 2))
    roi.size = (40, 20, 10)  # crosses S = 0
    roi.control_points[0].visible = False
    image = lit(render(roi))
    ys, xs = np.nonzero(image)
    assert abs(xs.min() - pixel(-20, 0)[1]) <= 1 and abs(xs.max() - pixel(20, 0)[1]) <= 1
    assert abs(ys.min() - pixel(0, 10)[0]) <= 1 and abs(ys.max() - pixel(0, -10)[0]) <= 1
    assert not image[pixel(0, 0)]  # outline only
    roi.set_center((0, 0, 20))  # no longer crosses the plane
    assert not lit(render(roi)).any()


def test_plane_crossing_the_view_is_a_line():
    plane = MarkupsPlane("P")
    plane.set_origin((5, 0, 0))
    plane.set_normal((1, 0, 0))  # the plane R = 5
    plane.size_mode, plane.size = "absolute", (30.0, 30.0)
    plane.control_points[0].visible = False
    ys, xs = np.nonzero(lit(render(plane)))
    assert len(xs) and np.all(np.abs(xs - pixel(5, 0)[1]) <= 1)
    assert ys.max() - ys.min() >= 28


def test_three_d_surfaces_for_each_type():
    scene = Scene()
    line = MarkupsLine("L")
    line.add_point((0, 0, 0))
    line.add_point((0, 0, 50))
    roi = MarkupsROI("R")
    roi.set_center((0, 0, 0))
    roi.size = (10, 10, 10)
    for node in (line, roi):
        scene.add(node)
    surfaces = markup_surfaces(markup_shapes(scene, lambda n: np.eye(4))[0])
    kinds = sorted(s.name for s in surfaces)
    assert kinds == ["L: L-1", "L: L-2", "L: lines", "R: R-1", "R: lines"]
    lines = next(s for s in surfaces if s.name == "L: lines")
    assert lines.bounds()[5] == 50.0 and lines.bounds()[4] == 0.0
