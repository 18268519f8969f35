"""Buyer satisfaction (满意度): asked once when a case ends, the answer stored with the case.

A case ends when the buyer accepts an offer the bot made (resolver "bot") or when an agent resolves it in
the console (resolver "agent"). `ask` writes the survey row; the unique case id makes a second ask a no-op,
so whoever calls it twice (a retried action, two agents clicking) never asks twice. `answer` fills the row
once: the first rating stands, a second tap is told it was counted already. Nothing here decides *when*
a conversation may be interrupted: the callers ask only outside a form and with no offer on the table.

Functions work inside the caller's session and transaction (they flush, the caller commits).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.clock import now_cn
from bot.db.models import SATISFACTION_RATINGS, AfterSalesCase, SatisfactionSurvey
from bot.db.statements import InsertOnce

RATING_LABELS = {"satisfied": "满意", "neutral": "一般", "unsatisfied": "不满意"}
MAX_COMMENT_CHARS = 500
# The survey's buttons (the widget, REST and the agent path all send these payloads; the NLU never sees them).
RATE_INTENT = "rate_satisfaction"
SURVEY_TEXT = "亲，这次的售后处理您还满意吗？点一下告诉我们就好，也可以顺便留一句建议～"
_PAYLOAD = re.compile(r"^\s*/" + RATE_INTENT + r"\s*(?P<json>\{.*\})?\s*$", re.S)


class SurveyError(ValueError):
    """A survey that cannot be asked or answered (unknown rating, a case that has not ended)."""


def survey_buttons(case_id: Optional[int] = None) -> list[dict[str, str]]:
    """满意 / 一般 / 不满意 as Rasa buttons. With a case id the payload names the case (the agent's path,
    where no slot of the bot's says which case was asked about)."""
    buttons = []
    for rating in SATISFACTION_RATINGS:
        data: dict[str, Any] = {"rating": rating}
        if case_id is not None:
            data["case"] = case_id
        buttons.append({"title": RATING_LABELS[rating],
                        "payload": f"/{RATE_INTENT}{json.dumps(data, ensure_ascii=False)}"})
    return buttons


@dataclass(frozen=True)
class RatingMessage:
    """What a /rate_satisfaction{...} message carries."""
    rating: Optional[str]
    comment: Optional[str]
    case_id: Optional[int]


def parse_rating_message(text: str) -> RatingMessage:
    """The rating, comment and case of a button payload; anything malformed reads as no rating."""
    match = _PAYLOAD.match(text or "")
    data: dict = {}
    if match and match.group("json"):
        try:
            loaded = json.loads(match.group("json"))
            data = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            data = {}
    rating = data.get("rating")
    rating = rating if isinstance(rating, str) and rating in SATISFACTION_RATINGS else None
    return RatingMessage(rating, clean_comment(data.get("comment")), _int_or_none(data.get("case")))


def clean_comment(value: Any) -> Optional[str]:
    """A comment as stored: text, trimmed, at most MAX_COMMENT_CHARS; empty -> None."""
    if value is None:
        return None
    text = " ".join(str(value).split())[:MAX_COMMENT_CHARS]
    return text or None


def _int_or_none(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- asking ------------------------------------------------------------------------------------------------

def ask(session: Session, case: AfterSalesCase, *, resolution_kind: str, resolved_by: str,
        now: Optional[datetime] = None) -> Optional[int]:
    """Record that the buyer is asked about this ended case. Returns the new survey's id, or None when the case
    was asked about before (never twice: the case id is unique, and a concurrent ask of the same case inserts
    nothing). A case still open cannot be asked about."""
    if case.status not in ("resolved", "closed"):
        raise SurveyError(f"case {case.id} has not ended (status {case.status})")
    return _insert_survey(session, {  # asked before: the unique case id takes nothing more (None)
        "case_id": case.id, "conversation_id": case.conversation_id or case.buyer_id, "buyer_id": case.buyer_id,
        "order_number": case.order.order_number if case.order is not None else None, "intent": case.intent,
        "resolution_kind": (resolution_kind or "unknown")[:40], "resolver": "bot" if resolved_by == "bot" else "agent",
        "resolved_by": resolved_by[:80], "asked_at": now or now_cn()})


_surveys = SatisfactionSurvey.__table__
_insert_survey = InsertOnce(_surveys, ["case_id"], returning="id")


# --- answering ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnswerResult:
    status: str  # "stored", "already_answered", "not_asked"
    survey_id: Optional[int] = None
    case_id: Optional[int] = None
    rating: Optional[str] = None


def answer(session: Session, conversation_id: str, rating: str, comment: Optional[str] = None, *,
           case_id: Optional[int] = None, now: Optional[datetime] = None) -> AnswerResult:
    """Store the buyer's rating for the case asked about in this conversation (`case_id`, else the latest
    survey asked here). Only a survey of this conversation can be answered; the first answer stands."""
    if rating not in SATISFACTION_RATINGS:
        raise SurveyError(f"unknown rating {rating!r}; expected one of {', '.join(SATISFACTION_RATINGS)}")
    query = select(SatisfactionSurvey).where(SatisfactionSurvey.conversation_id == conversation_id)
    if case_id is not None:
        query = query.where(SatisfactionSurvey.case_id == case_id)
    survey = session.execute(query.order_by(SatisfactionSurvey.asked_at.desc(), SatisfactionSurvey.id.desc())
                             .limit(1)).scalar_one_or_none()
    if survey is None:
        return AnswerResult("not_asked", case_id=case_id)
    # conditional on "not answered yet": two taps racing cannot both store
    stored = session.execute(
        update(SatisfactionSurvey).where(SatisfactionSurvey.id == survey.id, SatisfactionSurvey.rating.is_(None))
        .values(rating=rating, comment=clean_comment(comment), answered_at=now or now_cn())
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(survey)
    status = "stored" if stored == 1 else "already_answered"
    return AnswerResult(status, survey.id, survey.case_id, survey.rating)


def survey_for_case(session: Session, case_id: int) -> Optional[SatisfactionSurvey]:
    return session.execute(select(SatisfactionSurvey).where(SatisfactionSurvey.case_id == case_id)
                           ).scalar_one_or_none()


# --- an agent ends a case -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AgentResolution:
    case_id: int
    resolution_kind: str
    survey_id: Optional[int]  # None: this case was asked about before


class NoCaseToResolve(SurveyError):
    """The conversation has no case (or not the one named): there is nothing to close or ask about."""


def resolve_by_agent(session: Session, conversation_id: str, agent_id: str, *, case_id: Optional[int] = None,
                     resolution_kind: Optional[str] = None, ask_now: bool = True,
                     now: Optional[datetime] = None) -> AgentResolution:
    """The agent ends the conversation's case in the console: its hand-offs close, the case is resolved
    (unless it ended already), and the buyer is asked once. `ask_now` False (the buyer is in the middle of a
    form or an offer) ends the case without the question. The kind is what the agent chose, else the offer
    the case stood at (an approved copilot suggestion), else "agent_closed"."""
    from bot.db import cases as db_cases
    from bot.db.models import Handoff

    handoffs = list(session.execute(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                          Handoff.status != "closed")
                                    .order_by(Handoff.id.desc())).scalars())
    case = _agent_case(session, conversation_id, case_id, handoffs)
    for handoff in handoffs:
        db_cases.close_handoff(session, handoff.id)
    if case.status not in ("resolved", "closed"):
        db_cases.update_case(session, case, status="resolved")
    kind = resolution_kind or _offer_kind(case) or "agent_closed"
    survey_id = ask(session, case, resolution_kind=kind, resolved_by=f"agent:{agent_id}", now=now) if ask_now else None
    return AgentResolution(case.id, kind, survey_id)


def _agent_case(session: Session, conversation_id: str, case_id: Optional[int], handoffs) -> AfterSalesCase:
    if case_id is None:
        case_id = next((h.case_id for h in handoffs if h.case_id is not None), None)
    if case_id is None:
        case_id = session.execute(select(AfterSalesCase.id).where(AfterSalesCase.conversation_id == conversation_id)
                                  .order_by(AfterSalesCase.id.desc()).limit(1)).scalar_one_or_none()
    case = session.get(AfterSalesCase, case_id) if case_id is not None else None
    if case is None or case.conversation_id != conversation_id:  # someone else's case looks like none
        raise NoCaseToResolve(f"conversation {conversation_id} has no case {case_id or ''}".strip())
    return case


def _offer_kind(case: AfterSalesCase) -> Optional[str]:
    offer = (case.last_resolution or {}).get("current_offer") or {}
    kind = offer.get("kind")
    return str(kind) if kind and offer.get("parts") else None
