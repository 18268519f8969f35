"""Helpers for the browser tests: screenshots, a small real PNG to upload, and the web service in a subprocess.

Screenshots go to var/screenshots/ (ignored by git), so a test run leaves the checkout clean; `make screenshots`
runs the browser tests with AFTERSALES_SCREENSHOTS=docs/screenshots to refresh the ones the README shows."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from bot.settings import PROJECT_ROOT

SCREENSHOTS = PROJECT_ROOT / os.environ.get("AFTERSALES_SCREENSHOTS", "var/screenshots")


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


@contextmanager
def web_service(env: dict[str, str], log_path: Path, start_timeout: float = 60) -> Iterator[str]:
    """`python -m bot.web` in a subprocess on a free port with `env`; yields its base URL, stops it after.

    A service that does not answer /api/config in time fails the test with the end of its log."""
    import pytest

    from bot.convtest.stack import free_port, get_ok

    port = free_port()
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot.web", "--host", "127.0.0.1", "--port", str(port)],
                                   cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + start_timeout
            while not get_ok(url + "/api/config"):
                if time.time() > deadline or process.poll() is not None:
                    log.flush()
                    pytest.fail("the web service did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
