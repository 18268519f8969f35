"""The buyer's side: the widget page, the embed snippet, the chat proxy, photo uploads, demo identities.

Every chat call carries the buyer's signed token; the proxy sets Rasa's sender id from it (never from the
request body), so the dialogue's buyer scoping rests on a verified identity.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, json, redirect, text
from sqlalchemy import select

from bot.db.models import Buyer
from bot.db.cases import record_upload
from bot.db.session import DatabaseUnavailable, session_scope
from bot.web import transcript
from bot.web.auth import agent_from_request, bearer, demo_mode, require_buyer, sign_buyer_token, verify_buyer_token
from bot.web.limits import MAX_TEXT_CHARS, TOO_LONG_REPLY
from bot.web.rasa_client import RasaUnavailable
from bot.web.uploads import CONTENT_TYPES, UploadRejected, photo_owner, store_photo, stored_photo

UNAVAILABLE_TEXT = "助手暂时连不上，消息没有发出，请稍后重试"
NO_REPLY_TEXT = "助手这会儿有点忙，刚才的消息没能处理完，请稍后再发一次"
buyer_bp = Blueprint("buyer")


def touch(request: Request, conversation_id: str) -> None:
    """Remember recent conversations for the console's "live" list (the tracker store has no listing call)."""
    request.app.ctx.recent[conversation_id] = time.time()


@buyer_bp.get("/")
async def index(request: Request) -> HTTPResponse:
    return redirect("/widget")


@buyer_bp.get("/widget")
async def widget_page(request: Request) -> HTTPResponse:
    return await file(request.app.ctx.static_dir / "widget.html", mime_type="text/html; charset=utf-8")


@buyer_bp.get("/embed.js")
async def embed_script(request: Request) -> HTTPResponse:
    return await file(request.app.ctx.static_dir / "embed.js", mime_type="application/javascript; charset=utf-8")


@buyer_bp.get("/api/config")
async def config(request: Request) -> HTTPResponse:
    return json({"demo": demo_mode()})


@buyer_bp.get("/api/demo/buyers")
async def demo_buyers(request: Request) -> HTTPResponse:
    if not demo_mode():
        return json({"error": "not in demo mode"}, status=404)

    def load() -> list[dict[str, str]]:
        with session_scope(request.app.ctx.db_url) as session:
            return [{"id": b.id, "nickname": b.nickname, "note": b.note}
                    for b in session.execute(select(Buyer).where(Buyer.id.like("b_demo_%"))).scalars()]
    buyers = await asyncio.get_running_loop().run_in_executor(None, load)
    buyers.sort(key=lambda b: int(b["id"].rsplit("_", 1)[-1]) if b["id"].rsplit("_", 1)[-1].isdigit() else 0)
    return json({"buyers": buyers})


@buyer_bp.post("/api/demo/token")
async def demo_token(request: Request) -> HTTPResponse:
    """Demo mode only: sign a token for a demo buyer (in production the shop's server signs it)."""
    if not demo_mode():
        return json({"error": "not in demo mode"}, status=404)
    buyer_id = str((request.json or {}).get("buyer_id") or "")
    if not buyer_id.startswith("b_demo_"):
        return json({"error": "only demo buyers in demo mode"}, status=400)
    return json({"token": sign_buyer_token(buyer_id), "buyer_id": buyer_id})


@buyer_bp.get("/api/chat/history")
@require_buyer
async def history(request: Request) -> HTTPResponse:
    buyer = request.ctx.buyer_id
    after = _int(request.args.get("after"), -1)
    try:
        tracker = await request.app.ctx.rasa.tracker(buyer)
    except RasaUnavailable:
        return json({"error": "助手暂时连不上，正在重连…"}, status=503)
    events = tracker.get("events") or []
    return json({"buyer_id": buyer, "messages": transcript.messages(tracker, after),
                 "last_seq": len(events) - 1, "paused": transcript.is_paused(tracker)})


@buyer_bp.post("/api/chat/send")
@require_buyer
async def send(request: Request) -> HTTPResponse:
    buyer = request.ctx.buyer_id
    body = request.json or {}
    message = str(body.get("text") or "").strip()
    if len(message) > MAX_TEXT_CHARS:  # said, not silently cut: the buyer's point may be past the cut
        return json({"error": TOO_LONG_REPLY}, status=413)
    metadata = _metadata(body)
    if not message and not metadata.get("attachments"):
        return json({"error": "empty message"}, status=400)
    touch(request, buyer)
    try:
        replies = await request.app.ctx.rasa.send(buyer, message or "照片已发", metadata)
    except RasaUnavailable:
        return json({"error": UNAVAILABLE_TEXT}, status=503)
    if not replies:
        # Rasa answers 200 with no reply when the action servers cannot be reached (it logs the failed action
        # and goes on): the buyer must not wait in silence for an answer that is not coming.
        return json({"error": NO_REPLY_TEXT}, status=503)
    return json({"replies": replies})


def _metadata(body: dict) -> dict[str, Any]:
    """Only what the widget may say: photo references it got from /api/chat/upload and a button title."""
    metadata: dict[str, Any] = {}
    photos = [{"type": "photo", "ref": str(a["ref"])} for a in body.get("attachments") or []
              if isinstance(a, dict) and transcript.upload_url(str(a.get("ref", "")))]
    if photos:
        metadata["attachments"] = photos
    if body.get("display"):
        metadata["display"] = str(body["display"])[:200]
    client_id = str(body.get("client_message_id") or "")
    if client_id and len(client_id) <= 64 and client_id.isascii():
        metadata["client_message_id"] = client_id  # the same on a re-send: a repeated 不行 acts once
    return metadata


@buyer_bp.post("/api/chat/upload")
@require_buyer
async def upload(request: Request) -> HTTPResponse:
    photo = request.files.get("photo")
    body = photo.body if photo is not None else request.body
    buyer = request.ctx.buyer_id

    def store_and_record() -> str:
        ref = store_photo(body, request.app.ctx.upload_dir, buyer)
        # whose photo it is: only a recorded upload of this buyer counts as evidence (bot.db.cases.own_uploads)
        with session_scope(request.app.ctx.db_url) as session:
            record_upload(session, ref, buyer, conversation_id=buyer, size_bytes=len(body))
        return ref
    try:
        ref = await asyncio.get_running_loop().run_in_executor(None, store_and_record)
    except UploadRejected as exc:
        return json({"error": str(exc)}, status=400)
    except DatabaseUnavailable:
        return json({"error": "系统繁忙，图片没有保存，请稍后重试"}, status=503)
    return json({"ref": ref, "url": transcript.upload_url(ref)})


@buyer_bp.get("/uploads/<name>")
async def uploaded(request: Request, name: str) -> HTTPResponse:
    """The photo, for the buyer who sent it and for agents (bearer token; the pages fetch it and show a blob).
    Anyone else gets 404, whether the photo exists or not: a leaked URL is no longer a permission."""
    path = stored_photo(name, request.app.ctx.upload_dir)
    if path is None or not may_see_photo(request, path):
        return text("not found", status=404)
    return await file(path, mime_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
                      headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400",
                               "Vary": "Authorization"})


def may_see_photo(request: Request, path) -> bool:
    if agent_from_request(request) is not None:
        return True
    identity = verify_buyer_token(bearer(request))
    return identity is not None and identity.buyer_id == photo_owner(path)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
