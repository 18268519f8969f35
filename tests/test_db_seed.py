"""The demo shop: idempotent, relative to now, and covering every case the rules need."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import CN_TZ
from bot.db import cli
from bot.db.models import Base, Buyer, Order
from bot.db.queries import case_facts, find_order_for_buyer, prior_claims
from bot.db.seed import ORDERS, seed_demo_shop
from bot.db.session import make_engine, session_factory, session_scope

NOW = datetime(2024, 6, 10, 14, 30, tzinfo=CN_TZ)


def _row_counts(session) -> dict[str, int]:
    return {t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in Base.metadata.sorted_tables}


@pytest.fixture(scope="module")
def _seeded_engine(module_db_url):
    """Seeded once per backend for the read-only tests below; each test gets a session it cannot keep."""
    engine = make_engine(module_db_url)
    with session_scope(engine) as session:
        seed_demo_shop(session, now=NOW)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(_seeded_engine):
    session = session_factory(_seeded_engine)()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def seeded_for_writing(db_session):
    seed_demo_shop(db_session, now=NOW)
    db_session.commit()
    return db_session


@pytest.fixture
def orders(seeded) -> list[Order]:
    return list(seeded.execute(select(Order).order_by(Order.order_number)).scalars())


def test_seeding_twice_duplicates_nothing(seeded_for_writing):
    seeded = seeded_for_writing
    before = _row_counts(seeded)
    report = seed_demo_shop(seeded, now=NOW + timedelta(hours=5))
    seeded.commit()
    assert report.created == {}
    assert _row_counts(seeded) == before
    assert before["orders"] >= 40 and before["buyers"] >= 12


def test_order_numbers_are_deterministic_digit_strings(orders):
    numbers = [o.order_number for o in orders]
    assert numbers == sorted(spec.number for spec in ORDERS)
    assert all(n.isdigit() and len(n) >= 12 for n in numbers)


def test_b_demo_1_is_the_main_demo_case(seeded):
    buyer = seeded.get(Buyer, "b_demo_1")
    assert (buyer.platform, buyer.credit_tier) == ("tmall", "3")
    facts = case_facts(find_order_for_buyer(seeded, "b_demo_1", "886600010001"))
    assert [(i["category"], i["price"], i["qty"]) for i in facts["items"]] == [("glass", "20.00", 1)]
    assert facts["order_status"] == "signed"
    assert datetime.fromisoformat(facts["signed_at"]).date() == NOW.date() - timedelta(days=1)
    assert (facts["signed_date_only"], facts["free_shipping"], facts["freight_insurance"]) == (False, True, False)


def test_every_buyer_tier_is_there(seeded):
    tiers = {(b.platform, b.credit_tier) for b in seeded.execute(select(Buyer)).scalars()}
    assert {("tmall", str(n)) for n in range(1, 6)} <= tiers
    assert {("jd", "S1"), ("jd", "S2"), ("jd", "S3"), ("pdd", "")} <= tiers
    assert all(b.note for b in seeded.execute(select(Buyer)).scalars())


def _signed(order: Order):
    shipment = order.latest_shipment
    return shipment.signed_at if shipment and shipment.signed_at else None


REQUIRED = {
    "glass bottle at 10.50": lambda o: any(i.category == "glass" and i.unit_price_fen == 1050 for i in o.items),
    "glass bottle at 20.00": lambda o: any(i.category == "glass" and i.unit_price_fen == 2000 for i in o.items),
    "multi-item signed order": lambda o: len(o.items) >= 2 and o.status == "signed",
    "fresh food": lambda o: any(i.category == "fresh_food" for i in o.items),
    "large appliance": lambda o: any(i.category == "large_appliance" for i in o.items),
    "no-return-when-opened item": lambda o: any(i.no_return_when_opened for i in o.items),
    "unshipped past its 72 h deadline": lambda o: o.status == "paid_unshipped" and o.listing_kind == "ordinary"
    and o.ship_by == o.paid_at + timedelta(hours=72) and o.ship_by < NOW,
    "unshipped within 72 h": lambda o: o.status == "paid_unshipped" and o.listing_kind == "ordinary"
    and o.ship_by > NOW,
    "聚划算 within 7 days": lambda o: o.listing_kind == "juhuasuan" and o.status == "paid_unshipped"
    and o.ship_by == o.paid_at + timedelta(days=7) and o.ship_by > NOW,
    "聚划算 over 7 days": lambda o: o.listing_kind == "juhuasuan" and o.status == "paid_unshipped"
    and o.ship_by < NOW,
    "presale with a stated date": lambda o: o.listing_kind == "presale" and o.presale_ship_date > NOW.date(),
    "in transit": lambda o: o.status == "shipped" and o.latest_shipment.status == "in_transit",
    "signed today": lambda o: _signed(o) and _signed(o).date() == NOW.date()
    and not o.latest_shipment.signed_date_only,
    "signed 8 days ago, date only": lambda o: _signed(o) and o.latest_shipment.signed_date_only
    and _signed(o) == datetime.combine(NOW.date() - timedelta(days=8), datetime.min.time(), CN_TZ),
    "signed exactly 6 days ago": lambda o: _signed(o) == NOW - timedelta(days=6),
    "third-party signing": lambda o: o.latest_shipment is not None and o.latest_shipment.signed_by == "third_party",
    "completed 10 days ago": lambda o: o.completed_at == NOW - timedelta(days=10),
    "completed 20 days ago": lambda o: o.completed_at == NOW - timedelta(days=20),
    "no free shipping": lambda o: not o.free_shipping and o.status == "signed",
    "freight insurance on": lambda o: o.freight_insurance and o.status == "signed",
    "freight insurance off": lambda o: not o.freight_insurance and o.status == "signed",
    "JD order": lambda o: o.platform == "jd",
    "PDD order with 送货上门": lambda o: o.platform == "pdd" and "送货上门" in o.service_tags,
    "unpaid": lambda o: o.status == "unpaid",
    "closed": lambda o: o.status == "closed",
}


@pytest.mark.parametrize("name", list(REQUIRED))
def test_the_demo_shop_has(orders, name):
    matching = [o.order_number for o in orders if REQUIRED[name](o)]
    assert matching, f"no demo order for: {name}"


def test_a_buyer_has_several_prior_claims(seeded):
    assert prior_claims(seeded, "b_demo_10") >= 3
    assert prior_claims(seeded, "b_demo_1") == 0


def test_every_timeline_is_consistent(orders):
    for order in orders:
        shipment = order.latest_shipment
        where = order.order_number
        if order.status in ("shipped", "signed", "completed"):
            assert shipment is not None and order.paid_at < shipment.shipped_at <= NOW, where
        if order.status in ("signed", "completed"):
            assert shipment.status == "signed" and shipment.shipped_at < shipment.signed_at <= NOW, where
        if order.status == "completed":
            assert shipment.signed_at < order.completed_at <= NOW, where
        if order.status in ("unpaid", "paid_unshipped", "closed"):
            assert shipment is None, where
        assert (order.paid_at is None) == (order.status == "unpaid"), where


@pytest.mark.parametrize("clock", ["00:00:30", "23:59:59"])
def test_signed_today_is_today_at_any_hour(db_session, clock):
    now = datetime.fromisoformat(f"2024-06-10T{clock}+08:00")
    seed_demo_shop(db_session, now=now)
    signed = [o.latest_shipment.signed_at for o in db_session.execute(select(Order)).scalars()
              if o.latest_shipment and o.latest_shipment.signed_at]
    assert all(s <= now for s in signed)
    assert any(s.date() == now.date() for s in signed)


def test_reseeding_later_moves_the_times_along(seeded_for_writing):
    seeded = seeded_for_writing
    later = NOW + timedelta(days=3)
    seed_demo_shop(seeded, now=later)
    seeded.commit()
    signed = find_order_for_buyer(seeded, "b_demo_1", "886600010001").latest_shipment.signed_at
    assert signed.date() == later.date() - timedelta(days=1)


def test_cli_seed_then_demo_lists_buyers_and_orders(empty_db_url, capsys):
    assert cli.main(["--url", empty_db_url, "seed"]) == 0
    assert "created" in capsys.readouterr().out
    assert cli.main(["--url", empty_db_url, "demo"]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("b_demo_1  tmall 3★")
    assert "886600010001" in listing and "b_demo_10  tmall 4★, 4 earlier claims" in listing
    assert listing.count("\n  8866") == len(ORDERS)


def test_cli_reset_needs_yes_and_then_rebuilds(empty_db_url, capsys):
    assert cli.main(["--url", empty_db_url, "seed"]) == 0
    assert cli.main(["--url", empty_db_url, "reset"]) == 2
    assert "add --yes" in capsys.readouterr().err
    assert cli.main(["--url", empty_db_url, "reset", "--yes", "--no-seed"]) == 0
    assert cli.main(["--url", empty_db_url, "demo"]) == 1
    assert "no demo buyers" in capsys.readouterr().err


def test_case_facts_of_every_demo_order_validate_as_a_policy_case(orders):
    """The contract with bot.policy: the fields case_facts shares with the engine's Case parse as they are
    (case_facts also carries display facts such as the courier, which the engine does not take)."""
    from bot.policy.case import Case, Item

    for order in orders:
        facts = case_facts(order, item_skus=[order.items[0].sku])
        shared = {key: value for key, value in facts.items() if key in Case.__fields__ and value is not None}
        shared["items"] = [{key: value for key, value in item.items() if key in Item.__fields__}
                           for item in facts["items"]]
        case = Case(**shared, intent="damaged", now=NOW.isoformat())
        assert case.faulty_items == [order.items[0].sku]
        assert [item.paid_fen for item in case.items] == [item.paid_fen for item in order.items]
        if order.latest_shipment and order.latest_shipment.signed_at:
            assert case.signed_at == order.latest_shipment.signed_at, order.order_number
