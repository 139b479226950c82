"""Slice rendering at pixel level: markers land where geometry says, W/L, labels, outlines."""

from __future__ import annotations

import numpy as np
import pytest

from tests.render.helpers import (
    GEOMETRIES,
    SHAPE_KJI,
    bright_centroid,
    expected_pixel,
    marker_ras,
    marker_volume,
    rotation,
)
from voxweb.render.slice import (
    Glyph,
    Layer,
    SliceGeometry,
    SliceLayers,
    parse_size,
    render_slice,
    window_level,
)
from voxweb.scene.geometry import ORIENTATION_PRESETS

ORIENTATIONS = {
    **{name.lower(): m for name, m in ORIENTATION_PRESETS.items()},
    "oblique": rotation("z", 25) @ rotation("x", 35) @ ORIENTATION_PRESETS["Axial"],
}


def plane_through(point, axes, centre) -> np.ndarray:
    """slice->RAS with the given axes, in-plane centre from ``centre``, the plane through point."""
    axes = np.asarray(axes, dtype=float)
    local = axes.T @ np.asarray(centre, dtype=float)
    local[2] = axes[:, 2] @ np.asarray(point, dtype=float)
    m = np.eye(4)
    m[:3, :3] = axes
    m[:3, 3] = axes @ local
    return m


@pytest.mark.parametrize("geometry", list(GEOMETRIES))
@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
@pytest.mark.parametrize("interpolate", [True, False])
def test_markers_render_at_the_predicted_pixel(geometry, orientation, interpolate):
    ijk_to_ras = GEOMETRIES[geometry]
    layer = Layer(marker_volume(), ijk_to_ras, window=1000, level=500, interpolate=interpolate)
    axes = ORIENTATIONS[orientation]
    centre = (ijk_to_ras @ np.array([*(np.array(SHAPE_KJI[::-1]) - 1) / 2, 1.0]))[:3]
    size, spacing = (160, 120), 0.7
    for point in marker_ras(ijk_to_ras):
        m = plane_through(point, axes, centre)
        geom = SliceGeometry(m, (size[0] * spacing, size[1] * spacing), size)
        image = np.asarray(render_slice(geom, SliceLayers(background=layer)))
        col, row, dist = expected_pixel(point, axes, m[:3, 3], spacing, size)
        assert abs(dist) < 1e-6
        found = bright_centroid(image, (col, row))
        assert found is not None, f"no marker near ({col:.1f}, {row:.1f})"
        assert abs(found[0] - col) <= 1.0 and abs(found[1] - row) <= 1.0, (found, (col, row))


def test_window_level_maps_linearly_and_clamps():
    values = np.array([[-100, 0, 50, 100, 200, 1000]], dtype=np.int16)
    grey = window_level(values, window=100, level=50)
    np.testing.assert_allclose(grey[0], [0, 0, 127.5, 255, 255, 255], atol=0.5)
    as_float = window_level(values.astype(np.float32), window=100, level=50)
    np.testing.assert_array_equal(as_float, grey)
    unsigned = window_level(np.array([[0, 30000, 65535]], dtype=np.uint16), 65535, 32767.5)
    np.testing.assert_array_equal(unsigned[0], [0, 117, 255])


def uniform_layer(value, **kwargs) -> Layer:
    return Layer(np.full((4, 10, 10), value, dtype=np.int16), np.eye(4), **kwargs)


def axial_geometry(size=(10, 10)) -> SliceGeometry:
    m = np.eye(4)
    m[:3, :3] = ORIENTATION_PRESETS["Axial"]
    m[:3, 3] = [4.5, 4.5, 1.0]
    return SliceGeometry(m, (10.0, 10.0), size)


def test_request_window_level_changes_the_grey_value():
    geom = axial_geometry()
    for window, level, expected in [(200, 100, 128), (100, 0, 255), (400, 300, 0)]:
        layer = uniform_layer(100, window=window, level=level)
        image = np.asarray(render_slice(geom, SliceLayers(background=layer)))
        assert image.shape == (10, 10)
        assert abs(int(image[5, 5]) - expected) <= 1


def test_label_colour_and_opacity_blend_over_the_background():
    geom = axial_geometry()
    background = uniform_layer(100, window=200, level=100)  # grey 128
    labels = np.zeros((4, 10, 10), dtype=np.uint8)
    labels[:, :, 5:] = 2  # i >= 5 -> label 2; image columns run along -R, so the left half
    colors = np.zeros((3, 4), dtype=np.uint8)
    colors[2] = [255, 0, 51, 255]
    for opacity in (1.0, 0.5, 0.25):
        label = Layer(labels, np.eye(4), colors=colors, opacity=opacity, interpolate=False)
        image = np.asarray(render_slice(geom, SliceLayers(background=background, label=label)))
        expected = np.array(
            [128 + (255 - 128) * opacity, 128 * (1 - opacity), 128 + (51 - 128) * opacity]
        )
        np.testing.assert_allclose(image[5, 1], expected, atol=1)  # column 1 is i = 8
        np.testing.assert_allclose(image[5, 8], [128, 128, 128], atol=1)  # i = 1: no label


def test_label_outline_keeps_only_the_border():
    geom = axial_geometry((40, 40))
    labels = np.zeros((4, 10, 10), dtype=np.uint8)
    labels[:, 2:8, 2:8] = 1
    colors = np.array([[0, 0, 0, 0], [0, 255, 0, 255]], dtype=np.uint8)
    filled = Layer(labels, np.eye(4), colors=colors, interpolate=False)
    outline = Layer(labels, np.eye(4), colors=colors, interpolate=False, outline=True)
    solid = np.asarray(render_slice(geom, SliceLayers(label=filled)))
    edge = np.asarray(render_slice(geom, SliceLayers(label=outline)))
    assert solid[20, 20, 1] == 255 and edge[20, 20, 1] == 0  # the inside is hollow
    green_rows = np.nonzero(edge[:, 20, 1] == 255)[0]
    assert len(green_rows) == 2  # one border pixel top and bottom


def test_foreground_blends_with_its_opacity():
    geom = axial_geometry()
    background = uniform_layer(0, window=100, level=50)  # black
    foreground = uniform_layer(100, window=100, level=50, opacity=0.4)  # white at 40 %
    image = np.asarray(
        render_slice(geom, SliceLayers(background=background, foreground=foreground))
    )
    np.testing.assert_allclose(image[5, 5], [102, 102, 102], atol=1)


def test_outside_the_volume_is_black_and_empty_layers_give_black():
    m = np.eye(4)
    m[:3, 3] = [0, 0, 100.0]  # far above the volume
    geom = SliceGeometry(m, (10.0, 10.0), (8, 8))
    image = np.asarray(render_slice(geom, SliceLayers(background=uniform_layer(100))))
    assert image.max() == 0


def test_glyphs_are_drawn_near_the_plane_only():
    geom = axial_geometry((40, 40))
    background = uniform_layer(0)
    near = Glyph((4.5, 4.5, 1.2), "F-1", (1.0, 0.0, 0.0), 4.0)
    far = Glyph((2.0, 2.0, 30.0), "F-2", (0.0, 0.0, 1.0), 4.0)
    image = np.asarray(render_slice(geom, SliceLayers(background=background, glyphs=[near, far])))
    assert image[..., 0].max() == 255
    assert image[..., 2].max() == 0


@pytest.mark.parametrize(
    ("text", "size"), [("512", (512, 512)), ("640x480", (640, 480)), ("32X16", (32, 16))]
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["0", "abc", "10x", "5000"])
def test_parse_size_refuses_nonsense(text):
    with pytest.raises(ValueError, match="size"):
        parse_size(text)
