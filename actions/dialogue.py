"""Shared pieces of the Rasa actions: reading the tracker, calling bot.service, turning results into
messages and slot events. Thin on purpose: every decision about money is in bot.policy via bot.service.
"""
from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from datetime import datetime
from typing import Any, Iterable, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.clock import now_cn, parse_time
from bot.money import fen_to_display, yuan_to_fen
from bot.scripts import describe_parts, display_time, reply_variables
from bot.service import (
    AfterSalesService,
    Assessment,
    CaseInputs,
    DatabaseUnavailable,
    defect_from_text,
    price_now_from_text,
    reason_from_text,
    usable_from_text,
)
from bot.policy.types import AFTER_SALES_INTENTS

logger = logging.getLogger(__name__)

TEST_CLOCK_ENV = "AFTERSALES_TEST_CLOCK"
ORDER_DIGITS = re.compile(r"(?<!\d)\d{6,24}(?!\d)")
# Side questions answered inside a form without leaving it.
DIGRESSION_INTENTS = ("shipping_fee", "refund_status", "delivery_status")
# Intents a form must not swallow as its answer (they have rules of their own).
FORM_ESCAPE_INTENTS = DIGRESSION_INTENTS + ("greet", "thank", "goodbye", "request_human", "complaint_escalation")
# Needs the dialogue collects with a form; any other need goes to a human.
FORM_NEEDS = ("photo", "return_shipping_quote", "price_now")
ALWAYS_HUMAN_INTENTS = ("counterfeit",)
# Parcel questions: information steps right after the current one (晚必赔) are said in the same reply, and a
# refusal skips them (they were said already).
SAY_FOLLOWING_GUIDANCE_INTENTS = ("delivery_status", "not_received")
# How the NLU reads a buyer turning down a compensation offer or a re-send in words (我要退货, 不要补偿，我要退款,
# 5块钱太少了): data/rules.yml sends these to action_refuse_offer while ladder_offer is set.
LADDER_REFUSAL_INTENTS = ("no_reason_return", "request_compensation", "cancel_order", "refund_status")
RETURN_REQUEST_INTENTS = ("no_reason_return", "cancel_order", "refund_status")

# Test mode only (AFTERSALES_TEST_CLOCK=1): message metadata {"aftersales_test_db": URL} points this
# conversation at its own database, so concurrent conversation tests never see each other's orders.
TEST_DB_METADATA_KEY = "aftersales_test_db"
MAX_TEST_SERVICES = 64

_service: Optional[AfterSalesService] = None
_test_services: "OrderedDict[str, AfterSalesService]" = OrderedDict()


def test_mode() -> bool:
    return os.environ.get(TEST_CLOCK_ENV) == "1"


def service(tracker: Optional[Tracker] = None) -> AfterSalesService:
    """One service per action-server process (the DB engine and the rule pack are cached inside).
    In test mode a conversation whose messages carry a test database URL gets a service on that database."""
    global _service
    test_db = _test_db_url(tracker) if tracker is not None and test_mode() else None
    if test_db:
        return _test_service(test_db)
    if _service is None:
        _service = AfterSalesService()
    return _service


def _test_db_url(tracker: Tracker) -> Optional[str]:
    value = (tracker.latest_message.get("metadata") or {}).get(TEST_DB_METADATA_KEY)
    if value:
        return str(value)
    for event in reversed(tracker.events):
        if event.get("event") == "user" and (event.get("metadata") or {}).get(TEST_DB_METADATA_KEY):
            return str(event["metadata"][TEST_DB_METADATA_KEY])
    return None


def _test_service(db_url: str) -> AfterSalesService:
    """A small LRU of services (a test run opens one database per conversation). SQLAlchemy 1.4 opens SQLite
    files without a pool (NullPool), so a dropped service holds no connection."""
    if db_url in _test_services:
        _test_services.move_to_end(db_url)
        return _test_services[db_url]
    _test_services[db_url] = AfterSalesService(db_url)
    while len(_test_services) > MAX_TEST_SERVICES:
        _test_services.popitem(last=False)
    return _test_services[db_url]


def set_service(new_service: Optional[AfterSalesService]) -> None:
    """Tests point the actions at their own database."""
    global _service
    _service = new_service


# ---------------------------------------------------------------------- reading the tracker

def message_now(tracker: Tracker) -> datetime:
    """now_cn(); a test run (env AFTERSALES_TEST_CLOCK=1) may set the clock with metadata {"now": ISO}."""
    if test_mode():
        value = (tracker.latest_message.get("metadata") or {}).get("now") or _earlier_metadata_now(tracker)
        if value:
            return parse_time(value)
    return now_cn()


def _earlier_metadata_now(tracker: Tracker) -> Optional[str]:
    for event in reversed(tracker.events):
        if event.get("event") == "user" and (event.get("metadata") or {}).get("now"):
            return event["metadata"]["now"]
    return None


def latest_intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def latest_text(tracker: Tracker) -> str:
    """What the buyer wrote. After a tap on a 猜你想问 button (a ``/intent`` payload), the text of the
    message that was clarified, so what it said (还能用, 现在只卖15) still counts as if it had been understood."""
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/"):
        return clarified_text(tracker.events) or text
    return text


def clarified_text(events: list[dict[str, Any]]) -> Optional[str]:
    """The text of the not-understood message just before the latest user event, when there is one."""
    user_events = (event for event in reversed(events) if event.get("event") == "user")
    next(user_events, None)  # the latest: the tap itself
    previous = next(user_events, None)
    if previous is None:
        return None
    intent = ((previous.get("parse_data") or {}).get("intent") or {}).get("name")
    return previous.get("text") if intent == "nlu_fallback" else None


# The widget numbers each message it sends (and re-sends it with the same number after a time-out).
CLIENT_MESSAGE_ID_KEY = "client_message_id"


def message_id(tracker: Tracker) -> Optional[str]:
    """The id of the buyer message being handled: the client's own (stable across re-sends) when the
    channel passes one, else Rasa's message id."""
    latest = tracker.latest_message or {}
    client = (latest.get("metadata") or {}).get(CLIENT_MESSAGE_ID_KEY)
    if client:
        return "client:" + str(client)[:100]
    return str(latest["message_id"]) if latest.get("message_id") else None


def photo_refs(tracker: Tracker) -> tuple[str, ...]:
    """Photo attachment references of the latest message (channel metadata). Text alone is never a photo."""
    attachments = (tracker.latest_message.get("metadata") or {}).get("attachments") or []
    return tuple(str(a.get("ref") or "") for a in attachments
                 if isinstance(a, dict) and a.get("type") == "photo" and a.get("ref"))


def entity_values(tracker: Tracker, name: str) -> list[Any]:
    return [e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == name]


def order_number_in_message(tracker: Tracker) -> Optional[str]:
    """The order_number entity, else a run of 6+ digits in the text."""
    values = [str(v) for v in entity_values(tracker, "order_number") if v]
    if values:
        return values[0]
    match = ORDER_DIGITS.search(latest_text(tracker).replace(" ", ""))
    return match.group(0) if match else None


def amount_fen_in_message(tracker: Tracker) -> Optional[int]:
    """The amount entity (int fen), else the shop's own extractor, else a bare number read as yuan."""
    for value in entity_values(tracker, "amount"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    text = latest_text(tracker)
    try:
        from bot.entities import extract_entities
        for entity in extract_entities(text):
            if entity.get("entity") == "amount":
                return int(entity["value"])
    except Exception:  # the extractor is an optimisation here, never a reason to fail the turn
        logger.debug("entity extractor unavailable", exc_info=True)
    match = re.search(r"(?<![\d.])(\d{1,4}(?:\.\d{1,2})?)(?![\d.])", text)
    return yuan_to_fen(match.group(1)) if match else None


def price_now_in_message(tracker: Tracker) -> Optional[int]:
    """The current price (fen) the latest message states for price protection, else None."""
    text = latest_text(tracker)
    amounts = [e for e in tracker.latest_message.get("entities") or []
               if e.get("entity") == "amount" and e.get("start") is not None]
    try:
        return price_now_from_text(text, amounts or None)
    except Exception:  # the extractor is an optimisation, never a reason to fail the turn
        logger.debug("price extractor unavailable", exc_info=True)
        return None


def case_inputs(tracker: Tracker, **overrides: Any) -> CaseInputs:
    """The conversation's knowledge of the current problem, from slots and the latest message."""
    quote = tracker.get_slot("return_shipping_quote")
    price_now = tracker.get_slot("price_now")
    refs = photo_refs(tracker)
    slot_photo = tracker.get_slot("photo")
    if slot_photo and slot_photo not in refs:
        refs = refs + (str(slot_photo),)
    problem = tracker.get_slot("problem") or ""
    values = dict(
        conversation_id=tracker.sender_id, buyer_id=tracker.sender_id, intent=problem, now=message_now(tracker),
        order_number=tracker.get_slot("order_number"), usable=tracker.get_slot("usable"), photo_refs=refs,
        return_shipping_quote_fen=yuan_to_fen(quote) if quote else None,
        price_now_fen=yuan_to_fen(price_now) if price_now else None,
        # the defect named in the opening message: 划痕 / 气泡 pick A4 or A8; 异味 on quality_issue picks the
        # wood-smell explanation for solid wood
        defect=defect_from_text(_first_problem_text(tracker)) if problem in ("minor_defect", "quality_issue") else None,
        reason=reason_from_text(_first_problem_text(tracker)),
    )
    values.update(overrides)
    return CaseInputs(**values)


def _first_problem_text(tracker: Tracker) -> str:
    """The buyer's message that opened the current problem (it names the defect: 划痕, 气泡 ...)."""
    problem = tracker.get_slot("problem")
    for event in reversed(tracker.events):
        if event.get("event") == "user" and ((event.get("parse_data") or {}).get("intent") or {}).get("name") == problem:
            return event.get("text") or ""
    return latest_text(tracker)


def asks_to_return(tracker: Tracker) -> bool:
    """我要退货 / 不要补偿，我要退款 (read as a return intent, or as request_compensation with 退 in it): the
    buyer wants to send it back. A plain 不行 (deny) and 不退 never count."""
    intent, text = latest_intent(tracker), latest_text(tracker)
    if "不退" in text:
        return False
    return intent in RETURN_REQUEST_INTENTS or (intent == "request_compensation" and "退" in text)


def case_id_slot(tracker: Tracker) -> Optional[int]:
    value = tracker.get_slot("case_id")
    return int(value) if value not in (None, "") else None


def int_slot(tracker: Tracker, name: str) -> Optional[int]:
    value = tracker.get_slot(name)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def is_after_sales(intent: str) -> bool:
    return intent in AFTER_SALES_INTENTS


def opening_usable(text: str) -> Optional[bool]:
    return usable_from_text(text)


# ---------------------------------------------------------------------- presenting results

def utter(dispatcher: CollectingDispatcher, response: str, **variables: Any) -> None:
    dispatcher.utter_message(response=response, **variables)


def present(dispatcher: CollectingDispatcher, tracker: Tracker, assessment: Assessment,
            inputs: CaseInputs) -> list[EventType]:
    """Say what the resolution's current step says and set the slots the dialogue rules read."""
    offer, resolution = assessment.offer, assessment.resolution
    events: list[EventType] = [SlotSet("case_id", assessment.case_id), SlotSet("refusals", assessment.refusals)]
    variables = reply_variables(resolution, order=assessment.order, **_quote_variable(inputs))
    if inputs.intent in ALWAYS_HUMAN_INTENTS and assessment.needs_human:
        # Explain the rule (假一赔十, the shop's evidence) even while a photo is still missing: a human decides.
        explained = resolution.options[0] if resolution.options else offer
        utter(dispatcher, explained.script, **reply_variables(resolution, option=explained, order=assessment.order))
        return events + hand_off(dispatcher, tracker, inputs.intent, inputs, assessment.case_id, quiet=True)
    need = assessment.needs[0] if assessment.needs else None
    expired = _price_protection_deadline_passed(resolution, inputs) if inputs.intent == "price_protection" else None
    if expired is not None and (need == "price_now" or "outside_window" in resolution.flags):
        # A tagged listing past its window: a clear answer with the date, not a question about today's price
        utter(dispatcher, "utter_price_protection_expired", **{**variables, "deadline": display_time(expired)})
        return events + [SlotSet("pending_need", "none"), *no_offer()]
    lead = _guidance_before_evidence(resolution, need)
    if lead is not None:
        # e.g. a new solid-wood piece that smells: the seed's explanation first (normal, airs out in days);
        # 不行 moves on to the ladder, which then asks for its photo.
        utter(dispatcher, lead.script, **reply_variables(resolution, option=lead, order=assessment.order))
        return events + [SlotSet("pending_need", "none"),
                         SlotSet("offer_pending", grants_after_this_step(resolution)),
                         SlotSet("ladder_offer", False)]
    if need in FORM_NEEDS:
        return events + [SlotSet("pending_need", need), *no_offer()]
    if need == "problem":
        utter(dispatcher, offer.script, **variables)
        return events + [SlotSet("pending_need", "none"), *no_offer()]
    if need is not None or assessment.needs_human:
        return events + _human_needed(dispatcher, tracker, assessment, inputs, variables)
    if offer.kind == "soothe_and_wait":
        variables.update(_overdue_expected(assessment, inputs))
    utter(dispatcher, offer.script, **variables)
    if inputs.intent in ("shipping_fee", "repair_warranty", "refund_status"):
        _also_guidance(dispatcher, assessment, variables)
    if inputs.intent in SAY_FOLLOWING_GUIDANCE_INTENTS:
        for option in following_guidance(resolution):
            utter(dispatcher, option.script, **reply_variables(resolution, option=option, order=assessment.order))
    if inputs.intent == "invoice":
        return events + [SlotSet("pending_need", "invoice"), *no_offer()]
    return events + [SlotSet("pending_need", "none"),
                     SlotSet("offer_pending", assessment.acceptable or grants_after_this_step(resolution)),
                     SlotSet("ladder_offer", service(tracker).is_ladder_offer(assessment))]


def _price_protection_deadline_passed(resolution: Any, inputs: CaseInputs) -> Optional[datetime]:
    """The price-protection deadline when it has passed (the window the pack sets, counted from payment)."""
    deadline = (resolution.window or {}).get("price_protection_deadline")
    if deadline is None:
        return None
    deadline = parse_time(deadline) if not isinstance(deadline, datetime) else deadline
    return deadline if inputs.now > deadline else None


def _guidance_before_evidence(resolution: Any, need: Optional[str]) -> Optional[Any]:
    """The current step is information that needs no evidence (the wood-smell explanation) while a later
    step's evidence is missing: say the information rather than ask for a photo first."""
    options, step = resolution.options, resolution.step
    if need not in FORM_NEEDS or step >= len(options):
        return None
    option = options[step]
    if option.kind != "guidance" or option.parts or option.evidence_required or option.needs:
        return None
    return option


def grants_after_this_step(resolution: Any) -> bool:
    """Does a later step grant something (money, a re-send, a return)? Then a refusal has somewhere to go."""
    return any(option.parts for option in resolution.options[resolution.step + 1:])


def following_guidance(resolution: Any) -> list:
    """The information-only steps right after the current one, up to the next step that grants something."""
    found = []
    for option in resolution.options[resolution.step + 1:]:
        if option.parts or option.kind != "guidance":
            break
        found.append(option)
    return found


def guidance_already_said(assessment: Assessment, intent: str) -> bool:
    """After a refusal: is the new step information that was said together with the refused one?"""
    resolution, offer = assessment.resolution, assessment.offer
    if intent not in SAY_FOLLOWING_GUIDANCE_INTENTS or offer is None or resolution.step == 0:
        return False
    if offer.kind != "guidance" or offer.parts:
        return False
    return grants_after_this_step(resolution)


def _overdue_expected(assessment: Assessment, inputs: CaseInputs) -> dict[str, str]:
    """A parcel past its promised delivery time: never 预计<a time already past>送到."""
    expected = assessment.order.expected_delivery
    if expected is None:
        return {}
    if expected.tzinfo is None:
        expected = expected.replace(tzinfo=inputs.now.tzinfo)
    if expected >= inputs.now:
        return {}
    return {"expected": f"尽快（原定{display_time(expected)}，已经超时了，非常抱歉）"}


def _quote_variable(inputs: CaseInputs) -> dict[str, str]:
    fen = inputs.return_shipping_quote_fen
    return {"quote": fen_to_display(fen)} if fen is not None else {}


def _also_guidance(dispatcher: CollectingDispatcher, assessment: Assessment, variables: dict) -> None:
    """Information intents (运费谁出?) get every piece of guidance the engine found, not only the first."""
    resolution = assessment.resolution
    for option in resolution.options[resolution.step + 1:]:
        if option.parts or option.script == assessment.offer.script:
            continue
        utter(dispatcher, option.script, **reply_variables(resolution, option=option, order=assessment.order))


def _human_needed(dispatcher: CollectingDispatcher, tracker: Tracker, assessment: Assessment, inputs: CaseInputs,
                  variables: dict) -> list[EventType]:
    flags = set(assessment.resolution.flags)
    if assessment.offer.kind == "handoff":
        utter(dispatcher, "utter_last_offer_refused")
    elif "outside_window" in flags:
        utter(dispatcher, "utter_outside_window", **variables)
    elif assessment.offer.kind not in ("request_info", "handoff") and not assessment.offer.parts:
        utter(dispatcher, assessment.offer.script, **variables)  # e.g. signed but not received: what we check
        utter(dispatcher, "utter_handoff_human")
    else:
        utter(dispatcher, "utter_needs_review")
    reason = "beyond_last_step" if assessment.offer.kind == "handoff" else "needs_human:" + ",".join(sorted(flags))
    return hand_off(dispatcher, tracker, reason, inputs, assessment.case_id, quiet=True)


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, inputs: Optional[CaseInputs] = None,
             case_id: Optional[int] = None, quiet: bool = False,
             response: str = "utter_handoff_human") -> list[EventType]:
    """Queue the conversation for an agent. quiet=True: the caller already told the buyer."""
    events: list[EventType] = [SlotSet("handoff", True), *no_offer(), SlotSet("pending_need", None)]
    try:
        service(tracker).hand_off(tracker.sender_id, tracker.sender_id, reason[:64], inputs=inputs, case_id=case_id)
    except DatabaseUnavailable:
        logger.exception("hand-off not recorded: database unavailable")
        utter(dispatcher, "utter_db_unavailable_no_handoff")
        return events
    except Exception:  # a broken case must still reach a human
        logger.exception("hand-off with case summary failed; recording without the case")
        try:
            service(tracker).hand_off(tracker.sender_id, tracker.sender_id, reason[:64])
        except Exception:
            logger.exception("hand-off not recorded")
            utter(dispatcher, "utter_db_unavailable_no_handoff")
            return events
    if not quiet:
        utter(dispatcher, response)
    return events


def survey_question(dispatcher: CollectingDispatcher, case_id: int) -> list[EventType]:
    """满意 / 一般 / 不满意 for the case that just ended; its question is recorded (bot.service.satisfaction,
    asked once per case: AfterSalesService.accept(ask_satisfaction=True) records it with the settlement)."""
    utter(dispatcher, "utter_ask_satisfaction")
    return [SlotSet("satisfaction_case", case_id)]


def no_offer() -> list[EventType]:
    """Nothing on the table any more: clear both flags the dialogue rules read. `ladder_offer` is true only
    while a compensation-ladder step is offered (set by present()); a 7-day return's information, a new case,
    an accepted or refused-to-the-end offer and a hand-off all clear it, so 我要退货 then opens a case again."""
    return [SlotSet("offer_pending", False), SlotSet("ladder_offer", False)]


def no_offer_pending(dispatcher: CollectingDispatcher) -> list[EventType]:
    """好的 / 不行 with nothing to accept or refuse: say so and clear the flags the ladder rules watch."""
    utter(dispatcher, "utter_no_offer_pending")
    return no_offer()


def guarded(action_class):
    """Wrap an action class's run(): any error (a locked database, a broken rule pack, a bug) gives the buyer
    the "system busy, an agent will follow up" reply and a hand-off record where one can be written, instead
    of the silence of an action server answering 500."""
    run = action_class.run

    async def run_guarded(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list:
        try:
            return await run(self, dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 — the buyer must get an answer whatever failed
            logger.exception("action %s failed for %s", self.name(), tracker.sender_id)
            return system_busy(dispatcher, tracker)

    run_guarded.__wrapped__ = run
    action_class.run = run_guarded
    return action_class


def system_busy(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    utter(dispatcher, "utter_system_busy")
    events: list[EventType] = [SlotSet("handoff", True), *no_offer(), SlotSet("pending_need", None)]
    try:
        service(tracker).hand_off(tracker.sender_id, tracker.sender_id, "system_error")
    except Exception:  # noqa: BLE001 — the database may be what failed; the reply above still stands
        logger.exception("hand-off after an action error not recorded")
    return events


def database_down(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The honest reply when the order database cannot be reached, and an attempt to reach a human."""
    logger.error("order database unavailable for %s", tracker.sender_id)
    utter(dispatcher, "utter_db_unavailable")
    events = hand_off(dispatcher, tracker, "database_unavailable", quiet=True)
    return events


def granted_text(parts: Iterable[Any]) -> str:
    return describe_parts(parts)


def followup_text(parts: Iterable[Any]) -> str:
    kinds = {part.kind for part in parts}
    notes = []
    if "review_rebate" in kinds:
        notes.append("好评返现在您发布好评后发放哦。")
    if "refund" in kinds:
        notes.append("退款会按平台流程原路退回。")
    if "reship" in kinds:
        notes.append("补寄的商品发出后会把单号发给您。")
    return "".join(notes)
