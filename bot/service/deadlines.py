"""How fast the shop must act on a handed-off case (rules-from-seeds B, the pack's `response_times` and
`dispute_timeout` rules): a question within 24 h counted on working days, a complaint within 48 h, a
return/exchange or other after-sales request within 72 h, and a refund request within 72 h, after which the
buyer can ask the platform to step in (a dispute, which counts against the shop).

Every figure comes from the rule pack; the kinds below only say which figure a case uses. Working days are
Monday to Friday (China time); public holidays are not in the pack and are not skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from bot.clock import CN_TZ
from bot.policy.loader import PolicyPack

COMPLAINT_INTENTS = frozenset({"complaint_escalation", "counterfeit"})
RETURN_INTENTS = frozenset({"no_reason_return", "damaged", "leaking", "quality_issue", "minor_defect", "wrong_item",
                            "missing_item", "not_as_described", "repair_warranty"})
REFUND_INTENTS = frozenset({"refund_status", "cancel_order", "price_protection", "not_received", "late_shipment"})
# A case whose deadline is this close (or past) is marked in the queue.
DUE_SOON = timedelta(hours=4)


@dataclass(frozen=True)
class Deadline:
    kind: str  # question | complaint | return_request | refund_dispute
    due_at: datetime
    rule: str  # the pack rule and field it comes from, e.g. "B-response-times.complaint_hours"

    @property
    def dispute_risk(self) -> bool:
        """Past this deadline the buyer can open a platform dispute (a refund request left 72 h)."""
        return self.kind == "refund_dispute"


def deadline_kind(intent: Optional[str], reason: str) -> str:
    if reason.startswith("complaint") or intent in COMPLAINT_INTENTS:
        return "complaint"
    if intent in REFUND_INTENTS:
        return "refund_dispute"
    if intent in RETURN_INTENTS:
        return "return_request"
    return "question"


def handoff_deadline(pack: PolicyPack, intent: Optional[str], reason: str, start: datetime) -> Optional[Deadline]:
    """The deadline of a case handed off at `start`, or None when the pack has no response-time rule."""
    times = pack.single("response_times")
    if times is None:
        return None
    kind = deadline_kind(intent, reason or "")
    if kind == "complaint":
        return Deadline(kind, start + timedelta(hours=times.complaint_hours), f"{times.id}.complaint_hours")
    if kind == "return_request":
        return Deadline(kind, start + timedelta(hours=times.return_request_hours),
                        f"{times.id}.return_request_hours")
    if kind == "refund_dispute":
        dispute = pack.single("dispute_timeout")
        if dispute is not None:
            return Deadline(kind, start + timedelta(hours=dispute.platform_intervention_hours),
                            f"{dispute.id}.platform_intervention_hours")
    return Deadline("question", add_working_hours(start, times.question_hours), f"{times.id}.question_hours")


def add_working_hours(start: datetime, hours: float) -> datetime:
    """`start` plus `hours` counted only on Monday-Friday (China time): Friday 18:00 + 24 h -> Monday 18:00."""
    moment = start.astimezone(CN_TZ)
    left = timedelta(hours=hours)
    while True:
        if moment.weekday() >= 5:  # a weekend: jump to Monday 00:00
            moment = (moment + timedelta(days=7 - moment.weekday())).replace(hour=0, minute=0, second=0,
                                                                              microsecond=0)
            continue
        day_end = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        if moment + left <= day_end:
            return moment + left
        left -= day_end - moment
        moment = day_end


def queue_state(due_at: Optional[datetime], now: datetime, kind: Optional[str]) -> dict:
    """What the console shows for one waiting case: seconds left (negative when overdue) and the marks."""
    if due_at is None:
        return {"deadline": None, "seconds_left": None, "overdue": False, "due_soon": False, "dispute_risk": False}
    left = (due_at - now).total_seconds()
    return {"deadline": due_at.isoformat(), "seconds_left": int(left), "overdue": left < 0,
            "due_soon": 0 <= left <= DUE_SOON.total_seconds(),
            "dispute_risk": kind == "refund_dispute" and left <= DUE_SOON.total_seconds()}
