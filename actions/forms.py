"""Form validators: where a slot's value comes from and whether it is acceptable.

Each `extract_<slot>` returns {} when the message is not an answer (a side question, a greeting, 转人工):
the form then rejects the turn and the rules for digressions and hand-offs take over. An answer that is
wrong gets a clear re-ask instead.

"Did the buyer answer?" is decided in one place for every form (`answered` and `ShopFormValidation`):
  * an extractor reads the latest message only while the form asks for that slot (`answered`), and
    side questions, greetings and 转人工 in words are never taken as the answer;
  * a slot reset to None by an action (action_start_case clearing the previous problem, the action that
    opens a form) reaches rasa_sdk's validation like a value; it is no answer, so no validate_<slot> sees
    it: no "text is no photo" scolding, no failure counted, no "金额看不懂" re-ask.
"""
from __future__ import annotations

import abc
import functools
import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker, utils
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import dialogue as d
from bot.money import fen_to_yuan
from bot.scripts import DOMAIN_PATH
from bot.service import DatabaseUnavailable

MAX_ORDER_FAILURES = 2
TAX_NUMBER = re.compile(r"[0-9A-Z]{15,20}")
NO_TAX_NUMBER = ("无", "没有", "个人", "不需要", "不用")
# A return shipping quote above this is a typo, not a courier's price (yuan -> fen).
MAX_PLAUSIBLE_QUOTE_FEN = 500_00


# 转人工 / 投诉 in words: a message read as request_human without them (个人 as an invoice title) is an answer.
HUMAN_WORDS = ("人工", "客服", "真人", "投诉", "主管", "经理", "转接")
# A current price above this is a typo, not a shop's price (fen).
MAX_PLAUSIBLE_PRICE_FEN = 1_000_000_00


def answered(tracker: Tracker, slot: str) -> bool:
    """Is the latest message the buyer's answer to the form's question for `slot`? Only while the form is
    asking for that slot (requested_slot); whether it *is* an answer (an amount, a photo, not 转人工) is
    each extractor's call. Resets are filtered by ShopFormValidation."""
    return tracker.get_slot("requested_slot") == slot


def asks_for_a_human(tracker: Tracker) -> bool:
    """转人工 / 投诉: read so by the NLU *and* said in words (the NLU also reads 个人 as request_human)."""
    return d.latest_intent(tracker) in ("request_human", "complaint_escalation") and \
        any(word in d.latest_text(tracker) for word in HUMAN_WORDS)


@functools.lru_cache(maxsize=1)
def file_domain() -> DomainDict:
    """The forms and slots of domain.yml (the file the model was trained from), parsed once per process."""
    import yaml

    with open(DOMAIN_PATH, encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle) or {}
    return {"forms": loaded.get("forms") or {}, "slots": loaded.get("slots") or {}}


class ShopFormValidation(FormValidationAction, metaclass=abc.ABCMeta):
    """rasa_sdk validation that calls validate_<slot> for answers only: a slot an action reset to None this
    turn is passed through as None, silently (see the module docstring). Abstract, so the action server
    does not register it as an action of its own."""

    @abc.abstractmethod
    def name(self) -> Text:
        ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        # The endpoints ask Rasa for selective domains (the whole domain rebuilt and sent with every call was
        # a large part of a round trip); without one, the form's slots come from domain.yml, read once.
        return await super().run(dispatcher, tracker, domain or file_domain())

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> List[EventType]:
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        slots: Dict[Text, Any] = {name: value for name, value in tracker.slots_to_validate().items()
                                  if name in required}
        for name, value in list(slots.items()):
            validate = getattr(self, f"validate_{name.replace('-', '_')}", None)
            if value is None or validate is None:
                continue  # a reset, not an answer
            output = await utils.call_potential_coroutine(validate(value, dispatcher, tracker, domain))
            if isinstance(output, dict):
                slots.update(output)
                tracker.slots.update(output)
        return [SlotSet(name, value) for name, value in slots.items()]


class ValidateOrderForm(ShopFormValidation):
    def name(self) -> Text:
        return "validate_order_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> List[Text]:
        # After two failed order numbers the form ends; action_handle_problem hands off.
        if (tracker.get_slot("order_failures") or 0) >= MAX_ORDER_FAILURES:
            return []
        return domain_slots

    async def extract_order_number(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        if not answered(tracker, "order_number"):
            return {}
        number = d.order_number_in_message(tracker)
        if number:
            return {"order_number": number}
        if d.latest_intent(tracker) == "provide_order_number" or re.search(r"\d{3,}", d.latest_text(tracker)):
            return {"order_number": "invalid"}  # looked like an answer but is no order number
        return {}

    async def validate_order_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[Text, Any]:
        number = str(value)
        if number.isdigit():
            try:
                order = d.service(tracker).find_order(tracker.sender_id, number)
            except DatabaseUnavailable:
                return {"order_number": number}  # action_handle_problem reports the outage
            if order is not None:
                return {"order_number": order.order_number, "order_failures": 0}
        failures = int(tracker.get_slot("order_failures") or 0) + 1
        if failures < MAX_ORDER_FAILURES:
            if number.isdigit():
                d.utter(dispatcher, "utter_order_not_found", order_number=number)
            else:
                d.utter(dispatcher, "utter_order_invalid")
        return {"order_number": None, "order_failures": failures}


class ValidatePhotoForm(ShopFormValidation):
    def name(self) -> Text:
        return "validate_photo_form"

    async def extract_photo(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        if not answered(tracker, "photo"):
            return {}
        refs = d.photo_refs(tracker)
        if refs:
            return {"photo": refs[0]}
        if d.latest_intent(tracker) in d.FORM_ESCAPE_INTENTS + ("deny",):
            return {}
        return {"photo": "text_only"}  # 照片已发 without an attachment: not a photo

    async def validate_photo(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[Text, Any]:
        if value == "text_only":
            d.utter(dispatcher, "utter_photo_text_only")
            return {"photo": None}
        try:
            real = d.service(tracker).real_photos(tracker.sender_id, (str(value),), tracker.sender_id)
        except DatabaseUnavailable:
            real = ()
        if not real:  # a reference to nothing this buyer uploaded: dropped, and the form asks again
            d.utter(dispatcher, "utter_photo_text_only")
            return {"photo": None}
        return {"photo": real[0]}


class ValidateQuoteForm(ShopFormValidation):
    def name(self) -> Text:
        return "validate_quote_form"

    async def extract_return_shipping_quote(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                            domain: DomainDict) -> Dict[Text, Any]:
        if not answered(tracker, "return_shipping_quote"):
            return {}
        intent = d.latest_intent(tracker)
        if intent in ("request_human", "complaint_escalation"):
            return {}
        # An amount answers the question whatever the NLU thinks of "15块" (it may look like shipping_fee).
        fen = d.amount_fen_in_message(tracker)
        if fen is not None:
            return {"return_shipping_quote": fen_to_yuan(fen)}
        if intent in d.FORM_ESCAPE_INTENTS + ("deny",):
            return {}
        return {"return_shipping_quote": "invalid"}

    async def validate_return_shipping_quote(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                             domain: DomainDict) -> Dict[Text, Any]:
        return _plausible_amount(value, "return_shipping_quote", MAX_PLAUSIBLE_QUOTE_FEN, "utter_quote_invalid",
                                 dispatcher)


class ValidatePriceForm(ShopFormValidation):
    """Price protection: the price the listing shows now, when the buyer's first message did not say it."""

    def name(self) -> Text:
        return "validate_price_form"

    async def extract_price_now(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        if not answered(tracker, "price_now") or asks_for_a_human(tracker):
            return {}
        fen = d.price_now_in_message(tracker)
        if fen is None and _bare_price(d.latest_text(tracker)):
            fen = d.amount_fen_in_message(tracker)  # "2199": a bare number answers "what is the price now?"
        if fen is not None:
            return {"price_now": fen_to_yuan(fen)}
        if d.latest_intent(tracker) in d.FORM_ESCAPE_INTENTS + ("deny",):
            return {}
        return {"price_now": "invalid"}

    async def validate_price_now(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        return _plausible_amount(value, "price_now", MAX_PLAUSIBLE_PRICE_FEN, "utter_price_now_invalid", dispatcher)


def _plausible_amount(value: Any, slot: Text, max_fen: int, invalid_response: Text,
                      dispatcher: CollectingDispatcher) -> Dict[Text, Any]:
    """The slot set to the amount in yuan when it is above zero and at most ``max_fen``; else re-ask."""
    fen = _quote_fen(value)
    if fen is None or fen <= 0 or fen > max_fen:
        d.utter(dispatcher, invalid_response)
        return {slot: None}
    return {slot: fen_to_yuan(fen)}


def _bare_price(text: str) -> bool:
    """One number and nothing that makes it another figure (降了30 is a drop, 2399买的 what was paid)."""
    numbers = re.findall(r"\d+(?:\.\d+)?", text)
    return len(numbers) == 1 and not any(cue in text for cue in ("降了", "便宜了", "少了", "买的", "原价", "当时"))


def _quote_fen(value: Any) -> Optional[int]:
    from bot.money import MoneyError, yuan_to_fen
    try:
        return yuan_to_fen(str(value))
    except MoneyError:
        return None


class ValidateInvoiceForm(ShopFormValidation):
    def name(self) -> Text:
        return "validate_invoice_form"

    async def extract_invoice_title(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[Text, Any]:
        # While the title is asked, the text is the title: 个人 (which the NLU reads as request_human), a
        # company name (out_of_scope?). Only 转人工 in words and side questions are not.
        if not answered(tracker, "invoice_title") or asks_for_a_human(tracker) or \
                d.latest_intent(tracker) in d.DIGRESSION_INTENTS + ("greet", "thank", "goodbye"):
            return {}
        return {"invoice_title": d.latest_text(tracker).strip()}

    async def validate_invoice_title(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> Dict[Text, Any]:
        title = str(value or "").strip().strip("“”\"'")
        if not title or len(title) > 100:
            return {"invoice_title": None}
        return {"invoice_title": title}

    async def extract_invoice_tax_number(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: DomainDict) -> Dict[Text, Any]:
        if not answered(tracker, "invoice_tax_number") or asks_for_a_human(tracker):
            return {}
        text = d.latest_text(tracker).strip().upper()
        match = TAX_NUMBER.search(text.replace(" ", ""))
        if match:
            return {"invoice_tax_number": match.group(0)}
        if any(word in text for word in NO_TAX_NUMBER):
            return {"invoice_tax_number": "无"}
        return {"invoice_tax_number": "invalid"}

    async def validate_invoice_tax_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                          domain: DomainDict) -> Dict[Text, Any]:
        if value == "invalid" or not value:
            return {"invoice_tax_number": None}
        return {"invoice_tax_number": value}

    async def extract_invoice_kind(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        if not answered(tracker, "invoice_kind"):
            return {}
        text = d.latest_text(tracker)
        if "电子" in text:
            return {"invoice_kind": "electronic"}
        if "纸" in text:
            return {"invoice_kind": "paper"}
        return {}
