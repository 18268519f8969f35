"""Photo evidence uploaded from the widget: checked by content (not by the name the browser gives),
stored under an unguessable name, referred to as "upload/<name>" in the message metadata the bot reads.

Each photo has an owner file beside it (`<name>.owner`, the buyer id from the verified token): /uploads/<name>
is served only to that buyer and to agents. A photo without an owner file (stored before owners were
recorded) is served to agents only."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Optional

from bot.settings import PROJECT_ROOT

MAX_PHOTO_BYTES = 8 * 1024 * 1024
# Magic numbers of the image formats a phone sends; anything else is refused.
SIGNATURES = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"), (b"GIF87a", ".gif"), (b"GIF89a", ".gif"))
CONTENT_TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp"}


class UploadRejected(ValueError):
    """Not an image we accept, or too large; the message is shown to the buyer."""


def upload_dir() -> Path:
    return Path(os.environ.get("AFTERSALES_UPLOAD_DIR") or PROJECT_ROOT / "var" / "uploads")


def image_extension(body: bytes) -> Optional[str]:
    for signature, extension in SIGNATURES:
        if body.startswith(signature):
            return extension
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return ".webp"
    return None


OWNER_SUFFIX = ".owner"


def store_photo(body: bytes, directory: Optional[Path] = None, owner: Optional[str] = None) -> str:
    """Save the photo (and who sent it); returns its reference "upload/<name>"."""
    if not body:
        raise UploadRejected("图片是空的，请重新选择")
    if len(body) > MAX_PHOTO_BYTES:
        raise UploadRejected(f"图片太大了（上限{MAX_PHOTO_BYTES // (1024 * 1024)}MB）")
    extension = image_extension(body)
    if extension is None:
        raise UploadRejected("只支持 JPG、PNG、GIF、WEBP 图片")
    target = directory or upload_dir()
    target.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex + extension
    if owner:
        # the owner first: a photo is never visible, even for a moment, without the rule that guards it
        (target / (name + OWNER_SUFFIX)).write_text(owner, encoding="utf-8")
    (target / name).write_bytes(body)
    return "upload/" + name


def stored_photo(name: str, directory: Optional[Path] = None) -> Optional[Path]:
    """The file for /uploads/<name>, or None (also for any name that tries to leave the directory)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    if name.endswith(OWNER_SUFFIX) or Path(name).suffix not in CONTENT_TYPES:
        return None
    path = (directory or upload_dir()) / name
    return path if path.is_file() else None


def photo_owner(path: Path) -> Optional[str]:
    """The buyer who sent the photo at `path`, or None when no owner was recorded."""
    try:
        return (path.parent / (path.name + OWNER_SUFFIX)).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None
