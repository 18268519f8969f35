"""What the engine returns: ordered options (a ladder), the step the buyer is on, flags, windows, needs.

Plain frozen dataclasses: cheap to build, impossible to edit by accident, `to_dict()` for JSON.
Money is integer fen everywhere in here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, Optional, Tuple

# Ledger grant kinds an accepted option writes, and the state each starts in.
PART_KINDS = ("compensation", "review_rebate", "refund", "reship", "voucher", "points", "shipping_subsidy")
# Paid at acceptance: cash transfers, vouchers and points. Promised until something else happens first:
# the review is posted (rebate), the goods come back (refund), the parcel leaves (reship), the return
# waybill is shown (shipping subsidy).
INITIAL_STATE = {
    "compensation": "paid", "voucher": "paid", "points": "paid",
    "review_rebate": "promised", "refund": "promised", "reship": "promised", "shipping_subsidy": "promised",
}
# Parts the buyer keeps together with the goods: the "cash settlement" the half-price cap governs.
KEEP_ITEM_CASH = ("compensation", "review_rebate")


@dataclass(frozen=True)
class Part:
    kind: str
    amount_fen: int
    state: str

    @classmethod
    def grant(cls, kind: str, amount_fen: int) -> "Part":
        assert kind in PART_KINDS, kind
        return cls(kind=kind, amount_fen=amount_fen, state=INITIAL_STATE[kind])

    def to_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "amount_fen": self.amount_fen, "state": self.state}


@dataclass(frozen=True)
class Option:
    kind: str
    amount_fen: int
    limit_fen: int
    rule: str
    seed_rule: str
    script: str
    explanation: str
    evidence_required: Tuple[str, ...] = ()
    parts: Tuple[Part, ...] = ()
    needs: Tuple[str, ...] = ()
    details: Dict[str, Any] = field(default_factory=dict)

    @property
    def keep_item_cash_fen(self) -> int:
        return sum(p.amount_fen for p in self.parts if p.kind in KEEP_ITEM_CASH)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "kind": self.kind, "amount_fen": self.amount_fen, "limit_fen": self.limit_fen,
            "rule": self.rule, "seed_rule": self.seed_rule, "script": self.script,
            "evidence_required": list(self.evidence_required), "needs": list(self.needs),
            "parts": [p.to_dict() for p in self.parts], "explanation": self.explanation,
            "details": _jsonable(self.details),
        }


@dataclass(frozen=True)
class Note:
    """Something the human agent (copilot) should know: a penalty risk, a deadline, an evidence duty."""
    rule: str
    text: str

    def to_dict(self) -> Dict[str, str]:
        return {"rule": self.rule, "text": self.text}


@dataclass(frozen=True)
class Resolution:
    intent: str
    resolved_as: str
    options: Tuple[Option, ...]
    step: int
    last_step: bool
    current_offer: Optional[Option]
    flags: Tuple[str, ...]
    window: Dict[str, Any]
    needs: Tuple[str, ...]
    notes: Tuple[Note, ...]

    @property
    def needs_human(self) -> bool:
        return "needs_human" in self.flags

    def to_dict(self) -> Dict[str, Any]:
        return {
            "intent": self.intent, "resolved_as": self.resolved_as,
            "step": self.step, "last_step": self.last_step,
            "current_offer": self.current_offer.to_dict() if self.current_offer else None,
            "options": [o.to_dict() for o in self.options],
            "flags": list(self.flags), "needs_human": self.needs_human,
            "needs": list(self.needs), "window": _jsonable(self.window),
            "notes": [n.to_dict() for n in self.notes],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return [_jsonable(v) for v in items]
    return value
