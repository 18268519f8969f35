"""Agents' intent corrections: stored per conversation and message, exported as labelled logs.

The console shows the NLU's ranking for the latest buyer message; one click on another intent records a
correction here. ``export_corrections`` writes them in the labelled-logs format (``bot.labelled_logs``), so
a shop appends them to its training logs and the next ``rasa train`` learns from them.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime, time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import CN_TZ
from bot.db.models import IntentCorrection
from bot.db.session import session_scope
from bot.intents import ALL_INTENTS
from bot.labelled_logs import MAX_TEXT_CHARS, write_labelled_logs


class CorrectionRejected(ValueError):
    """The correction names an unknown intent or has no text; nothing was stored."""


def record_correction(session: Session, conversation_id: str, text: str, predicted_intent: str,
                      corrected_intent: str, agent_id: str) -> IntentCorrection:
    if corrected_intent not in ALL_INTENTS:
        raise CorrectionRejected(f"unknown intent {corrected_intent!r}")
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT_CHARS:
        raise CorrectionRejected("the message to correct is empty or too long")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    row = session.execute(
        select(IntentCorrection).where(IntentCorrection.conversation_id == conversation_id,
                                       IntentCorrection.text_sha256 == digest)
    ).scalar_one_or_none()
    if row is None:
        row = IntentCorrection(conversation_id=conversation_id, text=text, text_sha256=digest)
        session.add(row)
    row.predicted_intent = predicted_intent or ""
    row.corrected_intent = corrected_intent
    row.agent_id = agent_id
    session.flush()
    return row


def export_corrections(out: str | Path, since: str | None = None, db_url: str | None = None) -> int:
    """Write every correction (made on or after ``since``, YYYY-MM-DD) as labelled logs; returns the count."""
    query = select(IntentCorrection).order_by(IntentCorrection.id)
    if since:
        start = datetime.combine(date.fromisoformat(since), time(0), tzinfo=CN_TZ)
        query = query.where(IntentCorrection.created_at >= start)
    with session_scope(db_url) as session:
        rows = [
            (row.text, row.corrected_intent, {"source": "console", "predicted": row.predicted_intent,
                                              "agent": row.agent_id})
            for row in session.execute(query).scalars()
        ]
    return write_labelled_logs(rows, out)
