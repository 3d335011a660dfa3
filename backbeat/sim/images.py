"""Creative images for the demo: real PNGs of the declared size, drawn with Pillow.

Each is a block in the advertiser's colour with a lighter band, the artist (headline), a
tagline and a call-to-action button, laid out for the three shapes the demo sells: the
300x250 rectangle, the 728x90 leaderboard and the 320x50 phone banner. The font is Pillow's
bundled one, so nothing depends on fonts installed on the machine, and the same inputs
always give the same bytes (the file name is their hash, as for uploads).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from backbeat.domain.taxonomy import Size
from backbeat.web.api.uploads import store_image

RGB = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=32)
def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _ink(background: RGB) -> RGB:
    """Black or white, whichever reads better on `background`."""
    r, g, b = background
    return (20, 20, 20) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (250, 250, 250)


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> tuple[Font, int]:
    """The largest font no bigger than `size` whose rendering of `text` fits `width`."""
    while size > 8:
        font = _font(size)
        if draw.textlength(text, font=font) <= width:
            return font, size
        size -= 1
    return _font(8), 8


def _button(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], label: str, fill: RGB
) -> None:
    draw.rounded_rectangle(box, radius=(box[3] - box[1]) // 2, fill=fill)
    font, _ = _fit(draw, label, (box[3] - box[1]) * 6 // 10, box[2] - box[0] - 8)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    draw.text((cx, cy), label, font=font, fill=_ink(fill), anchor="mm")


@lru_cache(maxsize=64)
def render_png(
    size: Size, headline: str, tagline: str, cta: str, colour: RGB, accent: RGB
) -> bytes:
    """A PNG of exactly `size` pixels (kept in memory: the same inputs give the same bytes)."""
    w, h = size.width, size.height
    img = Image.new("RGB", (w, h), colour)
    draw = ImageDraw.Draw(img)
    for y in range(h):  # a soft vertical gradient towards the accent colour
        draw.line([(0, y), (w, y)], fill=_mix(colour, accent, 0.35 * y / max(1, h - 1)))
    ink = _ink(colour)
    if h >= 200:  # rectangle: stacked text, button at the bottom
        draw.rectangle((0, 0, w, 6), fill=accent)
        font, _ = _fit(draw, headline, 34, w - 24)
        draw.text((w / 2, h * 0.3), headline, font=font, fill=ink, anchor="mm")
        font, _ = _fit(draw, tagline, 18, w - 24)
        draw.text((w / 2, h * 0.52), tagline, font=font, fill=ink, anchor="mm")
        _button(draw, (w // 2 - 70, h - 62, w // 2 + 70, h - 26), cta, accent)
    else:  # banner: text left, button right
        button_w = min(150, w // 3)
        text_w = w - button_w - 24
        draw.rectangle((0, 0, 5, h), fill=accent)
        font, _ = _fit(draw, headline, h * 4 // 10, text_w)
        draw.text((14, h * 0.32), headline, font=font, fill=ink, anchor="lm")
        font, _ = _fit(draw, tagline, max(9, h * 23 // 100), text_w)
        draw.text((14, h * 0.74), tagline, font=font, fill=ink, anchor="lm")
        pad = max(6, h // 5)
        _button(draw, (w - button_w - 8, pad, w - 8, h - pad), cta, accent)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def write_creative(
    uploads_dir: Path, size: Size, headline: str, tagline: str, cta: str, colour: RGB, accent: RGB
) -> str:
    """Render and store one creative image; return its file name under `uploads_dir`."""
    data = render_png(size, headline, tagline, cta, colour, accent)
    return store_image(data, "png", uploads_dir)
