"""The PNG writer: what Pillow decodes is exactly what was encoded, for every 8-bit mode."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from voxweb.render.encode import encode, png_from_array


@pytest.mark.parametrize("channels", [None, 2, 3, 4])
def test_png_round_trips_through_pillow(channels):
    rng = np.random.default_rng(1)
    shape = (37, 53) if channels is None else (37, 53, channels)
    array = rng.integers(0, 256, size=shape, dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(png_from_array(array))))
    np.testing.assert_array_equal(decoded, array)


def test_encode_png_and_jpeg_from_images():
    image = Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (16, 1)))
    assert encode(image, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert encode(image, "jpeg")[:2] == b"\xff\xd8"
    palette = image.convert("P")
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(encode(palette, "png")))), np.asarray(palette)
    )
    with pytest.raises(ValueError, match="png or jpeg"):
        encode(image, "gif")
