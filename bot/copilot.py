"""The agent copilot, Rasa-free: what a human agent sees beside a conversation, and the approve step.

`Copilot.suggest(context)` turns what the conversation knows (the buyer's messages, the NLU parse of the
latest one, the dialogue's slots) into one JSON-ready dict: the intent with its confidence and the
runner-up, the entities, the order facts, every option of the policy ladder (amounts, limits, rule ids, the
rule in words), a reply draft per option filled from the canned scripts, the buyer's earlier claims and the
risk flags. It only reads: a suggestion never writes a case, evidence or money.

`Copilot.approve(...)` writes the chosen option's ledger rows with approved_by="agent:<id>". The keys are
the ones the bot itself uses (bot.service.idempotency_key: case, rule, step, part), so an agent's retry, a
double click, or an agent approving what the bot already granted all end with one row per part.

The caller (bot.web) asks Rasa for the parse and reads the tracker; this module never imports Rasa.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from bot.clock import now_cn
from bot.db import cases as db_cases
from bot.db import ledger, queries
from bot.db import settlement as db_settlement
from bot.db.models import AfterSalesCase, Handoff, Order
from bot.db.session import DatabaseUnavailable, session_scope
from bot.money import fen_to_display, yuan_to_fen
from bot.policy.engine import resolve
from bot.policy.loader import PolicyPack, load_pack_in_service, pack_rejection, rejected_pack_message
from bot.policy.resolution import Option, Resolution
from bot.policy.types import AFTER_SALES_INTENTS
from bot.scripts import ScriptBook, describe_parts, reply_variables
from bot.service import CaseInputs, OrderView, defect_from_text, usable_from_text
from bot.service.aftersales import NON_OFFER_KINDS, AfterSalesService, cash_fen, ledger_key
from bot.service.pricing import price_protection_fields
from bot.service.casebuild import policy_case
from bot.service.summary import INTENT_NAMES

# A paid total at or above this is "high value": an agent double-checks before money moves.
HIGH_VALUE_FEN = 500_00
# Words of anger or of a threat to complain outside the shop (platform, 12315, the press).
ANGER_WORDS = ("投诉", "12315", "消协", "工商", "曝光", "举报", "差评", "骗子", "垃圾", "律师", "起诉", "媒体",
               "气死", "太过分", "无良", "黑店", "坑人", "滚")
COUNTERFEIT_WORDS = ("假货", "假的", "仿品", "高仿", "山寨", "不是正品", "假一赔")

RISK_LABELS = {
    "anger": "买家情绪激动或威胁投诉",
    "repeat_claimer": "重复索赔买家",
    "high_value": "高价订单",
    "outside_window": "已超出售后时效",
    "counterfeit": "涉及假货指控",
}


class CopilotError(ValueError):
    """A request the copilot cannot answer (no order, unknown case, an option that cannot be granted)."""


@dataclass(frozen=True)
class ConversationContext:
    """What the web layer read from the tracker and Rasa's parser for one conversation (or raw messages)."""
    buyer_messages: tuple[str, ...]
    parse: dict = field(default_factory=dict)  # /model/parse of the latest buyer message
    conversation_id: Optional[str] = None
    buyer_id: Optional[str] = None
    problem: Optional[str] = None  # the dialogue's `problem` slot; else the first after-sales intent seen
    order_number: Optional[str] = None
    case_id: Optional[int] = None
    usable: Optional[bool] = None
    return_shipping_quote_fen: Optional[int] = None
    photo_refs: tuple[str, ...] = ()
    parses: tuple[dict, ...] = ()  # parses of earlier messages (raw-message mode), to find the problem
    now: Optional[datetime] = None
    price_claimed_fen: Optional[int] = None  # the dialogue's price_now slot: the price the buyer stated


@dataclass
class _Loaded:
    order: Order
    case: Optional[AfterSalesCase]
    evidence: list[str]
    refusals: int
    skus: Optional[list[str]] = None  # the case's order lines (faulty_items); None: the whole order


class Copilot:
    def __init__(self, db_url: Optional[str] = None, pack: Optional[PolicyPack] = None,
                 scripts: Optional[ScriptBook] = None):
        self.db_url = db_url
        self._pack = pack
        self.scripts = scripts or ScriptBook.load()  # the domain's responses, read once

    @property
    def pack(self) -> PolicyPack:
        return self._pack or load_pack_in_service()  # a broken edit: the last good pack stays in service

    def pack_rejected(self) -> str:
        """The loader's message while the shop's last edit of the rule pack is rejected ("" when the pack on
        disk is the one in service, or the copilot was given a fixed pack)."""
        return "" if self._pack else pack_rejection()

    # ------------------------------------------------------------------ suggestions

    def suggest(self, context: ConversationContext, timings: Optional[dict[str, float]] = None,
                nlu: Optional[Callable[[], ConversationContext]] = None) -> dict[str, Any]:
        """`timings`, when given, receives seconds per stage: db (the one read-only session's queries),
        policy (the engine), drafts (options, scripts, notes), nlu_wait.

        `nlu`, when given, returns the context completed with its parses (it may block until Rasa answers);
        it is called once, after the reads that do not depend on the parse (the hand-off, and the order and
        the buyer's claims when the order number or case is known already), so the parsing overlaps them."""
        timings = {} if timings is None else timings
        started = time.perf_counter()
        pack = self.pack  # one fingerprint check per call: load_pack stats every rule file
        with session_scope(self.db_url) as session:
            handoff = open_handoff(session, context.conversation_id) if context.conversation_id else None
            loaded, claims = None, None
            if nlu is not None and (context.order_number or context.case_id is not None):
                loaded = self._load(session, context, context.order_number)
                claims = self._claims(session, context, loaded)
            if nlu is not None:
                at = time.perf_counter()
                context = nlu()
                timings["nlu_wait"] = time.perf_counter() - at
            intent = intent_summary(context.parse)
            problem = context.problem or first_after_sales_intent(context) or ""
            result: dict[str, Any] = {
                "conversation_id": context.conversation_id, "buyer_id": context.buyer_id,
                "intent": intent, "problem": problem, "problem_name": INTENT_NAMES.get(problem, problem),
                "entities": [_entity(e) for e in context.parse.get("entities") or []],
                "order": None, "case": None, "options": [], "current_step": None, "notes": [], "flags": [],
                "claims": [], "risks": [], "handoff": handoff,
                # the console shows it: the shop's last edit of the rule pack was rejected, the old one serves
                "pack_rejected": "" if self._pack else rejected_pack_message(),
            }
            if claims is None:
                number = context.order_number or _order_number_entity(context.parse)
                loaded = self._load(session, context, number) if number or context.case_id else None
                claims = self._claims(session, context, loaded)
            buyer_id = context.buyer_id or (loaded.order.buyer_id if loaded else None)
            result["buyer_id"] = buyer_id
            result["claims"] = claims
            resolution = None
            if loaded is not None and problem:
                inputs = self._inputs(context, buyer_id, problem, loaded.order.order_number)
                at = time.perf_counter()
                resolution = self._resolve(loaded, inputs, pack, prior_claims=_claim_count(claims),
                                           session=session)
                timings["policy"] = time.perf_counter() - at
                at = time.perf_counter()
                result.update(self._present(resolution, loaded, pack))
                timings["drafts"] = time.perf_counter() - at
            if loaded is not None:
                result["order"] = order_facts(loaded.order)
            result["risks"] = risk_flags(context, intent, problem, claims, loaded, resolution, pack)
        timings["db"] = time.perf_counter() - started - sum(timings.get(stage, 0.0)
                                                            for stage in ("policy", "drafts", "nlu_wait"))
        return result

    @staticmethod
    def _claims(session: Session, context: ConversationContext, loaded: Optional[_Loaded]) -> list[dict]:
        buyer_id = context.buyer_id or (loaded.order.buyer_id if loaded else None)
        if not buyer_id:
            return []
        return queries.claim_history(session, buyer_id,
                                     exclude_case_id=loaded.case.id if loaded and loaded.case else None)

    def warm_up(self) -> None:
        """Load the rule pack and run the suggestion's queries once (compiled and cached by SQLAlchemy), so the
        first agent's first suggestion does not pay for it. Reads only; a database that is down is left for
        the first real call to report."""
        _ = self.pack  # loaded and cached (bot.policy.loader keys it by the files' mtime and size)
        try:
            with session_scope(self.db_url) as session:
                open_handoff(session, "-")
                find_order(session, "000000000000", None)
                first = session.execute(select(Order.order_number, Order.buyer_id).order_by(Order.id).limit(1)).first()
                case = session.execute(select(AfterSalesCase.id, AfterSalesCase.buyer_id)
                                       .order_by(AfterSalesCase.id.desc()).limit(1)).first()
            # the whole path once (engine, scripts), with a case when there is one; a suggestion writes nothing
            if first is not None:
                self.suggest(ConversationContext(buyer_messages=("",), conversation_id="-", buyer_id=first.buyer_id,
                                                 problem="damaged", order_number=first.order_number))
            if case is not None:
                self.suggest(ConversationContext(buyer_messages=("",), conversation_id="-", buyer_id=case.buyer_id,
                                                 problem="damaged", case_id=case.id))
        except (DatabaseUnavailable, CopilotError):
            pass

    def _load(self, session: Session, context: ConversationContext, number: Optional[str]) -> _Loaded:
        case = None
        if context.case_id is not None:
            case = session.get(AfterSalesCase, int(context.case_id))
            if case is None or (context.buyer_id and case.buyer_id != context.buyer_id):
                raise CopilotError(f"no case {context.case_id} for this conversation")
            number = case.order.order_number if case.order is not None else number
        order = find_order(session, number or "", context.buyer_id)
        if order is None:
            raise CopilotError(f"no order {number}" + (f" for buyer {context.buyer_id}" if context.buyer_id else ""))
        evidence = db_cases.evidence_kinds(session, case) if case is not None else []
        real_photos = db_cases.own_uploads(session, order.buyer_id, context.photo_refs,
                                           case.conversation_id if case is not None else None)
        if real_photos and "photo" not in evidence:
            evidence.append("photo")
        return _Loaded(order, case, evidence, case.refusals if case is not None else 0,
                       db_cases.case_skus(session, case))

    def _inputs(self, context: ConversationContext, buyer_id: str, problem: str, order_number: str) -> CaseInputs:
        opening = " ".join(context.buyer_messages)
        usable = context.usable if context.usable is not None else usable_from_text(opening)
        return CaseInputs(
            conversation_id=context.conversation_id or f"copilot:{buyer_id}", buyer_id=buyer_id, intent=problem,
            now=context.now or now_cn(), order_number=order_number, usable=usable, photo_refs=context.photo_refs,
            return_shipping_quote_fen=context.return_shipping_quote_fen,
            defect=defect_from_text(opening) if problem == "minor_defect" else None,
            price_now_fen=context.price_claimed_fen if problem == "price_protection" else None)

    @staticmethod
    def _resolve(loaded: _Loaded, inputs: CaseInputs, pack: PolicyPack, prior_claims: int,
                 session: Optional[Session] = None) -> Resolution:
        # price protection: the catalog's price at the time of the request, as the bot sees it
        extra = price_protection_fields(session, loaded.order, pack, inputs.now, inputs.price_now_fen) \
            if session is not None and inputs.intent == "price_protection" else None
        case_dict = policy_case(queries.case_facts(loaded.order, item_skus=loaded.skus), inputs, evidence=loaded.evidence,
                                refusals=loaded.refusals, prior_claims=prior_claims,
                                case_id=loaded.case.id if loaded.case else None, extra=extra)
        return resolve(case_dict, pack)

    def _present(self, resolution: Resolution, loaded: _Loaded, pack: PolicyPack) -> dict[str, Any]:
        view = OrderView.of(loaded.order)
        options = [self._option(index, option, resolution, view, pack)
                   for index, option in enumerate(resolution.options)]
        case = loaded.case
        return {
            "options": options, "current_step": resolution.step, "flags": list(resolution.flags),
            "needs": list(resolution.needs),
            "notes": [note.to_dict() for note in resolution.notes],
            "case": {"id": case.id, "status": case.status, "refusals": case.refusals, "summary": case.summary}
            if case is not None else None,
            "current_draft": self._current_draft(resolution, view),
            "price_protection": price_protection_figures(resolution),
        }

    def _option(self, index: int, option: Option, resolution: Resolution, view: OrderView,
                pack: PolicyPack) -> dict[str, Any]:
        rule = pack.rules.get(option.rule)
        grantable = option.kind not in NON_OFFER_KINDS and bool(option.parts)
        return {
            "index": index, "kind": option.kind, "rule": option.rule, "seed_rule": option.seed_rule,
            "rule_title": rule.title if rule is not None else "", "rule_in_words": option.explanation,
            "amount_fen": option.amount_fen, "limit_fen": option.limit_fen,
            "amount": fen_to_display(option.amount_fen), "limit": fen_to_display(option.limit_fen),
            "parts": [part.to_dict() for part in option.parts],
            "parts_text": describe_parts(option.parts, with_state=False),
            "evidence_required": list(option.evidence_required), "needs": list(option.needs),
            "current": index == resolution.step, "refused": index < resolution.step, "grantable": grantable,
            "draft": self.draft(option.script, resolution, option, view),
        }

    def _current_draft(self, resolution: Resolution, view: OrderView) -> Optional[str]:
        offer = resolution.current_offer
        return self.draft(offer.script, resolution, offer, view) if offer is not None else None

    def draft(self, script: str, resolution: Resolution, option: Option, view: OrderView) -> str:
        if script not in self.scripts:
            return option.explanation
        return self.scripts.render(script, reply_variables(resolution, option=option, order=view))["text"]

    # ------------------------------------------------------------------ approve

    def approve(self, *, case_id: int, option_index: int, agent_id: str, buyer_messages: tuple[str, ...] = (),
                photo_refs: tuple[str, ...] = (), return_shipping_quote_fen: Optional[int] = None,
                usable: Optional[bool] = None, now: Optional[datetime] = None) -> dict[str, Any]:
        """Grant option `option_index` of the case's ladder, approved by the agent. Idempotent per part:
        a retry returns the same rows with created=False. A case already settled with another option
        raises CopilotError (one settlement per case)."""
        with session_scope(self.db_url) as session:
            case = session.get(AfterSalesCase, int(case_id), populate_existing=True)
            if case is None or case.order is None:
                raise CopilotError(f"no case {case_id} with an order")
            order = queries.find_order_for_buyer(session, case.buyer_id, case.order.order_number)
            context = ConversationContext(buyer_messages=buyer_messages, buyer_id=case.buyer_id, problem=case.intent,
                                          photo_refs=photo_refs, usable=usable, now=now,
                                          return_shipping_quote_fen=return_shipping_quote_fen,
                                          conversation_id=case.conversation_id)
            loaded = _Loaded(order, case, db_cases.evidence_kinds(session, case), case.refusals,
                             db_cases.case_skus(session, case))
            if db_cases.own_uploads(session, case.buyer_id, photo_refs, case.conversation_id) \
                    and "photo" not in loaded.evidence:
                loaded.evidence.append("photo")
            inputs = self._inputs(context, case.buyer_id, case.intent, order.order_number)
            prior = queries.prior_claims(session, case.buyer_id, exclude_case_id=case.id)
            resolution = self._resolve(loaded, inputs, self.pack, prior, session=session)
            if not 0 <= option_index < len(resolution.options):
                raise CopilotError(f"case {case_id} has no option {option_index}")
            option = resolution.options[option_index]
            if option.kind in NON_OFFER_KINDS or not option.parts:
                raise CopilotError(f"option {option_index} ({option.kind}) grants nothing")
            keys = [ledger_key(case.id, order.id, option, option_index, kind, n) for kind, n in _occurrences(option)]
            self._refuse_other_settlement(session, case, order, option, option_index, keys,
                                          AfterSalesService(self.db_url, pack=self._pack), f"agent:{agent_id}")
            rows = []
            for part, key in zip(option.parts, keys):
                entry, created = ledger.grant(
                    session, key, kind=part.kind, amount_fen=part.amount_fen, rule_id=option.rule,
                    seed_rule=option.seed_rule, case_id=case.id, order_id=order.id, buyer_id=case.buyer_id,
                    approved_by=f"agent:{agent_id}", state=part.state, note=option.explanation[:500])
                rows.append({"id": entry.id, "kind": entry.kind, "amount_fen": entry.amount_fen,
                             "state": entry.state, "approved_by": entry.approved_by,
                             "idempotency_key": key, "created": created})
            if case.status != "resolved":
                assessment_summary = f"坐席{agent_id}批准第{option_index + 1}步（{option.rule}）：" \
                                     f"{describe_parts(option.parts, with_state=False)}"
                db_cases.update_case(session, case, status="resolved", summary=assessment_summary)
            return {"case_id": case.id, "option": option_index, "rule": option.rule, "rows": rows,
                    "created_any": any(row["created"] for row in rows)}

    @staticmethod
    def _refuse_other_settlement(session: Session, case: AfterSalesCase, order: Order, option: Option,
                                 option_index: int, keys: list[str], service: "AfterSalesService",
                                 approved_by: str) -> None:
        """One settlement per case, and the order's cash limits, decided under the order's row lock (see
        bot.db.settlement): the loser of a race with the buyer's 好的 is told what was settled, pays nothing.
        Approving again what is already settled with these keys passes (the grants then find their rows)."""
        db_settlement.lock_order(session, order.id)
        existing = ledger.entries_for_case(session, case.id)
        settled = db_settlement.get_settlement(session, case.id)
        if settled is not None or existing:
            if existing and {entry.idempotency_key for entry in existing} >= set(keys):
                return
            raise CopilotError(f"already settled: case {case.id} ({describe_parts(existing)})")
        parts = [(part.kind, part.amount_fen) for part in option.parts if part.amount_fen > 0]
        reason = service.limit_reason(session, case, order, parts)
        if reason:
            raise CopilotError(f"over the order's limit: {reason}")
        created = db_settlement.claim_settlement(
            session, case_id=case.id, order_id=order.id, rule_id=option.rule, step=option_index,
            approved_by=approved_by, cash_fen=cash_fen(option))
        if not created:
            raise CopilotError(f"already settled: case {case.id}")


# ---------------------------------------------------------------------- helpers (pure where possible)

def price_protection_figures(resolution: Resolution) -> Optional[dict[str, Any]]:
    """The figures the bot used for a price-protection request, for the agent to check: the catalog's price
    at the time of the request, the unit price paid, the units, what was refunded before, the buyer's own
    figure, the deadline and the rule."""
    if resolution.resolved_as != "price_protection":
        return None
    option = next((o for o in resolution.options if "price_now_fen" in o.details), None)
    deadline = (resolution.window or {}).get("price_protection_deadline")
    figures: dict[str, Any] = {
        "rule": resolution.options[0].rule if resolution.options else None,
        "deadline": deadline.isoformat() if isinstance(deadline, datetime) else deadline,
        "outcome": resolution.options[0].kind if resolution.options else resolution.current_offer.kind,
    }
    if option is not None:
        details = option.details
        figures.update(
            price_now=fen_to_display(details["price_now_fen"]), price_source=details.get("price_source"),
            paid_unit=fen_to_display(details["paid_unit_fen"]), units=details.get("units"),
            already_refunded=fen_to_display(details.get("already_refunded_fen", 0)),
            difference=fen_to_display(option.amount_fen),
            claimed=fen_to_display(details["price_claimed_fen"]) if "price_claimed_fen" in details else None)
    return figures


def intent_summary(parse: dict) -> dict[str, Any]:
    """{"name", "confidence", "runner_up": {"name", "confidence"} | None} from a Rasa parse result."""
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name")]
    top = parse.get("intent") or (ranking[0] if ranking else {})
    runner = next((r for r in ranking if r.get("name") != top.get("name")), None)
    return {
        "name": top.get("name"), "confidence": round(float(top.get("confidence") or 0.0), 4),
        "label": INTENT_NAMES.get(top.get("name") or "", top.get("name")),
        "runner_up": {"name": runner["name"], "confidence": round(float(runner.get("confidence") or 0.0), 4)}
        if runner else None,
        # The console shows these as one-click corrections (the learning loop, bot.db.corrections).
        "ranking": [
            {"name": r["name"], "label": INTENT_NAMES.get(r["name"], r["name"]),
             "confidence": round(float(r.get("confidence") or 0.0), 4)}
            for r in ranking if r["name"] != "nlu_fallback"
        ][:5],
    }


def first_after_sales_intent(context: ConversationContext) -> Optional[str]:
    for parse in (*context.parses, context.parse):
        name = (parse.get("intent") or {}).get("name")
        if name in AFTER_SALES_INTENTS:
            return name
    return None


def _entity(entity: dict) -> dict[str, Any]:
    return {key: entity.get(key) for key in ("entity", "value", "start", "end", "extractor") if key in entity}


def _order_number_entity(parse: dict) -> Optional[str]:
    return next((str(e["value"]) for e in parse.get("entities") or [] if e.get("entity") == "order_number"), None)


def _occurrences(option: Option) -> list[tuple[str, int]]:
    """(kind, n-th of that kind): the same numbering AfterSalesService uses for its keys."""
    seen: dict[str, int] = {}
    out = []
    for part in option.parts:
        seen[part.kind] = seen.get(part.kind, 0) + 1
        out.append((part.kind, seen[part.kind]))
    return out


def _claim_count(claims: list[dict]) -> int:
    return len({(c["case_id"],) if c["case_id"] is not None else ("order", c["order_number"]) for c in claims})


def find_order(session: Session, number: str, buyer_id: Optional[str]) -> Optional[Order]:
    """The buyer's order; without a buyer (an agent pasted raw messages) any order with that number."""
    if buyer_id:
        return queries.find_order_for_buyer(session, buyer_id, number)
    normalized = queries.normalize_order_number(number)
    if not normalized:
        return None
    return session.execute(
        select(Order).options(joinedload(Order.buyer), selectinload(Order.items), selectinload(Order.shipments))
        .where(Order.order_number == normalized)).scalar_one_or_none()


def order_facts(order: Order) -> dict[str, Any]:
    facts = queries.case_facts(order)
    facts["paid_total_fen"] = order.paid_total_fen
    facts["buyer_id"] = order.buyer_id
    facts["item_title"] = OrderView.of(order).item_title
    return facts


def open_handoff(session: Session, conversation_id: str) -> Optional[dict[str, Any]]:
    handoff = session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status != "closed")
        .order_by(Handoff.id.desc())).scalars().first()
    if handoff is None:
        return None
    return {"id": handoff.id, "status": handoff.status, "reason": handoff.reason, "summary": handoff.summary,
            "agent_id": handoff.agent_id, "case_id": handoff.case_id,
            "created_at": handoff.created_at.isoformat() if handoff.created_at else None}


def risk_flags(context: ConversationContext, intent: dict, problem: str, claims: list[dict],
               loaded: Optional[_Loaded], resolution: Optional[Resolution], pack: PolicyPack) -> list[dict]:
    """Each risk as {"code", "label", "detail"}; the detail says why, so an agent can check it."""
    text = " ".join(context.buyer_messages)
    risks = []
    angry = [word for word in ANGER_WORDS if word in text]
    if angry or intent.get("name") == "complaint_escalation":
        risks.append(_risk("anger", "、".join(angry) or "意图：complaint_escalation"))
    threshold = pack.settings.abuse.prior_claims_threshold
    count = _claim_count(claims)
    if count >= threshold or (resolution is not None and "abuse_risk" in resolution.flags):
        risks.append(_risk("repeat_claimer", f"此前已获赔{count}次（阈值{threshold}次）"))
    if loaded is not None and loaded.order.paid_total_fen >= HIGH_VALUE_FEN:
        risks.append(_risk("high_value", f"实付{fen_to_display(loaded.order.paid_total_fen)}元"
                                         f"（≥{fen_to_display(HIGH_VALUE_FEN)}元）"))
    if resolution is not None and "outside_window" in resolution.flags:
        risks.append(_risk("outside_window", "订单已超出规则包规定的售后时效"))
    fake_words = [word for word in COUNTERFEIT_WORDS if word in text]
    if problem == "counterfeit" or intent.get("name") == "counterfeit" or fake_words:
        risks.append(_risk("counterfeit", "、".join(fake_words) or "意图：counterfeit"))
    return risks


def _risk(code: str, detail: str) -> dict[str, str]:
    return {"code": code, "label": RISK_LABELS[code], "detail": detail}


def quote_fen(value: Any) -> Optional[int]:
    """The dialogue's return_shipping_quote slot (yuan text) as fen."""
    if value in (None, ""):
        return None
    try:
        return yuan_to_fen(str(value))
    except (ValueError, ArithmeticError):
        return None


__all__ = ["Copilot", "ConversationContext", "CopilotError", "intent_summary", "risk_flags",
           "quote_fen"]
