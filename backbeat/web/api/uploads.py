"""Creative image uploads: type sniffed from the bytes, size capped, dimensions checked."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from backbeat.domain.taxonomy import Size
from backbeat.errors import PayloadTooLarge, ValidationFailed

# Pillow format name -> file extension. SVG is refused: it can carry script.
_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp"}
_MAX_PIXELS = 4000 * 4000


def check_image(data: bytes, declared: Size, max_bytes: int, field: str = "file") -> str:
    """Validate an uploaded image; return its file extension."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(field, max_bytes)
    if not data:
        raise ValidationFailed.one(field, "the file is empty")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            width, height = img.size
            if width * height > _MAX_PIXELS:
                raise ValidationFailed.one(field, "image has too many pixels")
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationFailed.one(
            field, "not an image we accept (PNG, JPEG, GIF or WebP)"
        ) from None
    if fmt not in _FORMATS:
        raise ValidationFailed.one(field, f"{fmt or 'this'} images are not accepted")
    if (width, height) != (declared.width, declared.height):
        raise ValidationFailed.one(
            field, f"image is {width}x{height} but the declared size is {declared}"
        )
    return _FORMATS[fmt]


def store_image(data: bytes, ext: str, uploads_dir: Path) -> str:
    """Write content-addressed (idempotent for the same bytes); return the file name."""
    uploads_dir.mkdir(parents=True, exist_ok=True)
    name = f"{hashlib.sha256(data).hexdigest()[:32]}.{ext}"
    target = uploads_dir / name
    if not target.exists():
        tmp = uploads_dir / f".{name}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return name
