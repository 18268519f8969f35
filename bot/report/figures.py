"""The report's figures for a period, computed from what the assistant records.

Two sources, which may live in different databases (so nothing here joins across them in SQL):
- the tracker store (Rasa's `events` table): conversations, intents, forms left unfinished;
- the order database: cases, hand-offs, ledger, orders and shipments.
Each source is aggregated in SQL; Python only merges the per-conversation rows with the hand-offs and
cases of the same sender (bisecting each sender's session starts). Definitions: docs/report.md.
"""
from __future__ import annotations

import bisect
import statistics
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import and_, case, distinct, exists, func, select
from sqlalchemy.engine import Connection, Engine

from bot.db.models import AfterSalesCase, Handoff, LedgerEntry, Order, OrderItem, Shipment
from bot.report import tracker
from bot.report.period import Period
from bot.report.satisfaction import SatisfactionFigures, satisfaction_figures
from bot.report.score import LOGISTICS_INTENTS, PRODUCT_INTENTS, ServiceScore, service_score
from bot.report.settings import ReportSettings

OUTCOMES = ("automated", "handed_off", "abandoned")
NO_MARKS: frozenset[str] = frozenset()
ESCALATION_REASON = "complaint_escalation"
ACTIVE_LEDGER = LedgerEntry.state != "cancelled"


# --- the figures -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DayRow:
    day: date
    conversations: int
    automated: int
    handed_off: int
    abandoned: int


@dataclass(frozen=True)
class ConversationFigures:
    """Conversations (Rasa sessions with at least one buyer message) that started in the period."""

    total: int
    automated: int
    handed_off: int
    abandoned: int
    escalated: int
    daily: tuple[DayRow, ...]

    @property
    def automation_rate(self) -> float | None:
        return round(self.automated / self.total, 4) if self.total else None


@dataclass(frozen=True)
class CaseFigures:
    """After-sales cases opened in the period, by where they stand now."""

    total: int
    by_status: dict[str, int]
    resolved_by_bot: int
    resolved_by_agent: int
    median_resolution_s: float | None  # every resolved case: opened -> resolved
    median_bot_resolution_s: float | None  # only those the bot settled alone


@dataclass(frozen=True)
class MoneyRow:
    key: str  # a ledger kind, a rule id or an approver
    entries: int
    amount_fen: int
    title: str = ""


@dataclass(frozen=True)
class RepeatClaimer:
    buyer_id: str
    claims: int
    amount_fen: int


@dataclass(frozen=True)
class Scenario:
    intent: str
    rule_id: str
    rule_title: str
    sku: str
    product: str
    cases: int
    order_numbers: tuple[str, ...]


@dataclass(frozen=True)
class DeadlineRow:
    """Hand-offs of one deadline kind queued in the period: taken by an agent in time, taken late, and still
    waiting past the deadline (late too). `share` = in time / (in time + late), None when none is due yet."""
    kind: str
    handoffs: int
    in_time: int
    late: int
    waiting_not_due: int

    @property
    def share(self) -> float | None:
        due = self.in_time + self.late
        return round(self.in_time / due, 4) if due else None


@dataclass(frozen=True)
class Report:
    period: Period
    generated_at: datetime
    tracker_available: bool
    conversations: ConversationFigures | None
    intents: tuple[tuple[str, int], ...]  # (intent, buyer messages), most frequent first
    intent_trend: dict[str, tuple[int, ...]]  # intent -> messages per day of period.days()
    cases: CaseFigures
    compensation_by_kind: tuple[MoneyRow, ...]
    compensation_by_rule: tuple[MoneyRow, ...]
    compensation_by_approver: tuple[MoneyRow, ...]
    promised_unpaid: tuple[MoneyRow, ...]
    repeat_claimers: tuple[RepeatClaimer, ...]
    scenarios: tuple[Scenario, ...]
    score: ServiceScore
    notes: tuple[str, ...] = field(default=())
    deadlines: tuple[DeadlineRow, ...] = field(default=())  # hand-offs against their platform deadline
    satisfaction: SatisfactionFigures | None = None  # buyers' answers when their cases ended

    @property
    def compensation_total_fen(self) -> int:
        return sum(row.amount_fen for row in self.compensation_by_kind)

    @property
    def rebates_unpaid_fen(self) -> int:
        return sum(row.amount_fen for row in self.promised_unpaid if row.key == "review_rebate")

    def to_dict(self) -> dict:
        """Plain JSON types: dates as ISO text, money as integer fen."""
        conversations = None
        if self.conversations is not None:
            conversations = {**asdict(self.conversations), "automation_rate": self.conversations.automation_rate,
                             "daily": [{**asdict(d), "day": d.day.isoformat()} for d in self.conversations.daily]}
        return {
            "period": {"since": self.period.since.isoformat(), "until": self.period.until.isoformat(),
                       "days": [d.isoformat() for d in self.period.days()]},
            "generated_at": self.generated_at.isoformat(),
            "tracker_available": self.tracker_available,
            "conversations": conversations,
            "intents": [{"intent": i, "messages": n} for i, n in self.intents],
            "intent_trend": {intent: list(counts) for intent, counts in self.intent_trend.items()},
            "cases": asdict(self.cases),
            "compensation": {
                "total_fen": self.compensation_total_fen,
                "by_kind": [asdict(r) for r in self.compensation_by_kind],
                "by_rule": [asdict(r) for r in self.compensation_by_rule],
                "by_approver": [asdict(r) for r in self.compensation_by_approver],
            },
            "promised_unpaid": {"rebates_fen": self.rebates_unpaid_fen,
                                "by_kind": [asdict(r) for r in self.promised_unpaid]},
            "repeat_claimers": [asdict(r) for r in self.repeat_claimers],
            "scenarios": [{**asdict(s), "order_numbers": list(s.order_numbers)} for s in self.scenarios],
            "deadlines": [{**asdict(r), "share": r.share} for r in self.deadlines],
            "satisfaction": self.satisfaction.to_dict() if self.satisfaction is not None else None,
            "score": self.score.to_dict(),
            "notes": list(self.notes),
        }


# --- building it -----------------------------------------------------------------------------------------

def build_report(period: Period, app_engine: Engine, tracker_engine: Engine | None,
                 settings: ReportSettings, *, now: datetime, rule_titles: dict[str, str] | None = None) -> Report:
    """All figures for `period`. `tracker_engine` None (or a database without an `events` table) leaves the
    conversation figures out and says so in `notes`; everything from the order database is still there.

    The two databases are independent, so the tracker store is read in a second thread while the order
    database is read here (sqlite3 and psycopg2 release the GIL while a query runs)."""
    tail = period.until + timedelta(seconds=settings.tail_seconds)
    titles = rule_titles or {}
    notes: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        tracker_future = pool.submit(_read_tracker, tracker_engine, period, tail)
        with app_engine.connect() as app:
            handoffs = _handoffs(app, period.since, tail)
            cases = _case_spans(app, period.since, tail)
            case_figures = _case_figures(app, period)
            by_kind = _money_rows(app, period, LedgerEntry.kind, ACTIVE_LEDGER)
            by_rule = tuple(MoneyRow(r.key, r.entries, r.amount_fen, _rule_title(r.key, titles))
                            for r in _money_rows(app, period, LedgerEntry.rule_id, ACTIVE_LEDGER))
            by_approver = _money_rows(app, period, _approver_group(), ACTIVE_LEDGER)
            unpaid = _money_rows(app, period, LedgerEntry.kind, LedgerEntry.state == "promised")
            claimers = _repeat_claimers(app, period, settings.repeat_claims)
            scenarios = _scenarios(app, period, settings, titles)
            score = service_score(_score_problems(app, period, now), _orders_paid(app, period), settings.score)
            deadlines = _deadline_figures(app, period, now)
            satisfaction = satisfaction_figures(app, period)
        tracker_read = tracker_future.result()

    conversations, intents, trend = None, (), {}
    if tracker_read is None:
        notes.append("tracker store unavailable (no events table): conversation and intent figures left out")
    else:
        sessions, intent_rows, missing_indexes = tracker_read
        conversations = _conversation_figures(period, sessions, handoffs, cases)
        intents, trend = _intent_figures(period, intent_rows)
        if missing_indexes:
            notes.append("the tracker store lacks the report's indexes: slow on a large store "
                         "(create them with `python -m bot.report tracker-index`)")
    return Report(period, now, tracker_read is not None, conversations, intents, trend, case_figures, by_kind,
                  by_rule, by_approver, unpaid, claimers, scenarios, score, tuple(notes), deadlines, satisfaction)


def _read_tracker(engine: Engine | None, period: Period, tail: datetime):
    """(sessions, intent rows, missing index names), or None without a tracker store."""
    if engine is None or not tracker.has_events_table(engine):
        return None
    with engine.connect() as events:
        sessions = tracker.sessions(events, period.since_ts, tail.timestamp())
        intent_rows = tracker.intents_by_day(events, period.since_ts, period.until_ts)
    return sessions, intent_rows, tracker.missing_report_indexes(engine)


def _in_period(column, period: Period):
    return and_(column >= period.since, column < period.until)


# --- conversations (tracker sessions + hand-offs and cases of the same sender) ----------------------------

@dataclass(frozen=True)
class _Marker:
    """Something the order database recorded for a conversation: a hand-off or a case."""

    conversation_id: str
    at: float
    kind: str  # "handoff", "escalation" or "open_case"


def _handoffs(app: Connection, since: datetime, until: datetime) -> list[_Marker]:
    at = _epoch(Handoff.created_at, app.dialect.name)
    rows = app.execute(select(Handoff.conversation_id, at, Handoff.reason)
                       .where(Handoff.created_at >= since, Handoff.created_at < until))
    return [_Marker(cid, float(when), "escalation" if reason == ESCALATION_REASON else "handoff")
            for cid, when, reason in rows]


def _case_spans(app: Connection, since: datetime, until: datetime) -> list[_Marker]:
    """Cases left at "offered" opened in the window: they make a conversation abandoned unless it was
    handed off. (An "open" case is one the bot answered with information or a question: a question
    left unanswered shows as a form still open in the tracker store.)"""
    at = _epoch(AfterSalesCase.created_at, app.dialect.name)
    rows = app.execute(select(AfterSalesCase.conversation_id, at)
                       .where(AfterSalesCase.created_at >= since, AfterSalesCase.created_at < until,
                              AfterSalesCase.status == "offered", AfterSalesCase.conversation_id.isnot(None)))
    return [_Marker(cid, float(when), "open_case") for cid, when in rows]


def _epoch(column, dialect_name: str):
    """Seconds since 1970 (UTC) of a stored time, computed by the database: no datetime per row.
    SQLite keeps AwareDateTime as naive UTC text; julianday 2440587.5 is 1970-01-01T00:00Z."""
    if dialect_name == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    return func.extract("epoch", column)


def _conversation_figures(period: Period, sessions: list[tracker.SessionRow], handoffs: list[_Marker],
                          cases: list[_Marker]) -> ConversationFigures:
    """Outcome of each conversation started in the period, counted per China-time day.
    (A plain loop over integer day numbers: at 100,000 conversations every microsecond per row shows.)"""
    starts: dict[str, list[float]] = defaultdict(list)
    for row in sorted(sessions, key=attrgetter("started")):
        starts[row.sender_id].append(row.started)
    marks: dict[tuple[str, float], set[str]] = defaultdict(set)
    for marker in (*handoffs, *cases):
        session_start = _session_of(starts.get(marker.conversation_id, []), marker.at)
        if session_start is not None:
            marks[(marker.conversation_id, session_start)].add(marker.kind)

    days = period.days()
    first_day = tracker.day_number(period.since_ts)
    per_day = {outcome: [0] * len(days) for outcome in OUTCOMES}
    escalated = 0
    since_ts, until_ts = period.since_ts, period.until_ts  # datetime.timestamp() is slow: once, not per row
    for row in sessions:
        if not (since_ts <= row.started < until_ts) or not row.has_user_message:
            continue
        kinds = marks.get((row.sender_id, row.started), NO_MARKS)
        per_day[_outcome(row, kinds)][tracker.day_number(row.started) - first_day] += 1
        escalated += "escalation" in kinds
    daily = tuple(DayRow(day, sum(per_day[o][n] for o in OUTCOMES), per_day["automated"][n],
                         per_day["handed_off"][n], per_day["abandoned"][n]) for n, day in enumerate(days))
    return ConversationFigures(sum(d.conversations for d in daily), sum(d.automated for d in daily),
                               sum(d.handed_off for d in daily), sum(d.abandoned for d in daily), escalated, daily)


def _session_of(starts: list[float], at: float) -> float | None:
    """The start of the sender's session that was running at `at` (the latest one started before it)."""
    index = bisect.bisect_right(starts, at) - 1
    return starts[index] if index >= 0 else None


def _outcome(row: tracker.SessionRow, kinds: set[str] | frozenset[str]) -> str:
    """handed_off beats abandoned beats automated (docs/report.md, "Conversation outcomes")."""
    if "handoff" in kinds or "escalation" in kinds:
        return "handed_off"
    if row.ended_inside_form or "open_case" in kinds:
        return "abandoned"
    return "automated"


def _intent_figures(period: Period, rows: Iterable[tuple[str, int, int]]
                    ) -> tuple[tuple[tuple[str, int], ...], dict[str, tuple[int, ...]]]:
    days = period.days()
    index = {(day - date(1970, 1, 1)).days: n for n, day in enumerate(days)}
    trend: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for intent, day_no, messages in rows:
        if day_no in index:
            trend[intent][index[day_no]] += messages
    totals = sorted(((intent, sum(counts)) for intent, counts in trend.items()), key=lambda t: (-t[1], t[0]))
    return tuple(totals), {intent: tuple(trend[intent]) for intent, _ in totals}


# --- cases -----------------------------------------------------------------------------------------------

def _case_figures(app: Connection, period: Period) -> CaseFigures:
    opened = _in_period(AfterSalesCase.created_at, period)
    by_status = dict(app.execute(select(AfterSalesCase.status, func.count())
                                 .where(opened).group_by(AfterSalesCase.status)).all())
    helped = _cases_with_human_help(period)
    durations: list[float] = []
    bot_durations: list[float] = []
    duration = _seconds_between(AfterSalesCase.created_at, AfterSalesCase.closed_at, app.dialect.name)
    rows = app.execute(select(duration, AfterSalesCase.id.in_(helped))
                       .where(opened, AfterSalesCase.status == "resolved", AfterSalesCase.closed_at.isnot(None)))
    for seconds, by_human in rows:
        seconds = round(float(seconds), 3)  # julianday arithmetic carries float noise below the millisecond
        durations.append(seconds)
        if not by_human:
            bot_durations.append(seconds)
    return CaseFigures(sum(by_status.values()), {k: int(v) for k, v in sorted(by_status.items())},
                       len(bot_durations), len(durations) - len(bot_durations),
                       _median(durations), _median(bot_durations))


def _seconds_between(start, end, dialect_name: str):
    """end - start in seconds, computed by the database (no datetime objects built per row)."""
    if dialect_name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def _cases_with_human_help(period: Period):
    """Ids of cases a human touched: handed off, or a grant approved by an agent."""
    handed = select(Handoff.case_id).where(Handoff.case_id.isnot(None), Handoff.created_at >= period.since)
    approved = select(LedgerEntry.case_id).where(LedgerEntry.case_id.isnot(None),
                                                 LedgerEntry.approved_by != "bot",
                                                 LedgerEntry.created_at >= period.since)
    return handed.union(approved).scalar_subquery()


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


# --- money -----------------------------------------------------------------------------------------------

def _approver_group():
    """'bot' or 'agent' (every agent:<id> together)."""
    return case((LedgerEntry.approved_by == "bot", "bot"), else_="agent")


def _money_rows(app: Connection, period: Period, key, condition) -> tuple[MoneyRow, ...]:
    """Ledger entries created in the period, grouped by `key`: count and fen, largest amount first."""
    amount = func.coalesce(func.sum(LedgerEntry.amount_fen), 0)
    rows = app.execute(select(key, func.count(), amount)
                       .where(_in_period(LedgerEntry.created_at, period), condition).group_by(key))
    return tuple(sorted((MoneyRow(str(k), int(n), int(fen)) for k, n, fen in rows),
                        key=lambda r: (-r.amount_fen, -r.entries, r.key)))


def _rule_title(rule_id: str, titles: dict[str, str]) -> str:
    """'A1.first_offer' (older rows) -> the title of 'A1'."""
    return titles.get(rule_id) or titles.get(rule_id.split(".")[0], "")


def _repeat_claimers(app: Connection, period: Period, threshold: int) -> tuple[RepeatClaimer, ...]:
    """Buyers with at least `threshold` cases that got them something (non-cancelled grants) in the period."""
    claims = func.count(distinct(LedgerEntry.case_id))
    rows = app.execute(select(LedgerEntry.buyer_id, claims, func.sum(LedgerEntry.amount_fen))
                       .where(_in_period(LedgerEntry.created_at, period), ACTIVE_LEDGER,
                              LedgerEntry.case_id.isnot(None), LedgerEntry.buyer_id.isnot(None))
                       .group_by(LedgerEntry.buyer_id).having(claims >= threshold))
    return tuple(sorted((RepeatClaimer(buyer, int(n), int(fen)) for buyer, n, fen in rows),
                        key=lambda r: (-r.claims, -r.amount_fen, r.buyer_id)))


# --- help scenarios --------------------------------------------------------------------------------------

def _scenario_columns():
    """(intent, rule, sku, product title) of each case: the rule of the offer the case stands at, the
    product of the order's first line (found through the order_items.order_id index, per case)."""
    first_item = (select(func.min(OrderItem.id)).where(OrderItem.order_id == AfterSalesCase.order_id)
                  .correlate(AfterSalesCase).scalar_subquery())
    rule = func.coalesce(AfterSalesCase.last_resolution[("current_offer", "rule")].as_string(), "-")
    joined = (AfterSalesCase.__table__
              .join(Order.__table__, Order.id == AfterSalesCase.order_id)
              .join(OrderItem.__table__, OrderItem.id == first_item))
    return joined, (AfterSalesCase.intent, rule.label("rule"), OrderItem.sku, OrderItem.title)


def _scenarios(app: Connection, period: Period, settings: ReportSettings,
               titles: dict[str, str]) -> tuple[Scenario, ...]:
    """The most frequent (intent, rule, product) groups of cases opened in the period, with the order
    numbers a shop goes back over (newest first). One grouped pass; each group's order numbers come
    concatenated by the database, so only one row per group reaches Python."""
    joined, (intent, rule, sku, title) = _scenario_columns()
    orders = _concat(Order.order_number, app.dialect.name)
    groups = app.execute(select(intent, rule, sku, func.max(title), func.count(), orders)
                         .select_from(joined).where(_in_period(AfterSalesCase.created_at, period))
                         .group_by(intent, rule, sku)
                         .order_by(func.count().desc(), intent, rule, sku).limit(settings.top_scenarios)).all()
    return tuple(Scenario(g_intent, g_rule, _rule_title(g_rule, titles), g_sku, product, int(count),
                          _newest(numbers, settings.orders_per_scenario))
                 for g_intent, g_rule, g_sku, product, count, numbers in groups)


def _concat(column, dialect_name: str):
    """The group's values joined by spaces (SQLite group_concat, PostgreSQL string_agg)."""
    if dialect_name == "sqlite":
        return func.group_concat(column, " ")
    return func.string_agg(column, " ")


def _newest(numbers: str | None, limit: int) -> tuple[str, ...]:
    """Distinct order numbers, highest (newest) first. Numbers of one platform have one length, so
    sorting by (length, text) is numeric order without converting 20-digit numbers."""
    distinct_numbers = set((numbers or "").split())
    return tuple(sorted(distinct_numbers, key=lambda n: (len(n), n), reverse=True)[:limit])


# --- the agents' deadlines ---------------------------------------------------------------------------------

def _deadline_figures(app: Connection, period: Period, now: datetime) -> tuple[DeadlineRow, ...]:
    """Per deadline kind (and "all"): were hand-offs of the period taken before their deadline?"""
    rows = app.execute(select(Handoff.deadline_kind, Handoff.deadline_at, Handoff.taken_at, Handoff.closed_at)
                       .where(_in_period(Handoff.created_at, period), Handoff.deadline_at.isnot(None))).all()
    counts: dict[str, list[int]] = {}
    for kind, due, taken, closed in rows:
        due, acted = _aware(due), _aware(taken or closed)
        slot = 0 if acted is not None and acted <= due else 1 if acted is not None or now > due else 2
        for key in (kind or "question", "all"):
            counts.setdefault(key, [0, 0, 0])[slot] += 1
    return tuple(DeadlineRow(kind, sum(c), c[0], c[1], c[2]) for kind, c in sorted(counts.items()))


def _aware(value: datetime | None) -> datetime | None:
    """Core queries return SQLite's naive UTC as it is stored; the ORM type would add the zone back."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


# --- service-experience score inputs ---------------------------------------------------------------------

def _orders_paid(app: Connection, period: Period) -> int:
    return int(app.execute(select(func.count()).select_from(Order.__table__)
                           .where(_in_period(Order.paid_at, period))).scalar_one())


def _score_problems(app: Connection, period: Period, now: datetime) -> dict[str, int]:
    opened = _in_period(AfterSalesCase.created_at, period)
    by_intent = dict(app.execute(select(AfterSalesCase.intent, func.count()).where(opened)
                                 .group_by(AfterSalesCase.intent)).all())
    handoffs = dict(app.execute(
        select(Handoff.reason == ESCALATION_REASON, func.count())
        .where(_in_period(Handoff.created_at, period)).group_by(Handoff.reason == ESCALATION_REASON)).all())
    escalations = int(handoffs.get(True, 0) or handoffs.get(1, 0))
    return {
        "product": sum(int(by_intent.get(i, 0)) for i in PRODUCT_INTENTS),
        "shipping": _late_shipments(app, period, min(now, period.until)),
        "logistics": sum(int(by_intent.get(i, 0)) for i in LOGISTICS_INTENTS),
        "basic": sum(int(n) for n in handoffs.values()) + escalations,
    }


def _late_shipments(app: Connection, period: Period, cutoff: datetime) -> int:
    """Orders paid in the period whose first parcel left after `ship_by`, or still unshipped past it.
    Two counts (shipped late: a join grouped per order; unshipped: NOT EXISTS) are ~2x faster on SQLite
    than one query with a correlated MIN per order."""
    paid = and_(_in_period(Order.paid_at, period), Order.ship_by.isnot(None))
    shipped_late = (select(Order.id)
                    .select_from(Order.__table__.join(Shipment.__table__, Shipment.order_id == Order.id))
                    .where(paid).group_by(Order.id, Order.ship_by)
                    .having(func.min(Shipment.shipped_at) > Order.ship_by).subquery("shipped_late"))
    unshipped_late = (select(func.count()).select_from(Order.__table__)
                      .where(paid, Order.status == "paid_unshipped", Order.ship_by < cutoff,
                             ~exists().where(Shipment.order_id == Order.id)))
    return (int(app.execute(select(func.count()).select_from(shipped_late)).scalar_one())
            + int(app.execute(unshipped_late).scalar_one()))
