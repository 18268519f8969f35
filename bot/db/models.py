"""The order database: shops, buyers, orders and what happened after the sale.

Conventions (they matter more than they look):
- money is integer fen (`*_fen` columns), never a float or a decimal column;
- every time is an aware datetime (`AwareDateTime`, stored as UTC, read back in China time);
- closed vocabularies (status, platform, category ...) are plain text guarded by a CHECK constraint,
  so adding a value is a one-line migration on both SQLite and PostgreSQL (no native ENUM types).
The Alembic migrations in `migrations/versions/` must describe exactly these tables; a test compares them.
"""
from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

from bot.clock import now_cn
from bot.db.types import AwareDateTime

# Deterministic constraint names: Alembic can then name, compare and drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

PLATFORMS = ("tmall", "taobao", "jd", "pdd")
ORDER_STATUSES = ("unpaid", "paid_unshipped", "shipped", "signed", "completed", "closed")
LISTING_KINDS = ("ordinary", "juhuasuan", "presale")
CATEGORIES = (
    "ordinary", "glass", "fresh_food", "large_appliance", "cosmetics", "food",
    "underwear", "medicine", "furniture", "electronics", "clothing",
)
SHIPMENT_STATUSES = ("awaiting_pickup", "in_transit", "out_for_delivery", "signed", "returned", "lost")
SIGNERS = ("buyer", "third_party")
CASE_STATUSES = ("open", "offered", "resolved", "handed_off", "closed")
INVOICE_KINDS = ("electronic", "paper")
INVOICE_STATUSES = ("requested", "issued", "refused")
HANDOFF_STATUSES = ("waiting", "taken", "closed")
LEDGER_KINDS = ("compensation", "review_rebate", "refund", "reship", "voucher", "points", "shipping_subsidy")
LEDGER_STATES = ("promised", "paid", "cancelled")
SATISFACTION_RATINGS = ("satisfied", "neutral", "unsatisfied")  # 满意 / 一般 / 不满意
RESOLVERS = ("bot", "agent")


def _one_of(column: str, values: tuple[str, ...], name: str | None = None) -> CheckConstraint:
    """CHECK column IN (...), named after the column (ck_<table>_<column>)."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or column)


def _created_at() -> Column:
    return Column(AwareDateTime(), nullable=False, default=now_cn)


class Shop(Base):
    __tablename__ = "shops"
    __table_args__ = (_one_of("platform", PLATFORMS),)

    id = Column(Integer, primary_key=True)
    code = Column(String(64), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    platform = Column(String(16), nullable=False)
    created_at = _created_at()

    orders = relationship("Order", back_populates="shop")


class Buyer(Base):
    """A platform account. `credit_tier` is the platform's own label: "1".."5" stars on Tmall/Taobao,
    "S1", "S2" ... on JD, "" on Pinduoduo (no tiers)."""

    __tablename__ = "buyers"
    __table_args__ = (_one_of("platform", PLATFORMS),)

    id = Column(String(64), primary_key=True)  # the account id, e.g. "b_demo_1"
    platform = Column(String(16), nullable=False)
    credit_tier = Column(String(8), nullable=False, default="")
    nickname = Column(String(100), nullable=False, default="")
    note = Column(Text, nullable=False, default="")  # one line on what this (demo) buyer is for
    created_at = _created_at()

    orders = relationship("Order", back_populates="buyer", order_by="Order.paid_at")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        _one_of("platform", PLATFORMS),
        _one_of("status", ORDER_STATUSES),
        _one_of("listing_kind", LISTING_KINDS),
        CheckConstraint("order_number <> ''", name="order_number_not_empty"),
    )

    id = Column(Integer, primary_key=True)
    order_number = Column(String(32), nullable=False, unique=True)  # digits, as the platform shows it
    shop_id = Column(Integer, ForeignKey("shops.id"), nullable=False)
    buyer_id = Column(String(64), ForeignKey("buyers.id"), nullable=False, index=True)
    platform = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False)
    paid_at = Column(AwareDateTime())
    ship_by = Column(AwareDateTime())  # the promised latest shipping time (72 h, 7 days, presale date ...)
    listing_kind = Column(String(16), nullable=False, default="ordinary")
    presale_ship_date = Column(Date)  # the shipping date stated in a presale listing
    free_shipping = Column(Boolean, nullable=False, default=True)
    freight_insurance = Column(Boolean, nullable=False, default=False)
    service_tags = Column(JSON, nullable=False, default=list)  # e.g. ["退货包运费", "极速退款", "送货上门"]
    completed_at = Column(AwareDateTime())  # 交易成功: starts the 15-day after-sales window
    closed_at = Column(AwareDateTime())
    note = Column(Text, nullable=False, default="")  # what this (demo) order exercises
    created_at = _created_at()

    shop = relationship("Shop", back_populates="orders")
    buyer = relationship("Buyer", back_populates="orders")
    items = relationship("OrderItem", back_populates="order", order_by="OrderItem.id",
                         cascade="all, delete-orphan")
    shipments = relationship("Shipment", back_populates="order", order_by="Shipment.id",
                             cascade="all, delete-orphan")

    @property
    def paid_total_fen(self) -> int:
        return sum(item.paid_fen for item in self.items)

    @property
    def latest_shipment(self) -> "Shipment | None":
        return self.shipments[-1] if self.shipments else None


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (
        _one_of("category", CATEGORIES),
        CheckConstraint("unit_price_fen >= 0", name="unit_price_nonnegative"),
        CheckConstraint("paid_fen >= 0", name="paid_nonnegative"),
        CheckConstraint("qty >= 1", name="qty_positive"),
    )

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    sku = Column(String(64), nullable=False)
    title = Column(String(200), nullable=False)
    category = Column(String(32), nullable=False, default="ordinary")
    # Opened food, underwear, medicine ...: no 7-day no-reason return once opened / by nature.
    no_return_when_opened = Column(Boolean, nullable=False, default=False)
    unit_price_fen = Column(Integer, nullable=False)
    paid_fen = Column(Integer, nullable=False)  # what the buyer paid for this line (all units, after discounts)
    qty = Column(Integer, nullable=False, default=1)

    order = relationship("Order", back_populates="items")


class Shipment(Base):
    """A parcel. `events` is the courier's tracking trail: [{"at": ISO time, "text": "..."}], oldest first.
    A date-only signing record keeps midnight (China time) of that date in `signed_at` and sets
    `signed_date_only`, because the 7-day window then starts at 00:00 of the next day."""

    __tablename__ = "shipments"
    __table_args__ = (
        _one_of("status", SHIPMENT_STATUSES),
        CheckConstraint("signed_by IS NULL OR signed_by IN ('buyer', 'third_party')", name="signed_by"),
    )

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    courier = Column(String(64), nullable=False)
    waybill = Column(String(64), nullable=False)
    status = Column(String(20), nullable=False, default="in_transit")
    shipped_at = Column(AwareDateTime())
    expected_delivery = Column(AwareDateTime())
    signed_at = Column(AwareDateTime())
    signed_date_only = Column(Boolean, nullable=False, default=False)
    signed_by = Column(String(16))
    events = Column(JSON, nullable=False, default=list)

    order = relationship("Order", back_populates="shipments")


class AfterSalesCase(Base):
    __tablename__ = "aftersales_cases"
    __table_args__ = (
        _one_of("status", CASE_STATUSES),
        CheckConstraint("refusals >= 0", name="refusals_nonnegative"),
        Index("ix_aftersales_cases_created_at", "created_at"),  # the service report filters cases by period
    )

    id = Column(Integer, primary_key=True)
    buyer_id = Column(String(64), ForeignKey("buyers.id"), nullable=False, index=True)
    order_id = Column(Integer, ForeignKey("orders.id"), index=True)
    intent = Column(String(40), nullable=False)
    status = Column(String(16), nullable=False, default="open")
    conversation_id = Column(String(128), index=True)
    refusals = Column(Integer, nullable=False, default=0)
    last_resolution = Column(JSON)  # the policy engine's last resolution, as its JSON
    summary = Column(Text, nullable=False, default="")
    created_at = _created_at()
    updated_at = Column(AwareDateTime(), nullable=False, default=now_cn, onupdate=now_cn)
    closed_at = Column(AwareDateTime())

    buyer = relationship("Buyer")
    order = relationship("Order")
    evidence = relationship("Evidence", back_populates="case", order_by="Evidence.id",
                            cascade="all, delete-orphan")


class Evidence(Base):
    __tablename__ = "evidence"

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("aftersales_cases.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(32), nullable=False)  # photo, video, waybill, delivery_slip, chat_admission ...
    reference = Column(String(500), nullable=False, default="")  # file name, URL or waybill number
    created_at = _created_at()

    case = relationship("AfterSalesCase", back_populates="evidence")


class InvoiceRequest(Base):
    __tablename__ = "invoice_requests"
    __table_args__ = (_one_of("kind", INVOICE_KINDS), _one_of("status", INVOICE_STATUSES))

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    title = Column(String(200), nullable=False)  # 发票抬头
    tax_number = Column(String(40), nullable=False, default="")  # 税号 (empty for a personal invoice)
    kind = Column(String(16), nullable=False, default="electronic")
    status = Column(String(16), nullable=False, default="requested")
    created_at = _created_at()

    order = relationship("Order")


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        _one_of("status", HANDOFF_STATUSES),
        Index("ix_handoffs_created_at", "created_at"),  # the service report filters hand-offs by period
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    case_id = Column(Integer, ForeignKey("aftersales_cases.id"))
    reason = Column(String(64), nullable=False)  # request_human, counterfeit, complaint_escalation ...
    summary = Column(Text, nullable=False, default="")
    status = Column(String(16), nullable=False, default="waiting")
    agent_id = Column(String(64))
    created_at = _created_at()
    taken_at = Column(AwareDateTime())
    closed_at = Column(AwareDateTime())
    # the platform's deadline for acting on it (bot.service.deadlines, from the rule pack), and which one
    deadline_at = Column(AwareDateTime())
    deadline_kind = Column(String(24))
    deadline_rule = Column(String(80))

    case = relationship("AfterSalesCase")


class LedgerEntry(Base):
    """One thing granted to a buyer. The idempotency key makes "grant it" safe to repeat: a retried action,
    a double click or two processes at once still leave one row (see bot.db.ledger.grant)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        CheckConstraint("amount_fen >= 0", name="amount_nonnegative"),
        _one_of("kind", LEDGER_KINDS),
        _one_of("state", LEDGER_STATES),
        Index("ix_ledger_entries_created_at", "created_at"),  # the service report sums the ledger by period
    )

    id = Column(Integer, primary_key=True)
    idempotency_key = Column(String(200), nullable=False)
    case_id = Column(Integer, ForeignKey("aftersales_cases.id"), index=True)
    order_id = Column(Integer, ForeignKey("orders.id"), index=True)
    buyer_id = Column(String(64), ForeignKey("buyers.id"), index=True)
    kind = Column(String(24), nullable=False)
    amount_fen = Column(Integer, nullable=False)
    rule_id = Column(String(64), nullable=False)  # the rule-pack rule that allowed it, e.g. "A1.first_offer"
    seed_rule = Column(String(64), nullable=False, default="")  # the seed rule it implements, e.g. "A1"
    approved_by = Column(String(80), nullable=False, default="bot")  # "bot" or "agent:<id>"
    state = Column(String(16), nullable=False, default="promised")
    note = Column(Text, nullable=False, default="")
    created_at = _created_at()
    updated_at = Column(AwareDateTime(), nullable=False, default=now_cn, onupdate=now_cn)

    case = relationship("AfterSalesCase")
    order = relationship("Order")


class CatalogListing(Base):
    """The shop's listing of one SKU as it is on sale now: its title, current price and service tags
    (价保, 价保30天 …). The price a rule needs at a given moment comes from `CatalogPrice` (the history),
    never from the buyer's words; `price_fen` is the newest history row, kept here for listings."""

    __tablename__ = "catalog_listings"
    __table_args__ = (
        UniqueConstraint("shop_id", "sku", name="uq_catalog_listings_shop_sku"),
        CheckConstraint("price_fen >= 0", name="price_nonnegative"),
    )

    id = Column(Integer, primary_key=True)
    shop_id = Column(Integer, ForeignKey("shops.id"), nullable=False, index=True)
    sku = Column(String(64), nullable=False)
    title = Column(String(200), nullable=False, default="")
    price_fen = Column(Integer, nullable=False)
    service_tags = Column(JSON, nullable=False, default=list)
    created_at = _created_at()
    updated_at = Column(AwareDateTime(), nullable=False, default=now_cn, onupdate=now_cn)

    shop = relationship("Shop")
    prices = relationship("CatalogPrice", back_populates="listing", order_by="CatalogPrice.effective_from",
                          cascade="all, delete-orphan")


class CatalogPrice(Base):
    """One price of a listing from `effective_from` on, with who set it and why: the audit trail of
    every price change (CLI, agent API, seed) and what price protection reads at the time of a request."""

    __tablename__ = "catalog_prices"
    __table_args__ = (
        CheckConstraint("price_fen >= 0", name="price_nonnegative"),
        Index("ix_catalog_prices_listing_from", "listing_id", "effective_from"),
    )

    id = Column(Integer, primary_key=True)
    listing_id = Column(Integer, ForeignKey("catalog_listings.id", ondelete="CASCADE"), nullable=False)
    price_fen = Column(Integer, nullable=False)
    effective_from = Column(AwareDateTime(), nullable=False)
    changed_by = Column(String(80), nullable=False)  # "seed", "cli:<user>", "agent:<id>"
    reason = Column(Text, nullable=False, default="")
    created_at = _created_at()

    listing = relationship("CatalogListing", back_populates="prices")


class SatisfactionSurvey(Base):
    """The buyer's satisfaction with one ended case (满意度): the question was asked at `asked_at` (one row per
    case, so never twice), the answer fills `rating` and the optional `comment`. The case's intent, how it
    ended (`resolution_kind`: the accepted offer's kind, or what the agent chose) and who ended it are copied
    here when asked, so the report reads one table and a later change to the case does not rewrite history."""

    __tablename__ = "satisfaction_surveys"
    __table_args__ = (
        _one_of("rating", SATISFACTION_RATINGS),
        _one_of("resolver", RESOLVERS),
        Index("ix_satisfaction_surveys_asked_at", "asked_at"),  # the report filters by period
    )

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("aftersales_cases.id", ondelete="CASCADE"), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    buyer_id = Column(String(64), nullable=False)
    order_number = Column(String(32))
    intent = Column(String(40), nullable=False)
    resolution_kind = Column(String(40), nullable=False)
    resolver = Column(String(8), nullable=False)  # "bot" or "agent"
    resolved_by = Column(String(80), nullable=False)  # "bot" or "agent:<id>"
    asked_at = Column(AwareDateTime(), nullable=False, default=now_cn)
    rating = Column(String(16))  # None until the buyer answers
    comment = Column(Text)
    answered_at = Column(AwareDateTime())

    case = relationship("AfterSalesCase")


class IntentCorrection(Base):
    """An agent's correction of the intent the NLU gave a buyer message (the console's learning loop).

    One row per conversation and message text: correcting the same message again replaces the intent.
    ``python -m bot nlu export-corrections`` writes them as labelled logs for the next training.
    """

    __tablename__ = "intent_corrections"
    __table_args__ = (UniqueConstraint("conversation_id", "text_sha256"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    text = Column(Text, nullable=False)
    text_sha256 = Column(String(64), nullable=False)
    predicted_intent = Column(String(64), nullable=False, default="")
    corrected_intent = Column(String(64), nullable=False)
    agent_id = Column(String(64), nullable=False)
    created_at = _created_at()


class CaseLine(Base):
    """An order line a case is about (the policy engine's `faulty_items`). A case without lines is about the
    whole order. The per-line cash limits (bot.db.settlement.over_line_limits) read these."""

    __tablename__ = "case_lines"

    case_id = Column(Integer, ForeignKey("aftersales_cases.id"), primary_key=True)
    order_item_id = Column(Integer, ForeignKey("order_items.id"), primary_key=True)


class Settlement(Base):
    """The one settlement of a case: the row that decides, in the database, who settled it.

    `case_id` is unique, so of a buyer's 好的 and an agent's approval arriving together exactly one insert
    wins; the other reads this row and pays nothing. Inserted in the same transaction as the ledger rows,
    after the order's row lock (bot.db.settlement.lock_order), which also serialises the per-order cash total.
    """

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("case_id"),)

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("aftersales_cases.id"), nullable=False)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    rule_id = Column(String(64), nullable=False)
    step = Column(Integer, nullable=False)
    approved_by = Column(String(80), nullable=False)
    cash_fen = Column(Integer, nullable=False, default=0)  # money paid out by this settlement (all cash kinds)
    created_at = _created_at()


class MessageReceipt(Base):
    """A buyer message already acted on (a 不行 moved the ladder, a 好的 was accepted): re-sending the same
    message id (the widget after a time-out, a channel retry) finds its receipt and changes nothing."""

    __tablename__ = "message_receipts"
    __table_args__ = (UniqueConstraint("case_id", "message_id", name="uq_message_receipts_case_message"),)

    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("aftersales_cases.id"), nullable=False)
    message_id = Column(String(128), nullable=False)
    action = Column(String(16), nullable=False)  # refuse, accept
    created_at = _created_at()


class PhotoUpload(Base):
    """A photo stored by the web service, and whose it is: only such a reference counts as evidence."""

    __tablename__ = "photo_uploads"

    reference = Column(String(200), primary_key=True)  # "upload/<name>"
    buyer_id = Column(String(64), nullable=False, index=True)
    conversation_id = Column(String(128))
    size_bytes = Column(Integer, nullable=False, default=0)
    created_at = _created_at()


class AgentToken(Base):
    """An agent token issued by `python -m bot.web agent-token issue` (only its SHA-256 is stored); it
    expires, and `... revoke` ends it at once. A revoked hash also blocks the same token from the
    AFTERSALES_AGENT_TOKENS setting."""

    __tablename__ = "agent_tokens"

    token_sha256 = Column(String(64), primary_key=True)
    agent_id = Column(String(64), nullable=False)
    expires_at = Column(AwareDateTime(), nullable=False)
    revoked_at = Column(AwareDateTime())
    created_at = _created_at()
