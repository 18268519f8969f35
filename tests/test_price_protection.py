"""Price protection end to end below Rasa: the catalog and its price history, the CLI, the agent API, the
service (bot) and the copilot (agent) on the demo shop's b_demo_13, whose listings changed price after
the orders were paid (bot/db/seed.py CATALOG_PRICES)."""
from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import now_cn
from bot.copilot import ConversationContext, Copilot
from bot.db import catalog
from bot.db.migrate import upgrade
from bot.db.models import CatalogListing, CatalogPrice, LedgerEntry, Order
from bot.db.seed import seed_demo_shop
from bot.db.session import dispose_engines, session_scope
from bot.service import AfterSalesService, CaseInputs
from bot.web.auth import DEMO_AGENT_TOKEN
from tests.inprocess_web import serving
from tests.test_web_api import Client, FakeRasa

BUYER = "b_demo_13"
DECANTER = "886600130001"   # 128.00, 价保30天, the listing is 98.00 since 2 days ago
TEAPOTS = "886600130002"    # 2 x 59.00, 价保, now 49.00
LATE = "886600130003"       # paid 40 days ago
UNTAGGED = "886600130004"   # no 价保 tag, 45.00 -> 35.00
WENT_UP = "886600130005"    # 69.00 -> 79.00


@pytest.fixture()
def demo_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'pp.db'}"
    monkeypatch.setenv("AFTERSALES_DB_URL", url)
    upgrade(url)
    with session_scope(url) as session:
        seed_demo_shop(session)
    yield url
    dispose_engines()


def inputs(order: str, conversation: str = "c1", **more) -> CaseInputs:
    return CaseInputs(conversation_id=conversation, buyer_id=BUYER, intent="price_protection", now=now_cn(),
                      order_number=order, **more)


def rows(url: str) -> list[tuple[str, int, str, str]]:
    with session_scope(url) as session:
        return [(e.kind, e.amount_fen, e.state, e.approved_by) for e in session.execute(
            select(LedgerEntry).where(LedgerEntry.buyer_id == BUYER).order_by(LedgerEntry.id)).scalars()]


# ---------------------------------------------------------------------- the catalog

def test_the_seed_lists_every_demo_sku_and_the_drops_after_payment(demo_url):
    with session_scope(demo_url) as session:
        order = session.execute(select(Order).where(Order.order_number == DECANTER)).scalar_one()
        listing = catalog.listing(session, order.shop_id, "GL-DECANTER")
        assert catalog.price_at(listing, order.paid_at) == 12800  # the price the buyer paid
        assert catalog.price_at(listing, now_cn()) == 9800
        assert listing.service_tags == ["价保30天"] and listing.price_fen == 9800
        skus = {sku for sku, in session.execute(select(CatalogListing.sku))}
        order_skus = {item.sku for o in session.execute(select(Order)).scalars() for item in o.items}
        assert order_skus <= skus
    with session_scope(demo_url) as session:  # seeding again rewrites the seed's rows, never duplicates them
        before = session.execute(select(CatalogPrice.id)).all()
        seed_demo_shop(session)
        assert len(session.execute(select(CatalogPrice.id)).all()) == len(before)


def test_set_price_is_audited_and_a_retry_writes_nothing(demo_url):
    when = now_cn().replace(microsecond=0) + timedelta(minutes=5)
    with session_scope(demo_url) as session:
        change = catalog.set_price(session, "demo_tmall", "GL-DECANTER", 8800, changed_by="agent:li",
                                   reason="清仓", effective_from=when)
        assert change.created and change.old_fen == 9800
        again = catalog.set_price(session, "demo_tmall", "GL-DECANTER", 8800, changed_by="agent:li",
                                  effective_from=when)
        assert not again.created
        listing = catalog.listing(session, session.execute(select(Order.shop_id).where(
            Order.order_number == DECANTER)).scalar_one(), "GL-DECANTER")
        assert catalog.price_at(listing, now_cn()) == 9800  # not before its time
        assert catalog.price_at(listing, when) == 8800
        assert catalog.history(listing)[-1]["changed_by"] == "agent:li"
        assert catalog.history(listing)[-1]["reason"] == "清仓"


@pytest.mark.parametrize("fen, by", [(0, "agent:x"), (-100, "agent:x"), (10**12, "agent:x"), (1.5, "agent:x"),
                                     (1000, " ")])
def test_bad_price_changes_are_refused(demo_url, fen, by):
    with session_scope(demo_url) as session:
        with pytest.raises(catalog.CatalogError):
            catalog.set_price(session, "demo_tmall", "GL-DECANTER", fen, changed_by=by)
        with pytest.raises(catalog.CatalogError):
            catalog.set_price(session, "demo_tmall", "NO-SUCH-SKU", 1000, changed_by="agent:x")


def test_the_cli_sets_a_price_and_refuses_bad_input(demo_url):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "bot", "catalog", "--url", demo_url, *args],
                              capture_output=True, text=True, timeout=120)
    done = cli("set-price", "GL-TEAPOT", "45.00", "--reason", "test")
    assert done.returncode == 0, done.stderr
    assert "49.00 -> 45.00" in done.stdout and "cli:" in done.stdout
    assert cli("set-price", "GL-TEAPOT", "abc").returncode == 2
    assert cli("set-price", "NO-SUCH", "1.00").returncode == 2
    shown = cli("show", "GL-TEAPOT")
    assert "45.00" in shown.stdout and "(test)" in shown.stdout


# ---------------------------------------------------------------------- the bot (service)

def test_covered_drop_is_offered_paid_once_and_never_again(demo_url):
    service = AfterSalesService(demo_url)
    first = service.assess(inputs(DECANTER))
    assert first.offer.kind == "price_difference_refund" and first.offer.amount_fen == 3000 and first.acceptable
    service.accept(inputs(DECANTER), first.case_id)
    service.accept(inputs(DECANTER), first.case_id)  # 好的 twice
    assert rows(demo_url) == [("refund", 3000, "paid", "bot")]
    second = service.assess(inputs(DECANTER, conversation="c2"))  # a new conversation about the same drop
    assert second.offer.kind == "already_refunded" and not second.acceptable
    assert rows(demo_url) == [("refund", 3000, "paid", "bot")]


def test_two_units_are_refunded_per_unit(demo_url):
    offer = AfterSalesService(demo_url).assess(inputs(TEAPOTS)).offer
    assert offer.kind == "price_difference_refund" and offer.amount_fen == 2000


@pytest.mark.parametrize("order, kind", [(LATE, "not_covered"), (UNTAGGED, "not_covered"),
                                         (WENT_UP, "price_not_lower")])
def test_what_is_not_paid(demo_url, order, kind):
    assessment = AfterSalesService(demo_url).assess(inputs(order))
    assert assessment.offer.kind == kind and not assessment.acceptable
    if order == LATE:
        assert "outside_window" in assessment.resolution.flags


def test_a_wrong_price_from_the_buyer_does_not_change_the_refund(demo_url):
    offer = AfterSalesService(demo_url).assess(inputs(DECANTER, price_now_fen=5000)).offer
    assert offer.amount_fen == 3000 and offer.details["price_claimed_fen"] == 5000


# ---------------------------------------------------------------------- the agent (copilot and API)

def test_copilot_shows_the_same_figures_and_its_approval_shares_the_bots_key(demo_url):
    service = AfterSalesService(demo_url)
    case_id = service.assess(inputs(DECANTER)).case_id
    copilot = Copilot(demo_url)
    suggestion = copilot.suggest(ConversationContext(buyer_messages=("降价了，能补差价吗",), buyer_id=BUYER,
                                                     conversation_id="c1", problem="price_protection",
                                                     order_number=DECANTER))
    figures = suggestion["price_protection"]
    assert figures["price_now"] == "98" and figures["paid_unit"] == "128" and figures["difference"] == "30"
    assert figures["rule"] == "D-price-protection" and figures["price_source"] == "catalog"
    assert suggestion["options"][0]["amount_fen"] == 3000
    granted = copilot.approve(case_id=case_id, option_index=0, agent_id="li")
    assert granted["rows"][0]["idempotency_key"].endswith(":GL-DECANTER:9800")
    service.accept(inputs(DECANTER), case_id)  # the bot's 好的 after the agent approved: nothing new
    assert rows(demo_url) == [("refund", 3000, "paid", "agent:li")]


@pytest.fixture()
def web(demo_url, tmp_path):
    from bot.web.app import create_app
    app = create_app(f"pp_test_{uuid.uuid4().hex[:8]}", rasa=FakeRasa(), db_url=demo_url, uploads=tmp_path / "up")
    with serving(app) as url:
        yield Client(url)


def test_agent_api_changes_a_price_with_the_agents_name(web, demo_url):
    status, body = web.call("POST", "/api/agent/catalog/GL-CARAFE/price", {"price": "30.00", "reason": "活动"},
                            token=DEMO_AGENT_TOKEN)
    assert status == 200 and body["created"] and body["old_price"] == "35.00" and body["price"] == "30.00"
    assert body["changed_by"].startswith("agent:")
    status, listing = web.call("GET", "/api/agent/catalog", token=DEMO_AGENT_TOKEN)
    carafe = next(row for row in listing["listings"] if row["sku"] == "GL-CARAFE")
    assert carafe["price"] == "30.00" and carafe["history"][-1]["reason"] == "活动"
    for bad, code in (({"price": "-1"}, 400), ({"price": "abc"}, 400), ({}, 400)):
        assert web.call("POST", "/api/agent/catalog/GL-CARAFE/price", bad, token=DEMO_AGENT_TOKEN)[0] == code
    assert web.call("POST", "/api/agent/catalog/NOPE/price", {"price": "1.00"}, token=DEMO_AGENT_TOKEN)[0] == 404
    assert web.call("POST", "/api/agent/catalog/GL-CARAFE/price", {"price": "1.00"})[0] == 401
    status, listing = web.call("GET", "/api/agent/catalog", token=DEMO_AGENT_TOKEN)
    assert next(row for row in listing["listings"] if row["sku"] == "GL-CARAFE")["price"] == "30.00"
