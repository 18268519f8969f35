"""Helpers for the browser tests: screenshots into docs/screenshots/ and a small real PNG to upload."""
from __future__ import annotations

from pathlib import Path

from bot.settings import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=False)
    return path


def png_photo(path: Path) -> Path:
    """A small real PNG (a 'broken bottle' stand-in) for the upload."""
    import struct
    import zlib

    width = height = 32
    rows = b"".join(b"\x00" + bytes((200, 120 + x * 3, 60)) * 1 + bytes((200, 120 + x * 3, 60)) * (width - 1)
                    for x in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    path.write_bytes(png)
    return path
