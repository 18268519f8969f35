"""bot.service and bot.scripts without Rasa: the domain's responses cover the rule packs, templates only use
variables the service computes, cases are buyer-scoped, and acceptance is idempotent."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.clock import now_cn
from bot.db.migrate import upgrade
from bot.db.models import LedgerEntry
from bot.db.cases import record_upload
from bot.db.seed import seed_demo_shop
from bot.db.session import dispose_engines, session_scope
from bot.scripts import VARIABLES, ScriptBook, display_time, reply_variables, template_variables
from bot.service import (
    AfterSalesService,
    CaseInputs,
    CaseNotFound,
    NothingToAccept,
    OrderNotFound,
    price_now_from_text,
    reason_from_text,
    usable_from_text,
)
from bot.settings import PROJECT_ROOT

BOOK = ScriptBook.load()


def test_every_script_key_of_the_rule_packs_is_a_response_in_the_domain():
    keys = set()
    for path in (PROJECT_ROOT / "data" / "policy").glob("*.yml"):
        keys |= set(re.findall(r"\butter_[a-z0-9_]+", path.read_text(encoding="utf-8")))
    assert keys, "no script keys found"
    assert sorted(key for key in keys if key not in BOOK) == []


def test_templates_use_only_variables_the_service_fills():
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    unknown = {name: sorted(template_variables(v.get("text", "")) - set(VARIABLES))
               for name, variations in domain["responses"].items() for v in variations}
    assert {name: names for name, names in unknown.items() if names} == {}


def test_no_template_types_a_figure_of_its_own():
    """Every amount comes from the resolution: no '2元' or '13元' baked into a reply."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    baked = [(name, v["text"]) for name, variations in domain["responses"].items() for v in variations
             if re.search(r"\d+(\.\d+)?\s*元", v.get("text", ""))]
    assert baked == []


def test_display_time_and_usable_words():
    assert display_time("2024-06-08T10:00:00+08:00") == "6月8日 10:00"
    assert usable_from_text("杯子碎成好几块，完全不能用了") is False
    assert usable_from_text("有个小缺口，不影响使用") is True
    assert usable_from_text("瓶子破了") is None


def test_refund_reasons_stated_in_words():
    assert reason_from_text("客服说没货了，那就退款吧") == "out_of_stock"
    assert reason_from_text("我地址填错了，包裹被退回去了") == "wrong_address"
    assert reason_from_text("快递员说电话打不通就退回了") == "phone_unreachable"
    assert reason_from_text("不想要了，退款吧") is None


@pytest.fixture()
def service(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    with session_scope(url) as session:
        seed_demo_shop(session)
        record_upload(session, "p.jpg", "b_demo_1")  # photo evidence must be a stored upload of the buyer
    yield AfterSalesService(url)
    dispose_engines()


def inputs(**kw) -> CaseInputs:
    base = dict(conversation_id="conv-1", buyer_id="b_demo_1", intent="damaged", now=now_cn(),
                order_number="886600010001")
    base.update(kw)
    return CaseInputs(**base)


def test_someone_elses_case_is_not_found_and_not_touched(service):
    first = service.assess(inputs(photo_refs=("p.jpg",)))
    with pytest.raises(CaseNotFound):
        service.accept(inputs(buyer_id="b_demo_2", order_number=None), first.case_id)
    with pytest.raises(OrderNotFound):
        service.assess(inputs(buyer_id="b_demo_2"))  # b_demo_1's order


def test_accepting_a_question_is_refused(service):
    asked = service.assess(inputs())
    assert asked.needs == ("photo",)
    with pytest.raises(NothingToAccept):
        service.accept(inputs(), asked.case_id)


def test_accept_twice_and_as_an_agent_writes_each_part_once(service):
    offer = service.assess(inputs(photo_refs=("p.jpg",)))
    first = service.accept(inputs(), offer.case_id)
    again = service.accept(inputs(), offer.case_id, approved_by="agent:lin")
    assert first.created_any and not again.created_any and again.already_accepted
    with session_scope(service.db_url) as session:
        rows = session.execute(select(LedgerEntry).where(LedgerEntry.case_id == offer.case_id)).scalars().all()
        assert sorted((r.kind, r.amount_fen, r.approved_by) for r in rows) == [
            ("compensation", 200, "bot"), ("review_rebate", 300, "bot")]


def test_photo_evidence_is_recorded_once_per_reference(service):
    first = service.assess(inputs(photo_refs=("p.jpg",)))
    again = service.assess(inputs(photo_refs=("p.jpg",)), first.case_id)
    assert again.offer.kind == "compensation_with_rebate"
    with session_scope(service.db_url) as session:
        from bot.db.models import Evidence
        assert len(session.execute(select(Evidence).where(Evidence.case_id == first.case_id)).all()) == 1


def test_unusable_item_gets_a_full_refund_offer(service):
    assessment = service.assess(inputs(usable=False, photo_refs=("p.jpg",)))
    assert assessment.offer.kind == "full_refund" and assessment.offer.amount_fen == 2000
    rendered = BOOK.render(assessment.offer.script, reply_variables(assessment.resolution, order=assessment.order))
    assert "20元" in rendered["text"]


def test_read_only_assessment_writes_no_case(service):
    from bot.db.models import AfterSalesCase
    service.assess(inputs(intent="shipping_fee"), record=False)
    with session_scope(service.db_url) as session:
        assert session.execute(select(AfterSalesCase).where(AfterSalesCase.buyer_id == "b_demo_1")).first() is None


def test_compensation_next_to_a_refund_is_quoted_alone():
    """缺货/超时 cancel: refund 39.90 + 30 % = 11.97; the reply's 赔付 figure is 11.97, not the 51.87 total."""
    from bot.policy import load_pack, resolve
    from bot.scripts import reply_variables

    case = {"intent": "cancel_order", "platform": "tmall", "now": "2024-06-03T10:00:00+08:00",
            "order_status": "paid_unshipped", "paid_at": "2024-06-02T09:00:00+08:00", "reason": "out_of_stock",
            "items": [{"sku": "CUP-4", "price": "39.90", "qty": 1}]}
    variables = reply_variables(resolve(case, load_pack()))
    assert (variables["amount"], variables["payout_amount"]) == ("51.87", "11.97")


@pytest.mark.parametrize("text, fen", [
    ("现在只卖15块了", 1500),
    ("降到¥89", 8900),
    ("我2399买的洗衣机现在页面上只卖2199了，能退差价吗", 219900),
    ("买的时候199元，现在169元", 16900),
    ("便宜了20元，现在是179元", 17900),
    ("降了30块", None),        # a drop, not the price: the dialogue asks for the price
    ("199元买的", None),       # what was paid
    ("原价199元", None),
    ("价格变了", None),
])
def test_the_current_price_a_buyer_states(text, fen):
    assert price_now_from_text(text) == fen
