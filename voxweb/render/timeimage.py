"""The time image: a 128x32 PNG showing the current time (Slicer's ``/slicer/timeimage``).

Demo pages poll it as a WebGL texture to check that images stream. Like Slicer's: a
transparent image, a dotted 5-pixel border in the requested colour at 80% opacity, and
``time.time()`` as text in #333. A ``color`` it cannot read gives the default colour, never
an error.
"""

from __future__ import annotations

import time

from PIL import Image, ImageColor, ImageDraw, ImageFont

from voxweb.render.encode import encode_png

WIDTH, HEIGHT, BORDER = 128, 32, 5
TEXT_COLOR = (0x33, 0x33, 0x33, 255)
DEFAULT_COLOR = (0x33, 0x33, 0x00)  # Slicer's default "330"
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_color(text: str | None) -> tuple[int, int, int]:
    """The RGB of a ``color`` parameter, or ``DEFAULT_COLOR`` when it names no colour.

    Slicer hands ``"#" + color`` to Qt's ``QColor`` and draws with whatever that makes of it
    (its ServerTests page sends 3 to 6 random hex digits). Accepted, with or without ``#``:
    ``RGB``, ``RRGGBB``, ``AARRGGBB`` (alpha ignored: the border is always 80% opaque),
    ``RRRGGGBBB``, ``RRRRGGGGBBBB`` and SVG colour names. Anything else, never an error.
    """
    if not text:
        return DEFAULT_COLOR
    body = text.strip()
    body = body[1:] if body.startswith("#") else body
    if body and set(body) <= _HEX_DIGITS:
        n = len(body)
        if n == 8:  # AARRGGBB
            body, n = body[2:], 6
        if n in (3, 6, 9, 12):
            width = n // 3
            channels = [int(body[i * width : (i + 1) * width], 16) for i in range(3)]
            if width == 1:
                return tuple(c * 17 for c in channels)  # type: ignore[return-value]
            return tuple(c >> (4 * (width - 2)) for c in channels)  # type: ignore[return-value]
        return DEFAULT_COLOR
    name = ImageColor.colormap.get(body.lower()) if len(body) <= 32 else None
    if isinstance(name, str):
        return ImageColor.getrgb(name)[:3]  # type: ignore[return-value]
    return DEFAULT_COLOR


def time_image(color: str | None = "330", now: float | None = None) -> bytes:
    rgb = parse_color(color)
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
