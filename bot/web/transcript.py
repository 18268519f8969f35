"""Tracker events -> the messages the widget and the console show (pure functions, no I/O).

`seq` is the event's position in the tracker (include_events=ALL, append-only), so a client asks for
"everything after seq N" and a reload rebuilds the whole conversation from the tracker store.
Agent messages are bot events whose metadata carries `agent_id`; a take-over is Rasa's `pause` event.
"""
from __future__ import annotations

from typing import Any, Optional

from bot.clarify import REREAD_MARK

UPLOAD_PREFIX = "upload/"


def upload_url(ref: str) -> Optional[str]:
    """The URL of a photo stored by this service ("upload/<name>"); other references have none."""
    if ref.startswith(UPLOAD_PREFIX) and "/" not in ref[len(UPLOAD_PREFIX):]:
        return "/uploads/" + ref[len(UPLOAD_PREFIX):]
    return None


def messages(tracker: dict, after: int = -1) -> list[dict[str, Any]]:
    out = []
    for seq, event in enumerate(tracker.get("events") or []):
        if seq <= after:
            continue
        message = to_message(seq, event)
        if message is not None:
            out.append(message)
    return out


def to_message(seq: int, event: dict) -> Optional[dict[str, Any]]:
    kind = event.get("event")
    at = event.get("timestamp")
    if kind == "user":
        metadata = event.get("metadata") or {}
        if metadata.get(REREAD_MARK):  # the same message given again with its reading: shown once
            return None
        text = metadata.get("display") or event.get("text") or ""
        photos = [url for url in (upload_url(str(a.get("ref", ""))) for a in metadata.get("attachments") or []
                                  if isinstance(a, dict) and a.get("type") == "photo") if url]
        return {"seq": seq, "role": "buyer", "text": text, "images": photos, "at": at}
    if kind == "bot":
        metadata = event.get("metadata") or {}
        data = event.get("data") or {}
        agent = metadata.get("agent_id")
        images = [data["image"]] if data.get("image") else []
        return {"seq": seq, "role": "agent" if agent else "bot", "agent_id": agent, "text": event.get("text") or "",
                "buttons": [{"title": b.get("title", ""), "payload": b.get("payload", "")}
                            for b in data.get("buttons") or []],
                "images": images, "at": at}
    if kind == "pause":
        return {"seq": seq, "role": "system", "text": "人工客服已接入", "at": at}
    if kind == "resume":
        return {"seq": seq, "role": "system", "text": "已转回智能助手", "at": at}
    return None


def is_paused(tracker: dict) -> bool:
    """Paused by an agent's take-over: the last pause/resume event is a pause."""
    for event in reversed(tracker.get("events") or []):
        if event.get("event") in ("pause", "resume"):
            return event["event"] == "pause"
    return bool(tracker.get("paused"))


def buyer_texts(tracker: dict, limit: int = 20) -> tuple[str, ...]:
    """The buyer's latest typed messages (button payloads left out), oldest first."""
    texts = [m["text"] for m in messages(tracker) if m["role"] == "buyer" and m["text"] and not m["text"].startswith("/")]
    return tuple(texts[-limit:])


def stored_parse(tracker: dict) -> dict:
    """The NLU result Rasa stored with the message `buyer_texts` ends with, when it is the parse of that very
    text (no `display` text standing in for a button payload) and has an intent; else {}.

    Rasa keeps each user event's `parse_data` (intent, ranking, entities) in the tracker, so the copilot need
    not ask /model/parse again for the same text with the same model. (Its `text` is the normalizer's
    half-width form, so it is not compared with the event's text.)"""
    for event in reversed(tracker.get("events") or []):
        if event.get("event") != "user":
            continue
        text = event.get("text") or ""
        shown = (event.get("metadata") or {}).get("display") or text
        if not shown or shown.startswith("/"):
            continue  # buyer_texts skips it too: look further back
        parse = event.get("parse_data") or {}
        if shown != text or not (parse.get("intent") or {}).get("name"):
            return {}
        return parse
    return {}


def latest_parse(tracker: dict) -> dict:
    """The NLU result Rasa stored with the latest typed buyer message."""
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "user" and not (event.get("text") or "").startswith("/"):
            return event.get("parse_data") or {}
    return {}


def photo_refs(tracker: dict) -> tuple[str, ...]:
    refs = []
    for event in tracker.get("events") or []:
        if event.get("event") == "user":
            for attachment in (event.get("metadata") or {}).get("attachments") or []:
                if isinstance(attachment, dict) and attachment.get("type") == "photo" and attachment.get("ref"):
                    refs.append(str(attachment["ref"]))
    return tuple(dict.fromkeys(refs))


def has_message_key(tracker: dict, key: str) -> bool:
    """An agent message with this idempotency key was already delivered."""
    return any(event.get("event") == "bot" and (event.get("metadata") or {}).get("message_key") == key
               for event in tracker.get("events") or [])


def last_activity(tracker: dict) -> Optional[float]:
    events = tracker.get("events") or []
    return events[-1].get("timestamp") if events else None
