"""The time image: a 128x32 PNG showing the current time (Slicer's ``/slicer/timeimage``).

Demo pages poll it as a WebGL texture to check that images stream. Like Slicer's: a
transparent image, a dotted 5-pixel border in the requested colour at 80% opacity, and
``time.time()`` as text in #333.
"""

from __future__ import annotations

import re
import time

from PIL import Image, ImageDraw, ImageFont

from voxweb.render.encode import encode_png

WIDTH, HEIGHT, BORDER = 128, 32, 5
TEXT_COLOR = (0x33, 0x33, 0x33, 255)
_HEX = re.compile(r"^(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def parse_hex_color(text: str) -> tuple[int, int, int]:
    """``"330"`` or ``"ffcc00"`` (no ``#``) -> an RGB triple."""
    text = text.strip().lstrip("#")
    if not _HEX.match(text):
        raise ValueError(f"color must be 3 or 6 hex digits such as 330 or ffcc00, not {text!r}")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    return tuple(int(text[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def time_image(color: str = "330", now: float | None = None) -> bytes:
    rgb = parse_hex_color(color)
    image = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    border = (*rgb, int(255 * 0.8))
    # A dotted border: every other pixel along each of the 5 outer rings.
    for ring in range(BORDER):
        x0, y0, x1, y1 = ring, ring, WIDTH - 1 - ring, HEIGHT - 1 - ring
        for x in range(x0, x1 + 1, 2):
            draw.point((x, y0), fill=border)
            draw.point((x, y1), fill=border)
        for y in range(y0, y1 + 1, 2):
            draw.point((x0, y), fill=border)
            draw.point((x1, y), fill=border)
    text = str(time.time() if now is None else now)
    draw.text((10, 20), text, fill=TEXT_COLOR, font=ImageFont.load_default(), anchor="ls")
    return encode_png(image)
