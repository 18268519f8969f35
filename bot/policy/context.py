"""What every rule handler of the policy engine builds with: the case context, options, ledger parts, windows.

`Ctx` carries the case, the pack and what the handlers gather besides options (flags, the facts still
needed, notes for the agent). `option()` makes an option whose amount is by construction the sum of its
ledger parts. `compute_windows` turns the case's times and the pack's durations into the deadlines the
handlers and the copilot show. The A11 buyer-fault deduction lives here too: delivery problems, cancelling
and returns all refund "less what the buyer's fault cost".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bot.money import fen_to_display
from bot.policy.case import Case
from bot.policy.loader import PolicyPack
from bot.policy.resolution import Note, Option, Part
from bot.policy.schema import RuleBase
from bot.policy.windows import after_days, after_hours, seven_day_deadline, ship_deadline, within_daily_hours

# Problems with received goods: the 15-day after-sales window applies to them.
PROBLEM_INTENTS = frozenset({"damaged", "leaking", "minor_defect", "quality_issue", "wrong_item", "missing_item",
                             "not_as_described", "counterfeit"})

BUYER_FAULT_NOTE = "买家原因产生的运费由买家承担，从退款中扣除"


def yuan(fen: int) -> str:
    return fen_to_display(fen) + "元"


@dataclass
class Ctx:
    """The case, the pack and what the handlers accumulate besides options."""
    case: Case
    pack: PolicyPack
    intent: str
    window: Dict[str, object] = field(default_factory=dict)
    flags: set = field(default_factory=set)
    needs: List[str] = field(default_factory=list)
    notes: List[Note] = field(default_factory=list)

    def need(self, what: str) -> None:
        if what not in self.needs:
            self.needs.append(what)

    def note(self, rule: RuleBase, text: str) -> None:
        self.notes.append(Note(rule=rule.id, text=text))

    def require_evidence(self, required: Iterable[str]) -> None:
        for item in required:
            if item not in self.case.evidence:
                self.flags.add("missing_evidence")
                self.need(item)

    @property
    def cash_cap_fen(self) -> int:
        """Half (the pack's percent) of what was paid for the faulty items, rounded DOWN to whole yuan.

        10.50 -> 5.25 -> 5 yuan; 20.00 -> 10 yuan. Rounding down never exceeds the exact half.
        """
        cap = self.pack.settings.cash_cap
        exact = Decimal(self.case.concerned_paid_fen) * cap.percent / 100
        return int(exact // cap.round_down_to) * cap.round_down_to


def option(rule: RuleBase, kind: str, script: str, explanation: str, parts: Sequence[Part] = (),
           limit_fen: Optional[int] = None, evidence: Sequence[str] = (), needs: Sequence[str] = (),
           details: Optional[dict] = None) -> Option:
    """An option whose amount is by construction the sum of its ledger parts."""
    amount = sum(p.amount_fen for p in parts)
    return Option(kind=kind, amount_fen=amount, limit_fen=amount if limit_fen is None else limit_fen,
                  rule=rule.id, seed_rule=rule.seed, script=script, explanation=explanation,
                  evidence_required=tuple(evidence), parts=tuple(parts), needs=tuple(needs),
                  details=details or {})


def grants(*pairs: Tuple[str, int], keep_zero: Sequence[str] = ("reship",)) -> List[Part]:
    """Ledger parts from (kind, fen) pairs; zero-amount money parts are dropped, re-shipments kept."""
    return [Part.grant(kind, fen) for kind, fen in pairs if fen > 0 or kind in keep_zero]


def first_rule(rules: List[RuleBase]) -> Optional[RuleBase]:
    return rules[0] if rules else None


def applies_to_platform(rule: RuleBase, case: Case) -> bool:
    return case.platform in getattr(rule, "platforms", ())


def buyer_fault_deduction(ctx: Ctx) -> Tuple[Optional[RuleBase], int]:
    """A11: the shipping the buyer caused, to deduct from the refund (0 when not the buyer's fault)."""
    rule = ctx.pack.single("buyer_fault")
    if ctx.case.reason not in rule.reasons or not rule.deduct_from_refund:
        return None, 0
    if ctx.case.shipping_cost is None:
        ctx.need("shipping_cost")
        return rule, 0
    ctx.note(rule, BUYER_FAULT_NOTE)
    return rule, ctx.case.shipping_cost


def refund_less_buyer_fault(ctx: Ctx, rule: RuleBase, kind: str, script: str, text: str,
                            details: Optional[dict] = None) -> Option:
    """A refund of the concerned items, minus the A11 deduction when the buyer caused the shipping."""
    refund = ctx.case.concerned_paid_fen
    fault_rule, deduction = buyer_fault_deduction(ctx)
    net = max(0, refund - deduction)
    details = dict(details or {})
    if fault_rule is not None:
        details["buyer_fault_deduction_fen"] = min(deduction, refund)
        text += f"（{BUYER_FAULT_NOTE}：扣{yuan(min(deduction, refund))}）" if deduction else f"（{BUYER_FAULT_NOTE}）"
        rule = fault_rule
        script = fault_rule.script
    return option(rule, kind, script, text, grants(("refund", net)), limit_fen=refund, details=details)


def compute_windows(ctx: Ctx) -> None:
    c, pack, w = ctx.case, ctx.pack, ctx.window
    seven = pack.single("seven_day_return")
    if c.signed_at is not None:
        deadline = seven_day_deadline(c.signed_at, c.signed_date_only, seven.hours, seven.date_only_starts)
        w["seven_day_deadline"] = deadline
        w["seven_day_open"] = c.now < deadline
    if c.completed_at is not None:
        w["after_sales_deadline"] = after_days(c.completed_at, pack.single("after_sales_window").days)
        w["platform_appeal_deadline"] = after_days(c.completed_at, seven.platform_appeal_days)
    deadlines = pack.single("shipping_deadlines")
    ship_dl = ship_deadline(c.listing_kind, c.paid_at, c.ship_by, c.presale_ship_date,
                            deadlines.ordinary_hours, deadlines.juhuasuan_days)
    if ship_dl is not None:
        w["ship_deadline"] = ship_dl
        w["shipping_late"] = c.order_status == "paid_unshipped" and c.now > ship_dl
    if c.refund_requested_at is not None:
        w["platform_intervention_at"] = after_hours(c.refund_requested_at,
                                                    pack.single("dispute_timeout").platform_intervention_hours)
    pickup = pack.single("pickup")
    w["pickup_open_now"] = within_daily_hours(c.now, pickup.opens, pickup.closes)
    protection = pack.single("price_protection")
    if protection is not None and c.paid_at is not None:
        w["price_protection_deadline"] = after_days(c.paid_at, protection.days)
