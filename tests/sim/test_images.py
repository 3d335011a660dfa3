"""Generated creative images: real PNGs of the declared size, stored by content."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from backbeat.domain.taxonomy import Size
from backbeat.sim.images import render_png, write_creative
from backbeat.sim.network import LEADERBOARD, MOBILE, MPU
from backbeat.web.api.uploads import check_image

INK = (34, 18, 74)
ACCENT = (255, 92, 205)


@pytest.mark.parametrize("size", [MPU, LEADERBOARD, MOBILE])
def test_png_has_the_declared_size_and_passes_the_upload_check(size: Size) -> None:
    data = render_png(size, "NOVA LUX", "Night Drive: the new single", "Listen now", INK, ACCENT)
    assert check_image(data, size, 2 * 1024 * 1024) == "png"
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (size.width, size.height)
        colours = img.convert("RGB").getcolors(maxcolors=100_000)
    assert colours is not None and len(colours) > 20  # text and a gradient, not a flat block


def test_different_text_different_image() -> None:
    a = render_png(MPU, "NOVA LUX", "one", "Listen", INK, ACCENT)
    b = render_png(MPU, "NOVA LUX", "two", "Listen", INK, ACCENT)
    assert a != b


def test_written_once_by_content(tmp_path: Path) -> None:
    name = write_creative(tmp_path, MOBILE, "SADIE RAY", "Live in Ireland", "Tickets", INK, ACCENT)
    again = write_creative(tmp_path, MOBILE, "SADIE RAY", "Live in Ireland", "Tickets", INK, ACCENT)
    assert name == again and name.endswith(".png")
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert (tmp_path / name).read_bytes() == render_png(
        MOBILE, "SADIE RAY", "Live in Ireland", "Tickets", INK, ACCENT
    )
