"""Each conversation's own database: its buyer, orders and earlier claims, nothing else.

A migrated template file is made once per run and copied per conversation (a copy is ~1 ms, a migration
~1 s). The buyer's id in that database is the conversation's unique Rasa sender id (the actions take the
buyer from the sender id, as the web widget does), so two conversations of the same suite buyer never
share a tracker either. After the run, `outcome()` reads what the conversation wrote: ledger rows,
hand-offs, invoice requests and the case status, leaving out the rows the fixtures put there.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

from sqlalchemy import select, text, update

from bot.clock import CN_TZ, now_cn
from bot.db import catalog, migrate
from bot.db.ledger import grant
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
from bot.db.seed import seed_demo_shop
from bot.db.session import session_scope
from bot.convtest.schema import Conversation, OrderFixture, PriorClaimFixture, ShipmentFixture, resolve_time
from bot.money import fen_to_yuan, yuan_to_fen

SHIP_WITHIN = {"ordinary": timedelta(hours=72), "juhuasuan": timedelta(days=7)}
COURIER_PREFIX = {"中通快递": "ZT", "圆通速递": "YT", "韵达快递": "YD", "申通快递": "ST", "顺丰速运": "SF",
                  "京东物流": "JD", "德邦快递": "DB", "日日顺物流": "RRS"}


@dataclass(frozen=True)
class Prepared:
    """A conversation's database and identity, ready to talk."""
    db_url: str
    sender_id: str
    now: Optional[datetime]  # the suite's clock (None: the real clock)
    baseline: dict = field(default_factory=dict)  # row ids the fixtures wrote, per table


@dataclass(frozen=True)
class Outcome:
    ledger: list[dict]  # {kind, amount (yuan), state, rule}
    handoffs: list[dict]  # {reason, summary}
    invoice_requests: list[dict]
    case_status: Optional[str]
    satisfaction: list[dict] = field(default_factory=list)  # {rating, comment, intent, resolution_kind, resolver}


class FixtureBuilder:
    """Makes per-conversation databases under `workdir` (a temp folder the caller owns)."""

    def __init__(self, workdir: Path, run_tag: str):
        self.workdir = Path(workdir)
        self.run_tag = run_tag
        self._template: Optional[Path] = None

    def template(self) -> Path:
        if self._template is None:
            path = self.workdir / "template.db"
            migrate.upgrade(f"sqlite:///{path}")
            self._template = path
        return self._template

    def prepare(self, conversation: Conversation, number: int) -> Prepared:
        sender = f"{conversation.buyer.id}~{self.run_tag}{number}"
        path = self.workdir / f"conv-{number}.db"
        shutil.copyfile(self.template(), path)
        db_url = f"sqlite:///{path}"
        now = resolve_time(conversation.now, now_cn()) if conversation.now else None
        clock = (now or now_cn()).astimezone(CN_TZ)
        with session_scope(db_url) as session:
            if conversation.shop == "demo":
                seed_demo_shop(session, clock)
                session.flush()
                _rename_buyer(session, conversation.buyer.id, sender)
            build_own_fixtures(session, conversation, sender, clock)
        return Prepared(db_url, sender, now, baseline_ids(db_url))


def build_own_fixtures(session, conversation: Conversation, sender: str, now: datetime) -> None:
    buyer = session.get(Buyer, sender)
    if buyer is None:
        spec = conversation.buyer
        session.add(Buyer(id=sender, platform=spec.platform, credit_tier=spec.tier, nickname=spec.nickname,
                          note=f"conversation test buyer {spec.id}"))
    shops: dict[str, Shop] = {}
    orders: dict[str, Order] = {}
    for fixture in conversation.orders:
        owner = sender if fixture.buyer is None else _other_buyer(session, fixture.buyer, conversation.buyer.platform)
        platform = conversation.buyer.platform
        shop = shops.get(platform) or _shop(session, platform)
        shops[platform] = shop
        orders[fixture.number] = _order(session, fixture, owner, shop, now)
    session.flush()
    for claim in conversation.prior_claims:
        order = orders.get(claim.order) or session.execute(
            select(Order).where(Order.order_number == claim.order)).scalar_one()
        _prior_claim(session, claim, order, sender, now)
    session.flush()
    platform = conversation.buyer.platform
    for listing in conversation.catalog:
        shop = shops.get(platform) or _shop(session, platform)
        shops[platform] = shop
        session.flush()
        catalog.upsert_listing(session, shop, listing.sku, title=listing.title or listing.sku,
                               service_tags=listing.service_tags)
        for price in listing.prices:
            catalog.set_price(session, shop.code, listing.sku, yuan_to_fen(price.price), changed_by="seed",
                              reason="conversation test fixture", effective_from=resolve_time(price.since, now))
    session.flush()


def _rename_buyer(session, old_id: str, new_id: str) -> None:
    """The demo buyer becomes this conversation's sender id (SQLite checks the keys at commit)."""
    session.execute(text("PRAGMA defer_foreign_keys = ON"))
    session.execute(update(Buyer).where(Buyer.id == old_id).values(id=new_id))
    for model in (Order, AfterSalesCase, LedgerEntry):
        session.execute(update(model).where(model.buyer_id == old_id).values(buyer_id=new_id))
    session.expire_all()


def _other_buyer(session, buyer_id: str, platform: str) -> str:
    if session.get(Buyer, buyer_id) is None:
        session.add(Buyer(id=buyer_id, platform=platform, credit_tier="", note="another buyer"))
        session.flush()
    return buyer_id


def _shop(session, platform: str) -> Shop:
    code = f"convtest_{platform}"
    shop = session.execute(select(Shop).where(Shop.code == code)).scalar_one_or_none()
    if shop is None:
        shop = Shop(code=code, name=f"测试店 ({platform})", platform=platform)
        session.add(shop)
    return shop


def _order(session, fixture: OrderFixture, buyer_id: str, shop: Shop, now: datetime) -> Order:
    paid_at = resolve_time(fixture.paid_at, now)
    if paid_at is None and fixture.status != "unpaid":
        paid_at = now - timedelta(days=3)
    presale = resolve_time(fixture.presale_ship_date, now)
    order = Order(order_number=fixture.number, shop=shop, buyer_id=buyer_id, platform=shop.platform,
                  status=fixture.status, paid_at=paid_at,
                  ship_by=resolve_time(fixture.ship_by, now) or _default_ship_by(fixture.listing_kind, paid_at, presale),
                  listing_kind=fixture.listing_kind, presale_ship_date=presale.date() if presale else None,
                  free_shipping=fixture.free_shipping, freight_insurance=fixture.freight_insurance,
                  service_tags=list(fixture.service_tags), note="conversation test fixture")
    if paid_at is not None:
        order.created_at = paid_at - timedelta(minutes=10)
    for item in fixture.items:
        unit = yuan_to_fen(item.price)
        order.items.append(OrderItem(sku=item.sku, title=item.title or item.sku, category=item.category,
                                     qty=item.qty, unit_price_fen=unit,
                                     paid_fen=yuan_to_fen(item.paid) if item.paid else unit * item.qty,
                                     no_return_when_opened=item.no_return_when_opened))
    parcel = fixture.parcel()
    if parcel is not None:
        order.shipments.append(_shipment(parcel, fixture, now))
    completed = resolve_time(fixture.completed_at, now)
    if completed is None and fixture.status == "completed":
        completed = now - timedelta(days=1)
    order.completed_at = completed
    session.add(order)
    return order


def _default_ship_by(listing_kind: str, paid_at: Optional[datetime], presale: Optional[datetime]) -> Optional[datetime]:
    if listing_kind == "presale":
        return presale.replace(hour=23, minute=59, second=59) if presale else None
    return paid_at + SHIP_WITHIN[listing_kind] if paid_at else None


def _shipment(parcel: ShipmentFixture, fixture: OrderFixture, now: datetime) -> Shipment:
    signed_at = resolve_time(parcel.signed_at, now)
    if signed_at is None and fixture.status in ("signed", "completed"):
        signed_at = now - timedelta(days=1)
    if signed_at is not None and parcel.signed_date_only:
        signed_at = datetime.combine(signed_at.astimezone(CN_TZ).date(), datetime.min.time(), tzinfo=CN_TZ)
    status = parcel.status or ("signed" if signed_at else "in_transit")
    shipped_at = resolve_time(parcel.shipped_at, now) or (signed_at or now) - timedelta(days=2)
    expected = resolve_time(parcel.expected_delivery, now) or signed_at or now + timedelta(days=1)
    return Shipment(courier=parcel.courier, status=status,
                    waybill=parcel.waybill or f"{COURIER_PREFIX.get(parcel.courier, 'KD')}{fixture.number}",
                    shipped_at=shipped_at, expected_delivery=expected, signed_at=signed_at,
                    signed_date_only=parcel.signed_date_only,
                    signed_by=(parcel.signed_by or "buyer") if signed_at else None,
                    events=[{"at": shipped_at.isoformat(), "text": f"【{parcel.courier}】已揽收"}])


def _prior_claim(session, claim: PriorClaimFixture, order: Order, buyer_id: str, now: datetime) -> None:
    when = now - timedelta(days=claim.days_ago)
    case = AfterSalesCase(conversation_id=f"fixture:{buyer_id}:{claim.order}", buyer_id=order.buyer_id,
                          intent=claim.intent, order_id=order.id, status="resolved", refusals=0,
                          created_at=when, closed_at=when + timedelta(hours=1), summary="earlier claim (fixture)")
    session.add(case)
    session.flush()
    for n, part in enumerate(claim.grants):
        entry, _ = grant(session, f"fixture:{case.id}:{n}:{part.kind}", kind=part.kind,
                         amount_fen=yuan_to_fen(part.amount), rule_id=part.rule, seed_rule=part.rule.split(".")[0],
                         case_id=case.id, order_id=order.id, buyer_id=order.buyer_id, state=part.state,
                         note="conversation test fixture")
        entry.created_at = entry.updated_at = when


# ---------------------------------------------------------------------------------------------- reading back

BASELINE_TABLES = {"ledger": LedgerEntry, "handoffs": Handoff, "invoice_requests": InvoiceRequest,
                   "cases": AfterSalesCase}


def baseline_ids(db_url: str) -> dict:
    with session_scope(db_url) as session:
        return {name: set(session.execute(select(model.id)).scalars()) for name, model in BASELINE_TABLES.items()}


def outcome(prepared: Prepared) -> Outcome:
    """What the conversation wrote (rows that were not there before the first message)."""
    seen = prepared.baseline
    with session_scope(prepared.db_url) as session:
        ledger = [{"kind": e.kind, "amount": fen_to_yuan(e.amount_fen), "state": e.state, "rule": e.rule_id}
                  for e in session.execute(select(LedgerEntry).order_by(LedgerEntry.id)).scalars()
                  if e.id not in seen.get("ledger", ())]
        handoffs = [{"reason": h.reason, "summary": h.summary}
                    for h in session.execute(select(Handoff).order_by(Handoff.id)).scalars()
                    if h.id not in seen.get("handoffs", ())]
        invoices = [{"title": i.title, "tax_number": i.tax_number, "kind": i.kind}
                    for i in session.execute(select(InvoiceRequest).order_by(InvoiceRequest.id)).scalars()
                    if i.id not in seen.get("invoice_requests", ())]
        cases = [c for c in session.execute(select(AfterSalesCase).order_by(AfterSalesCase.id)).scalars()
                 if c.id not in seen.get("cases", ())]
        surveys = [{"rating": v.rating, "comment": v.comment, "intent": v.intent,
                    "resolution_kind": v.resolution_kind, "resolver": v.resolver}
                   for v in session.execute(select(SatisfactionSurvey).order_by(SatisfactionSurvey.id)).scalars()]
        return Outcome(ledger, handoffs, invoices, cases[-1].status if cases else None, surveys)


