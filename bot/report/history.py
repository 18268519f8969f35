"""Past conversations for the demo (and the benchmark): tracker events in Rasa's format plus the matching
buyers, orders, cases, hand-offs and ledger rows, so the report page shows something on a fresh install.

Deterministic: the same seed, count, span and end time give the same history. Every generated hand-off is
closed by `end`, and the command ends the history a day before now, so the console's queue and its
"live in the last 24 hours" list show only real conversations. Everything it writes is
recognisable and removable: buyer ids and Rasa sender ids start with `hist_`, order numbers with `7766`.
The dialogue itself is not run (that would take minutes per thousand conversations); each conversation
follows the event sequence the live bot records for the same path (docs/report.md shows one).

Rows are written with bulk Core inserts in batches, so 100,000 conversations (about 3 million events)
take a minute or two rather than hours.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterator, Optional

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from bot.db.models import (
    AfterSalesCase,
    Buyer,
    Handoff,
    InvoiceRequest,
    LedgerEntry,
    Order,
    OrderItem,
    SatisfactionSurvey,
    Shipment,
    Shop,
)
from bot.db.seed import (
    BOTTLE_20,
    BOTTLE_1050,
    CUP_SET,
    EARBUDS,
    FRIDGE,
    JAR_SEALED,
    KETTLE,
    NIGHTSTAND,
    SERUM,
    TEA,
    TSHIRT,
    VASE,
    WASHER,
    ItemSpec,
)
from bot.money import percent_of
from bot.policy.resolution import INITIAL_STATE
from bot.report.tracker import EVENTS, ensure_report_indexes, tracker_metadata

BUYER_PREFIX = "hist_"
ORDER_PREFIX = "7766"
DEFAULT_SEED = 20261123
BATCH_CONVERSATIONS = 2000

H = timedelta(hours=1)
D = timedelta(days=1)
MIN = timedelta(minutes=1)
SESSION_GAP = 6 * H  # one buyer's generated conversations start at least this far apart

# --- what conversations are about --------------------------------------------------------------------

# (intent, weight): roughly the mix an appliance-and-glassware shop sees.
INTENT_WEIGHTS = (
    ("damaged", 14), ("delivery_status", 13), ("no_reason_return", 8), ("late_shipment", 7), ("minor_defect", 6),
    ("quality_issue", 6), ("not_received", 6), ("leaking", 5), ("refund_status", 5), ("wrong_item", 4),
    ("missing_item", 4), ("cancel_order", 4), ("invoice", 3), ("not_as_described", 3), ("request_compensation", 3),
    ("counterfeit", 2), ("price_protection", 2), ("repair_warranty", 2), ("shipping_fee", 2),
)

# intent -> (rule id, ladder). A ladder step lists its parts: (ledger kind, fen or a share of the price).
LADDERS: dict[str, tuple[str, tuple[tuple[tuple[str, int | str], ...], ...]]] = {
    "damaged": ("A1", ((("compensation", 200), ("review_rebate", 300)),
                       (("refund", "price"), ("shipping_subsidy", 1300)))),
    "leaking": ("A3", ((("compensation", 200), ("review_rebate", 300), ("reship", 0)), (("refund", "price"),))),
    "minor_defect": ("A8", ((("compensation", 200), ("review_rebate", 300)), (("compensation", "half"),))),
    "quality_issue": ("A7", ((("compensation", 200), ("review_rebate", 300)),
                             (("refund", "price"), ("shipping_subsidy", 1300)))),
    "wrong_item": ("B-seller-fault-returns", ((("reship", 0), ("shipping_subsidy", 1300)), (("refund", "price"),))),
    "missing_item": ("A5", ((("reship", 0),), (("refund", "price"),))),
    "not_received": ("A6", ((("compensation", 300),), (("refund", "price"),))),
    "late_shipment": ("B-late-shipping", ((("compensation", "30pct"),),)),
    "not_as_described": ("B-seller-fault-returns", ((("refund", "price"), ("shipping_subsidy", 1300)),)),
    "no_reason_return": ("B-seven-day", ((("refund", "price"),),)),
    "cancel_order": ("B-refund-before-shipping", ((("refund", "price"),),)),
    "price_protection": ("D-price-protection", ((("refund", "10pct"),),)),
    "request_compensation": ("A6", ((("voucher", 500),),)),
}
# Intents the bot answers with information (no offer); the rule is the one its answer quotes.
INFO_RULES = {"delivery_status": "A6", "refund_status": "B-refund-after-shipping", "invoice": "B-invoice",
              "shipping_fee": "B-seven-day-shipping", "repair_warranty": "B-after-sales-window"}
ALWAYS_HUMAN = {"counterfeit": "B-counterfeit"}
BEFORE_SHIPPING = ("late_shipment", "cancel_order")

# (outcome, weight) for a conversation that gets an offer, and for one that gets information.
OFFER_OUTCOMES = (("accept_first", 50), ("accept_second", 15), ("request_human", 10), ("last_refused", 5),
                  ("escalation", 4), ("abandon_offer", 8), ("abandon_form", 8))
INFO_OUTCOMES = (("informed", 80), ("request_human", 8), ("escalation", 3), ("abandon_form", 9))

GLASS = (BOTTLE_20, BOTTLE_1050, CUP_SET, JAR_SEALED, VASE)
CATALOG = (BOTTLE_20, BOTTLE_1050, CUP_SET, JAR_SEALED, VASE, KETTLE, WASHER, FRIDGE, EARBUDS, TSHIRT, TEA, SERUM,
           NIGHTSTAND)
CATALOG_WEIGHTS = (16, 8, 12, 6, 5, 9, 4, 4, 6, 5, 4, 3, 3)
PLATFORM_SHOPS = (("tmall", "demo_tmall", 55), ("jd", "demo_jd", 20), ("pdd", "demo_pdd", 15),
                  ("taobao", "demo_taobao", 10))
AGENTS = ("agent:a01", "agent:a02", "agent:a03")

# Satisfaction answers when a case ends (满意 / 一般 / 不满意, or no answer), bot- and agent-settled: buyers who
# needed a person are a little less happy. Drawn from a random stream of their own, so adding them left the
# rest of the history (and the figures tests pin) as it was.
SURVEY_ANSWERS = {"bot": (("satisfied", 62), ("neutral", 18), ("unsatisfied", 8), (None, 12)),
                  "agent": (("satisfied", 48), ("neutral", 22), ("unsatisfied", 16), (None, 14))}
UNSATISFIED_COMMENTS = ("补偿太少了", "等了好久才有人回", "还是希望换个新的", "", "处理太慢", "问了三遍才明白")

USER_TEXTS = {
    "damaged": ("收到的杯子碎了", "瓶子摔裂了一道口子", "快递到了玻璃破了"),
    "leaking": ("密封罐漏水", "罐子盖不严，漏了一箱子水"),
    "minor_defect": ("瓶底有气泡", "杯子上有划痕", "有点小瑕疵"),
    "quality_issue": ("用了两天就坏了", "质量太差了", "水壶不加热了"),
    "wrong_item": ("发错货了，我买的不是这个", "颜色发错了"),
    "missing_item": ("少发了一个", "买了两个只收到一个"),
    "not_received": ("显示签收了但我没收到", "一直没收到货"),
    "delivery_status": ("我的快递到哪了", "什么时候能到", "物流怎么不动了"),
    "late_shipment": ("怎么还不发货", "说好48小时发货的，现在还没发"),
    "counterfeit": ("这是假货吧", "怀疑不是正品"),
    "not_as_described": ("跟描述的不一样", "实物和图片差太多"),
    "no_reason_return": ("我想七天无理由退货", "不想要了能退吗"),
    "cancel_order": ("拍错了，帮我取消订单", "不想要了，取消吧"),
    "refund_status": ("退款什么时候到账", "我的退款到哪一步了"),
    "invoice": ("能开发票吗", "要一张电子发票"),
    "price_protection": ("买完就降价了，能保价吗", "现在便宜了20块"),
    "repair_warranty": ("坏了能保修吗", "在哪里维修"),
    "shipping_fee": ("退货运费谁出", "运费怎么算"),
    "request_compensation": ("送货上门没送上楼，要赔偿", "你们要给个说法，赔点钱"),
    "greet": ("你好", "在吗", "hello"),
    "affirm": ("好的", "可以", "行吧"),
    "deny": ("不行", "不接受", "太少了"),
    "request_human": ("转人工", "我要找人工客服"),
    "complaint_escalation": ("我要投诉你们", "再不解决我就投诉到平台"),
    "thank": ("谢谢", "好的谢谢"),
}


@dataclass(frozen=True)
class HistoryConfig:
    conversations: int = 400
    days: int = 21
    seed: int = DEFAULT_SEED
    quiet_orders_per_conversation: int = 2  # orders nobody asks about: the score's denominator needs them
    buyers_per_conversation: float = 0.4  # fewer buyers than conversations: some come back


@dataclass(frozen=True)
class HistorySummary:
    conversations: int
    events: int
    orders: int
    cases: int
    handoffs: int
    ledger_entries: int
    skipped: bool = False
    surveys: int = 0

    def line(self) -> str:
        if self.skipped:
            return "history already present; nothing written (use --replace to regenerate it)"
        return (f"history seeded: {self.conversations} conversations ({self.events} tracker events), "
                f"{self.orders} orders, {self.cases} cases, {self.handoffs} hand-offs, "
                f"{self.ledger_entries} ledger entries, {self.surveys} satisfaction answers asked")


# --- generation ------------------------------------------------------------------------------------------

@dataclass
class _Ids:
    """Next primary keys of the order-database tables (history rows get explicit ids)."""

    order: int
    item: int
    shipment: int
    case: int
    handoff: int
    ledger: int
    invoice: int
    survey: int = 1
    order_seq: int = 0


@dataclass
class _Batch:
    events: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    shipments: list[dict] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)
    handoffs: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)
    surveys: list[dict] = field(default_factory=list)


class _Generator:
    def __init__(self, config: HistoryConfig, end: datetime, shops: dict[str, int], ids: _Ids):
        self.config, self.end, self.shops, self.ids = config, end, shops, ids
        self.rng = random.Random(config.seed)
        self.survey_rng = random.Random(config.seed + 1)  # its own stream: see SURVEY_ANSWERS
        self.start = end - config.days * D
        buyer_count = max(1, int(config.conversations * config.buyers_per_conversation))
        self.buyers = [(f"{BUYER_PREFIX}b{n:06d}", self._pick(PLATFORM_SHOPS)) for n in range(1, buyer_count + 1)]
        # A few buyers come back much more often than others (Zipf-like): they are the repeat claimers.
        self.buyer_weights = [1.0 / (rank ** 0.8) for rank in range(1, buyer_count + 1)]
        self.day_weights = [self._day_weight(self.start + n * D) for n in range(config.days)]
        self.message_no = 0
        self.sender_starts: dict[str, list[datetime]] = {}

    # -- random helpers
    def _pick(self, weighted):
        return self.rng.choices([w[:-1] if len(w) > 2 else w[0] for w in weighted],
                                weights=[w[-1] for w in weighted])[0]

    @staticmethod
    def _day_weight(day: datetime) -> float:
        """A busier weekend and the after-sales wave following 双十一 (Nov 11)."""
        weight = 1.3 if day.weekday() >= 5 else 1.0
        if day.month == 11 and 12 <= day.day <= 16:
            weight *= 2.2
        return weight

    def _conversation_start(self, sender: Optional[str] = None) -> datetime:
        """When a conversation starts: a busy day and hour, at least 6 h before the end. A sender's conversations
        stay apart (SESSION_GAP): two sessions of one buyer at one moment would be counted as one."""
        taken = self.sender_starts.setdefault(sender, []) if sender else []
        for _attempt in range(20):
            moment = self._draw_moment()
            if all(abs(moment - other) >= SESSION_GAP for other in taken):
                break
        while moment in taken:  # a buyer too busy for the gap: at least never the same second
            moment -= MIN
        taken.append(moment)
        return moment

    def _draw_moment(self) -> datetime:
        day = self.rng.choices(range(self.config.days), weights=self.day_weights)[0]
        hour = self.rng.choices(range(24), weights=[1, 1, 0, 0, 0, 0, 1, 2, 4, 6, 7, 7, 6, 6, 6, 6, 6, 6, 6, 7, 9,
                                                    10, 8, 4])[0]
        moment = self.start + day * D + hour * H + self.rng.randrange(3600) * timedelta(seconds=1)
        latest = self.end - 6 * H
        # past the latest start: fold back into the hour before it (a clamp put several at the very same second)
        return moment if moment <= latest else latest - self.rng.randrange(3600) * timedelta(seconds=1)

    # -- rows
    def buyer_rows(self) -> list[dict]:
        return [{"id": buyer_id, "platform": platform, "credit_tier": "" if platform == "pdd" else "3",
                 "nickname": f"历史买家{buyer_id[-4:]}", "note": "generated history (bot.report.history)",
                 "created_at": self.start - 30 * D} for buyer_id, (platform, _shop) in self.buyers]

    def batches(self) -> Iterator[_Batch]:
        remaining = self.config.conversations
        while remaining > 0:
            batch = _Batch()
            for _ in range(min(BATCH_CONVERSATIONS, remaining)):
                self._conversation(batch)
                for _ in range(self.config.quiet_orders_per_conversation):
                    self._quiet_order(batch)
            remaining -= min(BATCH_CONVERSATIONS, remaining)
            yield batch

    def _order(self, batch: _Batch, buyer: tuple[str, tuple[str, str]], paid_at: datetime, product: ItemSpec,
               *, shipped: bool, late: bool) -> tuple[int, str, int]:
        """An order with one line (and a shipment unless unshipped). Returns (id, number, price fen)."""
        ids = self.ids
        ids.order_seq += 1
        order_id, number = ids.order, f"{ORDER_PREFIX}{ids.order_seq:08d}"
        ids.order += 1
        platform, shop_code = buyer[1]
        ship_by = paid_at + 72 * H
        status = "paid_unshipped"
        if shipped:
            shipped_at = paid_at + (80 * H if late else self.rng.randrange(4, 48) * H)
            signed_at = shipped_at + self.rng.randrange(24, 72) * H
            status = "signed" if signed_at < self.end else "shipped"
            batch.shipments.append({
                "id": ids.shipment, "order_id": order_id, "courier": "中通快递", "waybill": f"ZT{number[-8:]}",
                "status": "signed" if status == "signed" else "in_transit", "shipped_at": shipped_at,
                "expected_delivery": signed_at, "signed_at": signed_at if status == "signed" else None,
                "signed_date_only": False, "signed_by": "buyer" if status == "signed" else None, "events": []})
            ids.shipment += 1
        price = product.paid_fen()
        batch.orders.append({
            "id": order_id, "order_number": number, "shop_id": self.shops[shop_code], "buyer_id": buyer[0],
            "platform": platform, "status": status, "paid_at": paid_at, "ship_by": ship_by,
            "listing_kind": "ordinary", "free_shipping": True, "freight_insurance": False, "service_tags": [],
            "note": "generated history", "created_at": paid_at - 10 * MIN})
        batch.items.append({"id": ids.item, "order_id": order_id, "sku": product.sku, "title": product.title,
                            "category": product.category, "no_return_when_opened": product.no_return_when_opened,
                            "unit_price_fen": price, "paid_fen": price, "qty": 1})
        ids.item += 1
        return order_id, number, price

    def _quiet_order(self, batch: _Batch) -> None:
        buyer = self.rng.choices(self.buyers, weights=self.buyer_weights)[0]
        paid_at = self._conversation_start() - self.rng.randrange(0, 3) * D
        product = self.rng.choices(CATALOG, weights=CATALOG_WEIGHTS)[0]
        self._order(batch, buyer, paid_at, product, shipped=paid_at + 72 * H < self.end or self.rng.random() < 0.5,
                    late=self.rng.random() < 0.04)

    # -- one conversation
    def _conversation(self, batch: _Batch) -> None:
        rng = self.rng
        buyer = rng.choices(self.buyers, weights=self.buyer_weights)[0]
        intent = self._pick(INTENT_WEIGHTS)
        outcome = ("always_human" if intent in ALWAYS_HUMAN
                   else self._pick(INFO_OUTCOMES) if intent in INFO_RULES else self._pick(OFFER_OUTCOMES))
        product = (JAR_SEALED if intent == "leaking"
                   else rng.choice(GLASS) if intent in ("damaged", "minor_defect")
                   else rng.choices(CATALOG, weights=CATALOG_WEIGHTS)[0])
        t = _Clock(self._conversation_start(buyer[0]), rng)
        before_shipping = intent in BEFORE_SHIPPING
        paid_at = t.now - (rng.randrange(2, 5) * D if before_shipping else rng.randrange(3, 9) * D)
        order_id, number, price = self._order(batch, buyer, paid_at, product, shipped=not before_shipping,
                                              late=intent == "late_shipment")
        sender = buyer[0]
        ev = _Events(sender, batch.events, self)

        ev.session_start(t.tick(0))
        if rng.random() < 0.3:
            ev.user("greet", t.tick(5))
            ev.bot_turn("utter_greet", t.tick(1))
        ev.user(intent, t.tick(20))
        ev.action("action_start_case", t.tick(1), slots={"problem": intent})
        ev.form("order_form", t.tick(1), ask="utter_ask_order_number")
        if outcome == "abandon_form":
            return
        ev.user("provide_order_number", t.tick(40), text=number)
        ev.form_done("order_form", t.tick(1), slots={"order_number": number})

        rule = ALWAYS_HUMAN.get(intent) or INFO_RULES.get(intent) or LADDERS[intent][0]
        case = self._case(batch, sender, intent, order_id, rule, t.tick(1))
        ev.action("action_handle_problem", t.now, slots={"case_id": case["id"]})
        if intent == "invoice":
            batch.invoices.append({"id": self.ids.invoice, "order_id": order_id, "title": "个人", "tax_number": "",
                                   "kind": "electronic", "status": "requested", "created_at": t.now})
            self.ids.invoice += 1
        if outcome == "always_human":
            self._hand_off(batch, ev, t, case, "counterfeit", order_id, price)
            return
        if intent in INFO_RULES:
            ev.bot_turn(f"utter_explain_{intent}", t.tick(1))
            if outcome == "informed":
                ev.user("thank", t.tick(30))
                ev.bot_turn("utter_anything_else", t.tick(1))
            else:
                self._hand_off(batch, ev, t, case, outcome, order_id, price)
            return
        self._offer_path(batch, ev, t, case, outcome, intent, order_id, price)

    def _offer_path(self, batch: _Batch, ev: "_Events", t: "_Clock", case: dict, outcome: str, intent: str,
                    order_id: int, price: int) -> None:
        rule, ladder = LADDERS[intent]
        ev.bot_turn("utter_offer", t.tick(1), slots={"offer_pending": True})
        case["status"] = "offered"
        step = 0
        if outcome in ("accept_second", "last_refused") and len(ladder) > 1:
            ev.user("deny", t.tick(45))
            ev.action("action_refuse_offer", t.tick(1))
            ev.bot_turn("utter_offer", t.tick(1), slots={"offer_pending": True})
            step = 1
            case["refusals"] = 1
        case["last_resolution"] = _resolution(intent, rule, step, ladder[step], price)
        if outcome in ("accept_first", "accept_second"):
            ev.user("affirm", t.tick(30))
            ev.action("action_accept_offer", t.tick(1), slots={"offer_pending": False})
            ev.bot_turn("utter_accepted", t.tick(1))
            self._grant(batch, case, rule, step, ladder[step], price, "bot", t.now, order_id)
            case.update(status="resolved", closed_at=t.now, updated_at=t.now)
            self._survey(batch, case, "bot", t.now, order_id)
        elif outcome == "abandon_offer":
            return
        else:
            if outcome == "last_refused":
                ev.user("deny", t.tick(40))
                ev.action("action_refuse_offer", t.tick(1))
            self._hand_off(batch, ev, t, case, outcome, order_id, price, ladder=(rule, step, ladder[step]))

    def _case(self, batch: _Batch, sender: str, intent: str, order_id: int, rule: str, at: datetime) -> dict:
        case = {"id": self.ids.case, "buyer_id": sender, "order_id": order_id, "intent": intent, "status": "open",
                "conversation_id": sender, "refusals": 0, "summary": "",
                "last_resolution": {"intent": intent, "step": 0, "current_offer": {"kind": "information",
                                                                                   "rule": rule, "parts": []}},
                "created_at": at, "updated_at": at, "closed_at": None}
        self.ids.case += 1
        batch.cases.append(case)
        return case

    def _hand_off(self, batch: _Batch, ev: "_Events", t: "_Clock", case: dict, outcome: str, order_id: int,
                  price: int, ladder: tuple | None = None) -> None:
        reason = {"request_human": "request_human", "escalation": "complaint_escalation",
                  "last_refused": "last_offer_refused"}.get(outcome, outcome)
        if outcome in ("request_human", "escalation"):
            ev.user(reason, t.tick(30))
        ev.action("action_hand_off", t.tick(1), slots={"handoff": True, "offer_pending": False})
        ev.bot_turn("utter_handoff", t.tick(1))
        handoff = {"id": self.ids.handoff, "conversation_id": case["conversation_id"], "case_id": case["id"],
                   "reason": reason, "summary": f"原因：{reason}", "status": "waiting", "agent_id": None,
                   "created_at": t.now, "taken_at": None, "closed_at": None}
        self.ids.handoff += 1
        batch.handoffs.append(handoff)
        case.update(status="handed_off", updated_at=t.now)
        # Every generated hand-off is over by `end`: the agents' queue shows only real conversations.
        taken = min(t.now + self.rng.randrange(2, 40) * MIN, self.end)
        done = min(taken + self.rng.randrange(10, 300) * MIN, self.end)
        agent = self.rng.choice(AGENTS)
        handoff.update(status="closed", agent_id=agent.split(":")[1], taken_at=taken, closed_at=done)
        if ladder is not None and self.rng.random() < 0.7:  # the agent settles it on the offer on the table
            rule, step, parts = ladder
            self._grant(batch, case, rule, step, parts, price, agent, done, order_id)
            case.update(status="resolved", closed_at=done, updated_at=done)
            self._survey(batch, case, agent, done, order_id)
        else:
            case.update(status="closed", closed_at=done, updated_at=done)

    def _survey(self, batch: _Batch, case: dict, resolved_by: str, at: datetime, order_id: int) -> None:
        """The satisfaction question asked when the case ended, and the buyer's answer a few minutes later
        (or none)."""
        rng, resolver = self.survey_rng, "bot" if resolved_by == "bot" else "agent"
        answers = SURVEY_ANSWERS[resolver]
        rating = rng.choices([a for a, _ in answers], weights=[w for _, w in answers])[0]
        answered = min(at + rng.randrange(1, 15) * MIN, self.end) if rating else None
        comment = (rng.choice(UNSATISFIED_COMMENTS) or None) if rating == "unsatisfied" else None
        number = next((o["order_number"] for o in reversed(batch.orders) if o["id"] == order_id), None)
        kind = (case.get("last_resolution") or {}).get("current_offer", {}).get("kind", "offer")
        batch.surveys.append({
            "id": self.ids.survey, "case_id": case["id"], "conversation_id": case["conversation_id"],
            "buyer_id": case["buyer_id"], "order_number": number, "intent": case["intent"],
            "resolution_kind": _RESOLUTION_KINDS.get(case["intent"], kind), "resolver": resolver,
            "resolved_by": resolved_by, "asked_at": at, "rating": rating, "comment": comment,
            "answered_at": answered})
        self.ids.survey += 1

    def _grant(self, batch: _Batch, case: dict, rule: str, step: int, parts, price: int, approved_by: str,
               at: datetime, order_id: int) -> None:
        for kind, amount in parts:
            state = INITIAL_STATE[kind]
            # Older promises were mostly kept by now (review posted, goods returned, parcel sent).
            if state == "promised" and at < self.end - 3 * D and self.rng.random() < 0.75:
                state = "paid"
            batch.ledger.append({
                "id": self.ids.ledger, "idempotency_key": f"hist:case:{case['id']}:{rule}:step{step}:{kind}",
                "case_id": case["id"], "order_id": order_id, "buyer_id": case["buyer_id"], "kind": kind,
                "amount_fen": _amount(amount, price), "rule_id": rule, "seed_rule": rule.split("-")[0],
                "approved_by": approved_by, "state": state, "note": "generated history",
                "created_at": at, "updated_at": at})
            self.ids.ledger += 1


# What the history's accepted offers were, by intent (the live bot stores the accepted option's kind).
_RESOLUTION_KINDS = {"damaged": "compensation_with_rebate", "leaking": "compensation_with_rebate",
                     "quality_issue": "compensation_ladder", "minor_defect": "small_compensation",
                     "missing_item": "reship_missing", "wrong_item": "exchange", "not_received": "compensation",
                     "late_shipment": "late_shipping_compensation", "not_as_described": "return_refund",
                     "no_reason_return": "seven_day_return", "cancel_order": "refund_before_shipping",
                     "price_protection": "price_difference_refund", "request_compensation": "voucher"}


def _amount(amount: int | str, price: int) -> int:
    if amount == "price":
        return price
    if amount == "half":
        return percent_of(price, 50)
    if isinstance(amount, str) and amount.endswith("pct"):
        return min(percent_of(price, int(amount[:-3])), 50000)
    return int(amount)


def _resolution(intent: str, rule: str, step: int, parts, price: int) -> dict:
    """The part of a policy resolution the report reads (the current offer and its rule)."""
    offer_parts = [{"kind": kind, "amount_fen": _amount(amount, price), "state": INITIAL_STATE[kind]}
                   for kind, amount in parts]
    return {"intent": intent, "step": step, "current_offer": {"kind": "offer", "rule": rule, "parts": offer_parts}}


class _Clock:
    """The conversation's time, moving forward by roughly the given seconds (a buyer types, the bot answers)."""

    def __init__(self, start: datetime, rng: random.Random):
        self.now, self.rng = start, rng

    def tick(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds * (0.5 + self.rng.random()))
        return self.now


class _Events:
    """Appends one conversation's events as Rasa's SQLTrackerStore stores them (see tracker.EVENTS)."""

    def __init__(self, sender: str, sink: list[dict], generator: _Generator):
        self.sender, self.sink, self.generator = sender, sink, generator

    def _add(self, data: dict, intent: str | None = None, name: str | None = None) -> None:
        self.sink.append({"sender_id": self.sender, "type_name": data["event"], "timestamp": data["timestamp"],
                          "intent_name": intent, "action_name": name,
                          "data": json.dumps(data, ensure_ascii=False)})

    def _action(self, name: str, at: datetime, policy: str | None = "RulePolicy") -> None:
        self._add({"event": "action", "timestamp": _ts(at), "name": name, "policy": policy,
                   "confidence": 1.0 if policy else None, "action_text": None, "hide_rule_turn": False}, name=name)

    def _slot(self, name: str, value, at: datetime) -> None:
        self._add({"event": "slot", "timestamp": _ts(at), "name": name, "value": value}, name=name)

    def session_start(self, at: datetime) -> None:
        self._action("action_session_start", at, policy=None)
        self._add({"event": "session_started", "timestamp": _ts(at)})
        self._action("action_listen", at, policy=None)

    def user(self, intent: str, at: datetime, text: str | None = None) -> None:
        generator = self.generator
        generator.message_no += 1
        text = text or generator.rng.choice(USER_TEXTS.get(intent, ("…",)))
        message_id = f"{generator.config.seed:x}{generator.message_no:010x}"
        confidence = round(0.6 + 0.4 * generator.rng.random(), 4)
        parse = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text,
                 "message_id": message_id, "metadata": {},
                 "intent_ranking": [{"name": intent, "confidence": confidence}]}
        self._add({"event": "user", "timestamp": _ts(at), "text": text, "parse_data": parse, "input_channel": "rest",
                   "message_id": message_id, "metadata": {}}, intent=intent)
        self._add({"event": "user_featurization", "timestamp": _ts(at), "use_text_for_featurization": False})

    def action(self, name: str, at: datetime, slots: dict | None = None) -> None:
        self._action(name, at)
        for slot, value in (slots or {}).items():
            self._slot(slot, value, at)

    def bot_turn(self, response: str, at: datetime, slots: dict | None = None) -> None:
        """The bot says something (one utterance) and listens."""
        self._action(response, at)
        for slot, value in (slots or {}).items():
            self._slot(slot, value, at)
        self._add({"event": "bot", "timestamp": _ts(at), "metadata": {"utter_action": response}, "text": "…",
                   "data": {"elements": None, "quick_replies": None, "buttons": None, "attachment": None,
                            "image": None, "custom": None}})
        self._action("action_listen", at)

    def form(self, form: str, at: datetime, ask: str) -> None:
        self._action(form, at)
        self._add({"event": "active_loop", "timestamp": _ts(at), "name": form}, name=form)
        self._slot("requested_slot", form.replace("_form", "") if form != "order_form" else "order_number", at)
        self.bot_turn(ask, at)

    def form_done(self, form: str, at: datetime, slots: dict) -> None:
        self._action(form, at)
        for slot, value in slots.items():
            self._slot(slot, value, at)
        self._slot("requested_slot", None, at)
        self._add({"event": "active_loop", "timestamp": _ts(at), "name": None})


def _ts(at: datetime) -> float:
    return round(at.timestamp(), 3)


# --- writing ---------------------------------------------------------------------------------------------

def history_present(app: Connection) -> bool:
    return app.execute(select(Buyer.id).where(Buyer.id.like(f"{BUYER_PREFIX}%")).limit(1)).first() is not None


def remove_history(app: Connection, events: Connection | None) -> None:
    """Delete every generated row (children first); live data is untouched."""
    hist_orders = select(Order.id).where(Order.order_number.like(f"{ORDER_PREFIX}%"))
    hist_cases = select(AfterSalesCase.id).where(AfterSalesCase.buyer_id.like(f"{BUYER_PREFIX}%"))
    app.execute(delete(LedgerEntry).where(LedgerEntry.case_id.in_(hist_cases)))
    app.execute(delete(SatisfactionSurvey).where(SatisfactionSurvey.case_id.in_(hist_cases)))
    app.execute(delete(Handoff).where(Handoff.conversation_id.like(f"{BUYER_PREFIX}%")))
    app.execute(delete(AfterSalesCase).where(AfterSalesCase.id.in_(hist_cases)))
    app.execute(delete(InvoiceRequest).where(InvoiceRequest.order_id.in_(hist_orders)))
    app.execute(delete(Shipment).where(Shipment.order_id.in_(hist_orders)))
    app.execute(delete(OrderItem).where(OrderItem.order_id.in_(hist_orders)))
    app.execute(delete(Order).where(Order.order_number.like(f"{ORDER_PREFIX}%")))
    app.execute(delete(Buyer).where(Buyer.id.like(f"{BUYER_PREFIX}%")))
    if events is not None:
        events.execute(delete(EVENTS).where(EVENTS.c.sender_id.like(f"{BUYER_PREFIX}%")))


def seed_history(app_engine: Engine, tracker_engine: Engine, config: HistoryConfig, *, end: datetime,
                 replace: bool = False) -> HistorySummary:
    """Write the history (nothing if it is already there, unless `replace`). The order database must hold
    the demo shops (`python -m bot db seed`); the tracker store gets Rasa's `events` table if it has none."""
    tracker_metadata.create_all(tracker_engine, checkfirst=True)
    with app_engine.begin() as app, tracker_engine.begin() as events:
        if history_present(app):
            if not replace:
                return HistorySummary(0, 0, 0, 0, 0, 0, skipped=True)
            remove_history(app, events)
        shops = dict(app.execute(select(Shop.code, Shop.id)).all())
        missing = {code for _p, code, _w in PLATFORM_SHOPS} - set(shops)
        if missing:
            raise RuntimeError(f"demo shops missing ({', '.join(sorted(missing))}): run `python -m bot db seed` first")
        generator = _Generator(config, end, shops, _next_ids(app))
        app.execute(insert(Buyer.__table__), generator.buyer_rows())
        totals = dict.fromkeys(("events", "orders", "cases", "handoffs", "ledger", "surveys"), 0)
        for batch in generator.batches():
            _write_batch(app, events, batch)
            for name in totals:
                totals[name] += len(getattr(batch, name))
        _advance_sequences(app)
    ensure_report_indexes(tracker_engine)  # a store Rasa created has only its own index on sender_id
    return HistorySummary(config.conversations, totals["events"], totals["orders"], totals["cases"],
                          totals["handoffs"], totals["ledger"], surveys=totals["surveys"])


def _next_ids(app: Connection) -> _Ids:
    def next_id(model) -> int:
        return int(app.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1

    return _Ids(order=next_id(Order), item=next_id(OrderItem), shipment=next_id(Shipment),
                case=next_id(AfterSalesCase), handoff=next_id(Handoff), ledger=next_id(LedgerEntry),
                invoice=next_id(InvoiceRequest), survey=next_id(SatisfactionSurvey))


def _advance_sequences(app: Connection) -> None:
    """The history rows carry their own ids; on PostgreSQL the id sequences do not see them, and the next
    ordinary insert (a buyer's first case on the scaled stack) failed on a duplicate key. SQLite needs nothing."""
    if app.dialect.name != "postgresql":
        return
    for model in (Order, OrderItem, Shipment, AfterSalesCase, Handoff, LedgerEntry, InvoiceRequest,
                  SatisfactionSurvey):
        table = model.__table__.name
        app.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))


def _write_batch(app: Connection, events: Connection, batch: _Batch) -> None:
    for model, rows in ((Order, batch.orders), (OrderItem, batch.items), (Shipment, batch.shipments),
                        (AfterSalesCase, batch.cases), (Handoff, batch.handoffs), (LedgerEntry, batch.ledger),
                        (InvoiceRequest, batch.invoices), (SatisfactionSurvey, batch.surveys)):
        if rows:
            app.execute(insert(model.__table__), rows)
    if batch.events:
        events.execute(insert(EVENTS), batch.events)
