"""The Rasa actions on a real (seeded SQLite) database, with trackers built as the Rasa SDK builds them.

The demo shop: b_demo_1 has a signed 20.00-yuan glass bottle (886600010001); b_demo_2 a 10.50-yuan one
(886600020001). Amounts are checked in the rendered Chinese reply and in the ledger.
"""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import dialogue
from actions.actions import (
    ActionAcceptOffer,
    ActionAnswerDigression,
    ActionAskOrderNumber,
    ActionDefaultFallback,
    ActionHandleProblem,
    ActionHandOff,
    ActionRecordInvoice,
    ActionRefuseOffer,
    ActionStartCase,
    consecutive_fallbacks,
)
from actions.forms import (
    ValidateInvoiceForm,
    ValidateOrderForm,
    ValidatePhotoForm,
    ValidatePriceForm,
    ValidateQuoteForm,
)
from bot.db import catalog
from bot.db.ledger import grant
from bot.db.migrate import upgrade
from bot.money import yuan_to_fen
from bot.clock import parse_time
from bot.db.models import AfterSalesCase, Handoff, InvoiceRequest, LedgerEntry, Order
from bot.db.cases import record_upload
from bot.db.seed import seed_demo_shop
from bot.db.session import dispose_engines, session_scope
from bot.scripts import ScriptBook
from bot.service import AfterSalesService

BOTTLE_20 = "886600010001"      # b_demo_1, 20.00 yuan, signed yesterday
BOTTLE_1050 = "886600020001"    # b_demo_2, 10.50 yuan
BUYER = "b_demo_1"
BOOK = ScriptBook.load()


@pytest.fixture()
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'aftersales.db'}"
    monkeypatch.setenv("AFTERSALES_DB_URL", url)
    upgrade(url)
    with session_scope(url) as session:
        seed_demo_shop(session)
        record_upload(session, "upload/abc.jpg", BUYER)  # photo evidence must be a stored upload of the buyer
    dialogue.set_service(AfterSalesService(url))
    yield url
    dialogue.set_service(None)
    dispose_engines()


def tracker(sender: str = BUYER, *, text: str = "", intent: str = "damaged", slots: dict | None = None,
            entities: list | None = None, metadata: dict | None = None, events: list | None = None,
            active_loop: str | None = None) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or [],
              "metadata": metadata or {}}
    base = {"problem": None, "order_number": None, "case_id": None, "photo": None, "return_shipping_quote": None,
            "refusals": 0, "order_failures": 0, "usable": None, "pending_need": None, "offer_pending": False,
            "ladder_offer": False, "price_now": None, "requested_slot": None}
    base.update(slots or {})
    user_event = {"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}}
    return Tracker(sender, base, latest, (events or []) + [user_event], False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def run(action, track: Tracker) -> tuple[list, list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, {"forms": DOMAIN_FORMS}))
    return events, dispatcher.messages


DOMAIN_FORMS = {"order_form": {"required_slots": ["order_number"]}, "photo_form": {"required_slots": ["photo"]},
                "quote_form": {"required_slots": ["return_shipping_quote"]},
                "price_form": {"required_slots": ["price_now"]},
                "invoice_form": {"required_slots": ["invoice_title", "invoice_tax_number", "invoice_kind"]}}


def slot_values(events: list) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def texts(messages: list[dict]) -> list[str]:
    return [BOOK.render(m["response"], m)["text"] if m.get("response") else m.get("text", "") for m in messages]


def ledger_rows(url: str, buyer: str = BUYER) -> list[tuple[str, int, str]]:
    with session_scope(url) as session:
        return [(e.kind, e.amount_fen, e.state) for e in session.execute(
            select(LedgerEntry).where(LedgerEntry.buyer_id == buyer).order_by(LedgerEntry.id)).scalars()]


PHOTO = {"attachments": [{"type": "photo", "ref": "upload/abc.jpg"}]}


def problem_slots(case_id=None, **more) -> dict:
    return {"problem": "damaged", "order_number": BOTTLE_20, "case_id": case_id, **more}


def offer_after_photo(url: str) -> tuple[int, list[str]]:
    """damaged + order -> photo asked; photo sent -> the first offer. Returns (case id, reply texts)."""
    events, _ = run(ActionHandleProblem(), tracker(slots=problem_slots()))
    case_id = slot_values(events)["case_id"]
    events, messages = run(ActionHandleProblem(), tracker(text="照片发您了", intent="affirm", metadata=PHOTO,
                                                          slots=problem_slots(case_id, photo="upload/abc.jpg")))
    assert slot_values(events)["offer_pending"] is True
    return case_id, texts(messages)


# ------------------------------------------------------------------ who is the buyer, which order

def test_order_number_in_the_first_message_is_taken(db_url):
    events, messages = run(ActionStartCase(), tracker(text=f"杯子碎了，订单{BOTTLE_20}",
                                                      entities=[{"entity": "order_number", "value": BOTTLE_20}]))
    slots = slot_values(events)
    assert slots["order_number"] == BOTTLE_20 and slots["problem"] == "damaged"
    assert messages == []


def test_foreign_order_gets_the_same_answer_as_an_unknown_one_and_nothing_is_written(db_url):
    _, foreign = run(ActionStartCase(), tracker(text=f"瓶子碎了 {BOTTLE_1050}"))  # b_demo_2's order
    _, unknown = run(ActionStartCase(), tracker(text="瓶子碎了 886699999999"))
    assert texts(foreign)[0].replace(BOTTLE_1050, "N") == texts(unknown)[0].replace("886699999999", "N")
    with session_scope(db_url) as session:
        assert session.execute(select(AfterSalesCase).where(AfterSalesCase.buyer_id == BUYER)).first() is None


def test_handle_problem_with_a_foreign_order_slot_reveals_nothing(db_url):
    events, messages = run(ActionHandleProblem(), tracker(slots={"problem": "damaged", "order_number": BOTTLE_1050}))
    assert slot_values(events)["order_number"] is None
    assert "没有在您的账号下查到" in texts(messages)[0]
    assert ledger_rows(db_url, "b_demo_2") == []


def test_order_question_offers_the_buyers_recent_orders_as_buttons(db_url):
    _, messages = run(ActionAskOrderNumber(), tracker())
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert any(BOTTLE_20 in p for p in payloads) and all("8866000100" in p for p in payloads)


def test_order_form_reasks_then_hands_over_after_two_failures(db_url):
    form = ValidateOrderForm()
    first = tracker(text="12345", intent="provide_order_number", slots={"requested_slot": "order_number"},
                    active_loop="order_form")
    events, messages = run(form, first)
    assert slot_values(events)["order_number"] is None and slot_values(events)["order_failures"] == 1
    assert "订单号是一串数字" in texts(messages)[0]
    second = tracker(text=BOTTLE_1050, intent="provide_order_number", active_loop="order_form",
                     slots={"requested_slot": "order_number", "order_failures": 1})
    events, _ = run(form, second)
    slots = slot_values(events)
    assert slots["order_failures"] == 2 and slots["requested_slot"] is None  # the form ends
    events, messages = run(ActionHandleProblem(), tracker(slots={"problem": "damaged", "order_failures": 2}))
    assert slot_values(events)["handoff"] is True
    with session_scope(db_url) as session:
        assert session.execute(select(Handoff).where(Handoff.conversation_id == BUYER)).scalar_one().reason \
            == "order_unresolved"


def test_a_foreign_number_in_the_opening_message_counts_once(db_url):
    # action_start_case counts the foreign number and resets the slot; the form must not count that reset
    # as a second failure (that handed the buyer to a human after one message instead of re-asking).
    track = tracker("b_demo_9", text="订单886600010001的杯子碎了", active_loop="order_form",
                    slots={"order_failures": 1})
    track.events.append({"event": "slot", "name": "order_number", "value": None})
    events, messages = run(ValidateOrderForm(), track)
    assert messages == []
    assert slot_values(events).get("order_failures", 1) == 1


def test_order_form_accepts_an_order_button(db_url):
    events, _ = run(ValidateOrderForm(), tracker(
        text=f'/provide_order_number{{"order_number": "{BOTTLE_20}"}}', intent="provide_order_number",
        entities=[{"entity": "order_number", "value": BOTTLE_20}], slots={"requested_slot": "order_number"},
        active_loop="order_form"))
    assert slot_values(events)["order_number"] == BOTTLE_20


# ------------------------------------------------------------------ evidence

def test_photo_is_asked_first_and_text_alone_does_not_count(db_url):
    events, messages = run(ActionHandleProblem(), tracker(slots=problem_slots()))
    assert slot_values(events)["pending_need"] == "photo" and messages == []
    events, messages = run(ValidatePhotoForm(), tracker(text="照片已发", intent="affirm", active_loop="photo_form",
                                                        slots={"requested_slot": "photo"}))
    assert slot_values(events)["photo"] is None
    assert "文字说明不能代替照片" in texts(messages)[0]
    events, _ = run(ValidatePhotoForm(), tracker(text="照片已发", intent="affirm", metadata=PHOTO,
                                                 active_loop="photo_form", slots={"requested_slot": "photo"}))
    assert slot_values(events)["photo"] == "upload/abc.jpg"


def test_opening_the_photo_form_does_not_scold_a_buyer_who_was_not_asked_yet(db_url):
    # The action that opens the form resets the photo slot after the buyer's message; rasa_sdk then validates
    # that None. The "text is no photo" re-ask belongs to a reply to our question only.
    track = tracker(text="瓶子碎了，订单886600010001", intent="damaged", active_loop="photo_form")
    track.events.append({"event": "slot", "name": "photo", "value": None})
    events, messages = run(ValidatePhotoForm(), track)
    assert messages == []
    assert slot_values(events).get("photo") is None


def test_a_side_question_is_not_taken_as_the_photo(db_url):
    events, _ = run(ValidatePhotoForm(), tracker(text="运费谁出？", intent="shipping_fee", active_loop="photo_form",
                                                 slots={"requested_slot": "photo"}))
    assert events == [] or "photo" not in slot_values(events)


@pytest.mark.parametrize("form, slot", [
    (ValidateOrderForm, "order_number"), (ValidatePhotoForm, "photo"), (ValidateQuoteForm, "return_shipping_quote"),
    (ValidatePriceForm, "price_now"), (ValidateInvoiceForm, "invoice_title"),
    (ValidateInvoiceForm, "invoice_tax_number"), (ValidateInvoiceForm, "invoice_kind"),
])
def test_a_slot_reset_is_no_answer_for_any_form(db_url, form, slot):
    # An action (action_start_case, the one opening the form) resets the slot after the buyer's message;
    # rasa_sdk hands that None to the validator like a value. No re-ask, no failure counted, no value.
    track = tracker(text="瓶子碎了 订单886600010001", intent="damaged", active_loop=form().name()[len("validate_"):],
                    slots={"order_failures": 1})
    track.events.append({"event": "slot", "name": slot, "value": None})
    events, messages = run(form(), track)
    assert messages == []
    slots = slot_values(events)
    assert slots.get(slot) is None and slots.get("order_failures", 1) == 1


# ------------------------------------------------------------------ the ladder

def test_first_offer_is_2_plus_3_and_accepting_writes_two_ledger_rows_once(db_url):
    case_id, replies = offer_after_photo(db_url)
    assert "2元" in replies[0] and "3元" in replies[0]
    events, messages = run(ActionAcceptOffer(), tracker(intent="affirm", slots=problem_slots(case_id)))
    assert slot_values(events)["offer_pending"] is False
    assert ledger_rows(db_url) == [("compensation", 200, "paid"), ("review_rebate", 300, "promised")]
    assert "好评返现3元" in texts(messages)[0]
    # 好的 again (a retry, a double tap): nothing new
    _, messages = run(ActionAcceptOffer(), tracker(intent="affirm", slots=problem_slots(case_id)))
    assert len(ledger_rows(db_url)) == 2
    assert "不会重复" in texts(messages)[0]


def test_refusal_asks_the_quote_and_15_yuan_raises_compensation_within_half_price(db_url):
    case_id, _ = offer_after_photo(db_url)
    events, _ = run(ActionRefuseOffer(), tracker(intent="deny", slots=problem_slots(case_id)))
    assert slot_values(events)["pending_need"] == "return_shipping_quote"
    slots = problem_slots(case_id, return_shipping_quote="15.00", refusals=1)
    events, messages = run(ActionHandleProblem(), tracker(text="15块", slots=slots))
    reply = texts(messages)[0]
    assert "8元" in reply and "15元" in reply  # 5 + 3 raise, and the buyer's quote
    events, messages = run(ActionRefuseOffer(), tracker(intent="deny", slots=slots))
    assert "10元" in texts(messages)[0]  # half of 20.00: the last step
    run(ActionAcceptOffer(), tracker(intent="affirm", slots=slots))
    assert ledger_rows(db_url) == [("compensation", 1000, "paid")]


@pytest.mark.parametrize("quote, kind, amount_text", [
    ("13.00", "return_with_shipping_subsidy", "补贴13元"),   # at the 13-yuan threshold: return, shop pays it
    ("13.01", "raised_compensation", "8元"),                # just above: keep the item, more money
])
def test_return_shipping_quote_at_and_just_above_the_threshold(db_url, quote, kind, amount_text):
    case_id, _ = offer_after_photo(db_url)
    run(ActionRefuseOffer(), tracker(intent="deny", slots=problem_slots(case_id)))
    slots = problem_slots(case_id, return_shipping_quote=quote, refusals=1)
    _, messages = run(ActionHandleProblem(), tracker(slots=slots))
    rendered = [BOOK.render(m["response"], m, variation=v)["text"] for m in messages for v in range(2)]
    assert any(amount_text in text for text in rendered)
    with session_scope(db_url) as session:
        assert session.get(AfterSalesCase, case_id).last_resolution["current_offer"]["kind"] == kind


def test_cheap_bottle_never_gets_more_than_half_its_price(db_url):
    slots = {"problem": "damaged", "order_number": BOTTLE_1050}
    events, _ = run(ActionHandleProblem(), tracker("b_demo_2", slots=slots))
    case_id = slot_values(events)["case_id"]
    slots.update(case_id=case_id, photo="p.jpg", return_shipping_quote="20.00")
    with session_scope(db_url) as session:
        record_upload(session, "p.jpg", "b_demo_2")  # the photo is a stored upload of this buyer
    run(ActionHandleProblem(), tracker("b_demo_2", metadata={"attachments": [{"type": "photo", "ref": "p.jpg"}]},
                                       slots=slots))
    amounts = []
    for refusals in range(4):
        events, messages = run(ActionRefuseOffer(), tracker("b_demo_2", intent="deny", slots=slots))
        amounts += [m for m in texts(messages)]
    with session_scope(dialogue.service().db_url) as session:
        options = session.get(AfterSalesCase, case_id).last_resolution["options"]
    assert max(o["amount_fen"] for o in options if o["kind"] != "return_with_shipping_subsidy") <= 500
    assert any("5元" in text for text in amounts)  # the half-price step: 5.25 rounded down to 5


def test_refusing_the_last_step_hands_off_and_never_goes_beyond(db_url):
    case_id, _ = offer_after_photo(db_url)
    slots = problem_slots(case_id, return_shipping_quote="15.00")
    for _ in range(2):
        run(ActionRefuseOffer(), tracker(intent="deny", slots=slots))
    events, messages = run(ActionRefuseOffer(), tracker(intent="deny", slots=slots))
    assert slot_values(events)["handoff"] is True
    assert "最大方案" in texts(messages)[0]
    with session_scope(db_url) as session:
        case = session.get(AfterSalesCase, case_id)
        handoff = session.execute(select(Handoff).where(Handoff.case_id == case_id)).scalar_one()
        assert case.refusals == 2  # three options, never a fourth step
        assert BOTTLE_20 in handoff.summary and "买家拒绝" in handoff.summary
    assert ledger_rows(db_url) == []


def case_refusals(url: str, case_id: int) -> int:
    with session_scope(url) as session:
        return session.get(AfterSalesCase, case_id).refusals


def test_ladder_offer_is_set_only_while_a_ladder_step_is_on_the_table(db_url):
    case_id, _ = offer_after_photo(db_url)
    events, _ = run(ActionHandleProblem(), tracker(slots=problem_slots(case_id, photo="upload/abc.jpg")))
    assert slot_values(events)["ladder_offer"] is True
    events, _ = run(ActionAcceptOffer(), tracker(intent="affirm", slots=problem_slots(case_id)))
    assert slot_values(events)["ladder_offer"] is False
    # the 7-day return's information also sets offer_pending, but is no ladder: 还是退了吧 must open it again
    events, _ = run(ActionHandleProblem(), tracker(intent="no_reason_return", slots={
        "problem": "no_reason_return", "order_number": BOTTLE_20}))
    slots = slot_values(events)
    assert slots["ladder_offer"] is False
    # a new case, a hand-off and "nothing to accept" clear it too
    assert slot_values(run(ActionStartCase(), tracker(text="瓶子碎了"))[0])["ladder_offer"] is False
    assert slot_values(run(ActionHandOff(), tracker(intent="request_human"))[0])["ladder_offer"] is False
    assert slot_values(run(ActionAcceptOffer(), tracker(intent="affirm"))[0])["ladder_offer"] is False


def test_a_missing_part_re_send_counts_as_a_ladder_offer_so_asking_for_the_money_refuses_it(db_url):
    # 不用补了，直接退钱吧 reads as request_compensation / refund_status: it must turn the re-send down
    events, _ = run(ActionHandleProblem(), tracker(intent="missing_item", slots={
        "problem": "missing_item", "order_number": BOTTLE_20}))
    slots = slot_values(events)
    assert slots["offer_pending"] is True and slots["ladder_offer"] is True


@pytest.mark.parametrize("text, intent", [
    ("不行，5块钱打发谁呢，我要退货", "no_reason_return"),
    ("不要补偿，我要退款", "request_compensation"),
    ("不行，5块钱太少了", "request_compensation"),
    ("不要，我要退款", "refund_status"),
    ("不要补偿了，我要退款", "cancel_order"),
])
def test_refusing_the_damage_offer_by_asking_to_return_asks_the_return_quote(db_url, text, intent):
    case_id, _ = offer_after_photo(db_url)
    events, messages = run(ActionRefuseOffer(), tracker(text=text, intent=intent, slots=problem_slots(case_id)))
    slots = slot_values(events)
    assert slots["pending_need"] == "return_shipping_quote" and slots["ladder_offer"] is False
    assert case_refusals(db_url, case_id) == 1
    assert not any("无理由" in t or "由您承担" in t for t in texts(messages))
    with session_scope(db_url) as session:  # still the damage case, not a 7-day return
        assert session.get(AfterSalesCase, case_id).intent == "damaged"


def test_asking_to_return_when_the_return_is_already_offered_repeats_it(db_url):
    case_id, _ = offer_after_photo(db_url)
    run(ActionRefuseOffer(), tracker(intent="deny", slots=problem_slots(case_id)))
    slots = problem_slots(case_id, return_shipping_quote="10.00", refusals=1)
    events, _ = run(ActionHandleProblem(), tracker(text="10块", slots=slots))
    assert slot_values(events)["ladder_offer"] is True
    events, messages = run(ActionRefuseOffer(), tracker(text="我要退货", intent="no_reason_return", slots=slots))
    assert slot_values(events)["offer_pending"] is True and case_refusals(db_url, case_id) == 1
    rendered = [BOOK.render(m["response"], m, variation=v)["text"] for m in messages for v in range(2)]
    assert any("补贴10元" in t for t in rendered)
    # 不退了 / a plain 不行 still moves on: half the price, keep the item
    events, messages = run(ActionRefuseOffer(), tracker(text="不行，我不退了", intent="deny", slots=slots))
    assert case_refusals(db_url, case_id) == 2 and "10元" in texts(messages)[0]
    run(ActionAcceptOffer(), tracker(intent="affirm", slots=slots))
    assert ledger_rows(db_url) == [("compensation", 1000, "paid")]


# ------------------------------------------------------------------ price protection (D, 价保30天)

NOW = "2024-06-03T10:00:00+08:00"


@pytest.fixture()
def price_protected(db_url, monkeypatch):
    """BOTTLE_20 (20.00 yuan) with the 价保30天 tag, paid `days` days (+ `minutes`) before NOW; the catalog lists
    its SKU at 20.00 until a day before NOW and at `catalog` from then on (None: the SKU has no price at NOW).
    The test clock is on."""
    monkeypatch.setenv("AFTERSALES_TEST_CLOCK", "1")

    def tag(days: int = 10, minutes: int = 0, tags=("价保30天",), catalog_price: str | None = "15.00") -> None:
        from datetime import timedelta
        with session_scope(db_url) as session:
            order = session.execute(select(Order).where(Order.order_number == BOTTLE_20)).scalar_one()
            order.service_tags = list(tags)
            order.paid_at = parse_time(NOW) - timedelta(days=days, minutes=minutes)
            if catalog_price is not None:
                start = parse_time(NOW) - timedelta(days=60)
                catalog.set_price(session, "demo_tmall", "GL-BOTTLE-500", 2000, changed_by="seed", effective_from=start)
                catalog.set_price(session, "demo_tmall", "GL-BOTTLE-500", yuan_to_fen(catalog_price),
                                  changed_by="agent:test", effective_from=parse_time(NOW) - timedelta(days=1))
    return tag


def price_slots(price_now=None, **more) -> dict:
    return {"problem": "price_protection", "order_number": BOTTLE_20, "price_now": price_now, **more}


def price_turn(price_now=None, text="", intent="price_protection", sender: str = BUYER, **more) -> Tracker:
    return tracker(sender, text=text, intent=intent, metadata={"now": NOW}, slots=price_slots(price_now, **more))


def test_the_current_price_in_the_opening_message_is_read(db_url):
    events, _ = run(ActionStartCase(), tracker(text="现在只卖15块了", intent="price_protection", entities=[
        {"entity": "amount", "value": 1500, "start": 4, "end": 7}]))
    assert slot_values(events)["price_now"] == "15.00"
    events, _ = run(ActionStartCase(), tracker(text="我20块买的，现在降价了", intent="price_protection"))
    assert "price_now" not in slot_values(events) or slot_values(events)["price_now"] is None


def test_price_protection_pays_the_catalog_difference_once(price_protected, db_url):
    """The catalog says 15.00 at NOW: 5 yuan back, paid at once; asking again (another conversation) pays nothing."""
    price_protected(days=10)
    events, messages = run(ActionHandleProblem(), price_turn())
    slots = slot_values(events)
    assert slots["offer_pending"] is True and slots["ladder_offer"] is False
    assert "差价一共5元" in texts(messages)[0] and "现在的价格是15元" in texts(messages)[0]
    run(ActionAcceptOffer(), price_turn(intent="affirm", case_id=slots["case_id"]))
    run(ActionAcceptOffer(), price_turn(intent="affirm", case_id=slots["case_id"]))  # a double click
    assert ledger_rows(db_url) == [("refund", 500, "paid")]
    with session_scope(db_url) as session:
        key = session.execute(select(LedgerEntry.idempotency_key).where(LedgerEntry.buyer_id == BUYER)).scalar_one()
    assert key.startswith("price:") and key.endswith(":GL-BOTTLE-500:1500")
    service = dialogue.service(None)
    again = service.assess(price_inputs(conversation_id="b_demo_1:second"))
    assert again.offer.kind == "already_refunded" and not again.acceptable
    assert ledger_rows(db_url) == [("refund", 500, "paid")]


def price_inputs(**more):
    from bot.service import CaseInputs
    values = dict(conversation_id=BUYER, buyer_id=BUYER, intent="price_protection", now=parse_time(NOW),
                  order_number=BOTTLE_20)
    values.update(more)
    return CaseInputs(**values)


def test_a_further_drop_pays_only_the_new_part(price_protected, db_url):
    price_protected(days=10)
    service = dialogue.service(None)
    first = service.assess(price_inputs())
    service.accept(price_inputs(), first.case_id)
    with session_scope(db_url) as session:
        catalog.set_price(session, "demo_tmall", "GL-BOTTLE-500", 1200, changed_by="agent:test",
                          effective_from=parse_time(NOW) - timedelta_minutes(30))
    second = service.assess(price_inputs(conversation_id="b_demo_1:later"))
    assert second.offer.kind == "price_difference_refund" and second.offer.amount_fen == 300
    service.accept(price_inputs(conversation_id="b_demo_1:later"), second.case_id)
    assert sorted(ledger_rows(db_url)) == [("refund", 300, "paid"), ("refund", 500, "paid")]


def timedelta_minutes(minutes: int):
    from datetime import timedelta
    return timedelta(minutes=minutes)


def test_the_buyers_price_is_a_claim_checked_against_the_catalog(price_protected, db_url):
    """现在只要12: the catalog says 15.00, so 5 yuan (not 8) and the reply says which price counts."""
    price_protected(days=10)
    events, messages = run(ActionHandleProblem(), price_turn("12.00"))
    reply = texts(messages)[0]
    assert "差价一共5元" in reply and "12元" in reply and "对不上" in reply


def test_without_a_catalog_price_the_buyers_figure_goes_to_an_agent(price_protected, db_url):
    price_protected(days=10, catalog_price=None)
    events, messages = run(ActionHandleProblem(), price_turn("15.00"))
    assert slot_values(events)["handoff"] is True and ledger_rows(db_url) == []
    with session_scope(db_url) as session:
        reason = session.execute(select(Handoff.reason)).scalar_one()
    assert "price_unverified" in reason


def test_price_protection_without_catalog_or_claim_asks_for_it(price_protected):
    price_protected(days=10, catalog_price=None)
    events, messages = run(ActionHandleProblem(), price_turn())
    assert slot_values(events)["pending_need"] == "price_now" and messages == []  # price_form asks


@pytest.mark.parametrize("minutes, offered", [(0, True), (1, False)])
def test_price_protection_window_at_and_just_after_30_days(price_protected, db_url, minutes, offered):
    price_protected(days=30, minutes=minutes)
    for claim in ("12.00", None):  # with and without a price stated by the buyer
        events, messages = run(ActionHandleProblem(), price_turn(claim))
        reply = " ".join(texts(messages))
        if offered:
            assert "差价一共5元" in reply
        else:
            assert "价保已经在6月3日 09:59截止" in reply and "差价" in reply
            assert slot_values(events)["offer_pending"] is False and "handoff" not in slot_values(events)
    if not offered:
        assert ledger_rows(db_url) == []


@pytest.mark.parametrize("price_now, difference", [
    ("19.99", "0.01"),   # one fen below the price paid: one fen back
    ("0.01", "19.99"),   # the deepest drop: never more than what was paid (the option's limit)
])
def test_price_difference_at_its_limits(price_protected, price_now, difference):
    price_protected(days=1, catalog_price=price_now)
    _, messages = run(ActionHandleProblem(), price_turn())
    assert f"差价一共{difference}元" in texts(messages)[0]


@pytest.mark.parametrize("price_now", ["20.00", "25.00"])
def test_no_difference_when_the_price_did_not_drop(price_protected, db_url, price_now):
    price_protected(days=1, catalog_price=price_now)
    events, messages = run(ActionHandleProblem(), price_turn("15.00"))
    assert "没有差价" in texts(messages)[0] and slot_values(events)["offer_pending"] is False
    assert ledger_rows(db_url) == []


def test_price_protection_without_the_tag_is_not_covered_and_never_asks_the_price(price_protected):
    price_protected(days=1, tags=())
    events, messages = run(ActionHandleProblem(), price_turn())
    assert "不在价保范围" in texts(messages)[0] and slot_values(events)["pending_need"] == "none"


def test_an_item_already_refunded_has_no_price_protection(price_protected, db_url):
    price_protected(days=1)
    with session_scope(db_url) as session:
        order = session.execute(select(Order).where(Order.order_number == BOTTLE_20)).scalar_one()
        grant(session, "case:x:A2:refund", kind="refund", amount_fen=2000, rule_id="A2.full_refund",
              order_id=order.id, buyer_id=BUYER)
    events, messages = run(ActionHandleProblem(), price_turn())
    assert "已经退款" in texts(messages)[0] and slot_values(events)["offer_pending"] is False


@pytest.mark.parametrize("text, intent, entities, expected, re_ask", [
    ("2199", "provide_order_number", [], "2199.00", False),
    ("现在卖89元", "price_protection", [{"entity": "amount", "value": 8900, "start": 3, "end": 6}], "89.00", False),
    ("降了30块", "price_protection", [{"entity": "amount", "value": 3000, "start": 2, "end": 5}], None, True),
    ("0元", "price_protection", [{"entity": "amount", "value": 0, "start": 0, "end": 2}], None, True),
    ("不知道", "deny", [], "absent", False),          # not an answer: the rules hand over to an agent
    ("转人工", "request_human", [], "absent", False),
])
def test_price_form_reads_the_current_price(db_url, text, intent, entities, expected, re_ask):
    events, messages = run(ValidatePriceForm(), tracker(text=text, intent=intent, entities=entities,
                                                        slots={"requested_slot": "price_now"},
                                                        active_loop="price_form"))
    slots = slot_values(events)
    if expected == "absent":
        assert "price_now" not in slots
    else:
        assert slots["price_now"] == expected
    assert bool(messages) is re_ask


# ------------------------------------------------------------------ platform wording: 晚必赔, 闪电退款, wood smell

def jd_tracker(buyer: str, number: str, problem: str, text: str = "", **slots) -> Tracker:
    return tracker(buyer, text=text, intent=problem, slots={"problem": problem, "order_number": number, **slots},
                   events=[{"event": "user", "text": text, "parse_data": {"intent": {"name": problem}}}])


def test_jd_lightning_refund_is_called_so_and_free_pickup_is_said(db_url):
    # b_demo_7 (JD S2): 闪电退款 tag + freight insurance -> free pick-up of the return
    _, messages = run(ActionHandleProblem(), jd_tracker("b_demo_7", "886600070001", "no_reason_return"))
    reply = " ".join(texts(messages))
    assert "闪电退款" in reply and "极速退款" not in reply
    assert "免费上门取件" in reply and "退货运费由您承担" not in reply
    # JD S2 without freight insurance: 闪电退款, but the return leg is the buyer's
    _, messages = run(ActionHandleProblem(), jd_tracker("b_demo_7", "886600070002", "no_reason_return"))
    reply = " ".join(texts(messages))
    assert "闪电退款" in reply and "免费上门" not in reply and "退货运费由您承担" in reply
    # Tmall keeps its own name
    _, messages = run(ActionHandleProblem(), jd_tracker("b_demo_4", "886600040004", "no_reason_return"))
    assert "极速退款" in " ".join(texts(messages))


def test_late_delivery_guarantee_is_said_with_the_soothing_and_skipped_on_refusal(db_url):
    with session_scope(db_url) as session:  # the README's demo: b_demo_6's overdue JD parcel carries 晚必赔
        order = session.execute(select(Order).where(Order.order_number == "886600060001")).scalar_one()
        assert "晚必赔" in order.service_tags
    events, messages = run(ActionHandleProblem(), jd_tracker("b_demo_6", "886600060001", "delivery_status"))
    reply = " ".join(texts(messages))
    assert "晚必赔" in reply and "已经超时" in reply  # never 预计<a time already past>送到
    case_id = slot_values(events)["case_id"]
    assert slot_values(events)["offer_pending"] is True
    _, messages = run(ActionRefuseOffer(), jd_tracker("b_demo_6", "886600060001", "delivery_status",
                                                      case_id=case_id))
    reply = " ".join(texts(messages))
    assert "拒收" in reply and "晚必赔" not in reply  # straight to refusing delivery, not 晚必赔 again


def test_solid_wood_smell_gets_the_explanation_first_then_the_ladder_on_refusal(db_url):
    text = "床头柜一股很重的味道，是不是质量有问题"
    events, messages = run(ActionHandleProblem(), jd_tracker("b_demo_4", "886600040003", "quality_issue", text))
    slots = slot_values(events)
    assert "实木" in texts(messages)[0]
    assert slots["pending_need"] == "none" and slots["offer_pending"] is True and slots["ladder_offer"] is False
    events, messages = run(ActionRefuseOffer(), jd_tracker("b_demo_4", "886600040003", "quality_issue", text,
                                                           case_id=slots["case_id"]))
    assert slot_values(events)["pending_need"] == "photo" and messages == []  # photo_form asks next


@pytest.mark.parametrize("text, intent", [("个人", "request_human"), ("张三", "out_of_scope"),
                                          ("上海晶莹贸易有限公司", "invoice")])
def test_invoice_title_is_whatever_the_buyer_answers(db_url, text, intent):
    events, _ = run(ValidateInvoiceForm(), tracker(text=text, intent=intent, active_loop="invoice_form",
                                                   slots={"requested_slot": "invoice_title"}))
    assert slot_values(events)["invoice_title"] == text


@pytest.mark.parametrize("text, intent", [("转人工", "request_human"), ("我要投诉", "complaint_escalation"),
                                          ("你好", "greet"), ("运费谁出", "shipping_fee")])
def test_invoice_title_question_still_lets_the_buyer_ask_for_a_human_or_something_else(db_url, text, intent):
    events, _ = run(ValidateInvoiceForm(), tracker(text=text, intent=intent, active_loop="invoice_form",
                                                   slots={"requested_slot": "invoice_title"}))
    assert "invoice_title" not in slot_values(events) or slot_values(events)["invoice_title"] is None


# ------------------------------------------------------------------ hand-offs, errors, side questions

def test_request_human_mid_ladder_hands_off_with_a_summary(db_url):
    case_id, _ = offer_after_photo(db_url)
    events, messages = run(ActionHandOff(), tracker(intent="request_human", slots=problem_slots(case_id)))
    assert slot_values(events)["handoff"] is True and slot_values(events)["offer_pending"] is False
    assert "人工" in texts(messages)[0]
    with session_scope(db_url) as session:
        handoff = session.execute(select(Handoff).where(Handoff.conversation_id == BUYER)).scalar_one()
        assert handoff.reason == "request_human" and "当前方案" in handoff.summary and "2元" in handoff.summary


def test_counterfeit_is_explained_and_always_goes_to_a_human(db_url):
    slots = {"problem": "counterfeit", "order_number": BOTTLE_20}
    events, messages = run(ActionHandleProblem(), tracker(intent="counterfeit", slots=slots))
    reply = texts(messages)[0]
    assert "假一赔十" in reply and "进货发票" in reply
    assert slot_values(events)["handoff"] is True


def test_database_unavailable_gives_an_honest_reply_not_a_crash(db_url, tmp_path):
    dialogue.set_service(AfterSalesService(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}"))
    events, messages = run(ActionHandleProblem(), tracker(slots=problem_slots()))
    replies = " ".join(texts(messages))
    assert "系统暂时" in replies
    assert slot_values(events)["handoff"] is True
    events, messages = run(ActionAcceptOffer(), tracker(intent="affirm", slots=problem_slots(7)))
    assert "系统暂时" in " ".join(texts(messages))


def test_shipping_fee_question_inside_the_photo_form_is_answered_without_a_case(db_url):
    _, messages = run(ActionAnswerDigression(), tracker(text="运费谁出", intent="shipping_fee",
                                                        slots=problem_slots(), active_loop="photo_form"))
    assert "运费" in texts(messages)[0]
    with session_scope(db_url) as session:
        assert session.execute(select(AfterSalesCase).where(AfterSalesCase.buyer_id == BUYER)).first() is None


def test_invoice_form_and_record(db_url):
    form = ValidateInvoiceForm()
    events, _ = run(form, tracker(text="个人", intent="invoice", slots={"requested_slot": "invoice_tax_number"},
                                  active_loop="invoice_form"))
    assert slot_values(events)["invoice_tax_number"] == "无"
    events, _ = run(form, tracker(text="电子发票", intent="invoice", slots={"requested_slot": "invoice_kind"},
                                  active_loop="invoice_form"))
    assert slot_values(events)["invoice_kind"] == "electronic"
    slots = {"order_number": BOTTLE_20, "invoice_title": "上海某某科技有限公司", "invoice_tax_number": "91310000MA1K000000",
             "invoice_kind": "paper"}
    _, messages = run(ActionRecordInvoice(), tracker(intent="invoice", slots=slots))
    assert "纸质发票" in texts(messages)[0]
    with session_scope(db_url) as session:
        request = session.execute(select(InvoiceRequest).order_by(InvoiceRequest.id.desc())).scalars().first()
        assert (request.title, request.tax_number, request.kind) == ("上海某某科技有限公司", "91310000MA1K000000", "paper")


def test_quote_form_reads_amounts_and_rejects_junk(db_url):
    form = ValidateQuoteForm()
    asked = {"requested_slot": "return_shipping_quote"}
    events, _ = run(form, tracker(text="15元", intent="provide_order_number", slots=asked,
                                  entities=[{"entity": "amount", "value": 1500}], active_loop="quote_form"))
    assert slot_values(events)["return_shipping_quote"] == "15.00"
    events, messages = run(form, tracker(text="不知道呢", intent="out_of_scope", slots=asked, active_loop="quote_form"))
    assert slot_values(events)["return_shipping_quote"] is None and "金额" in texts(messages)[0]


def test_two_fallbacks_in_a_row_hand_off(db_url):
    fallback = {"event": "user", "text": "asdf", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    first = tracker(text="qwer", intent="nlu_fallback")
    first.events[-1]["parse_data"]["intent"]["name"] = "nlu_fallback"
    events, messages = run(ActionDefaultFallback(), first)
    assert any(isinstance(e, dict) and e.get("event") == "rewind" for e in events)
    assert "没太明白" in texts(messages)[0] or "没看懂" in texts(messages)[0]
    second = tracker(text="zxcv", intent="nlu_fallback", events=[fallback])
    events, messages = run(ActionDefaultFallback(), second)
    assert slot_values(events)["handoff"] is True
    assert consecutive_fallbacks([fallback, {"event": "user", "parse_data": {"intent": {"name": "greet"}}}]) == 0


def test_test_clock_is_honoured_only_when_enabled(db_url, monkeypatch):
    track = tracker(metadata={"now": "2024-06-03T10:00:00+08:00"})
    monkeypatch.delenv("AFTERSALES_TEST_CLOCK", raising=False)
    assert dialogue.message_now(track).year != 2024
    monkeypatch.setenv("AFTERSALES_TEST_CLOCK", "1")
    assert dialogue.message_now(track).isoformat() == "2024-06-03T10:00:00+08:00"
