"""Form validators: where a slot's value comes from and whether it is acceptable.

Each `extract_<slot>` returns {} when the message is not an answer (a side question, a greeting, 转人工):
the form then rejects the turn and the rules for digressions and hand-offs take over. An answer that is
wrong gets a clear re-ask instead.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import dialogue as d
from bot.money import fen_to_yuan
from bot.service import DatabaseUnavailable

MAX_ORDER_FAILURES = 2
TAX_NUMBER = re.compile(r"[0-9A-Z]{15,20}")
NO_TAX_NUMBER = ("无", "没有", "个人", "不需要", "不用")
# A return shipping quote above this is a typo, not a courier's price (yuan -> fen).
MAX_PLAUSIBLE_QUOTE_FEN = 500_00


def _asked(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


class ValidateOrderForm(FormValidationAction):
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
        if not _asked(tracker, "order_number"):
            return {}
        number = d.order_number_in_message(tracker)
        if number:
            return {"order_number": number}
        if d.latest_intent(tracker) == "provide_order_number" or re.search(r"\d{3,}", d.latest_text(tracker)):
            return {"order_number": "invalid"}  # looked like an answer but is no order number
        return {}

    async def validate_order_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[Text, Any]:
        if value is None:
            # Not an answer: a slot reset by action_start_case (e.g. after it already counted a foreign
            # number from the opening message) reaches this validator too and must not count again.
            return {}
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


class ValidatePhotoForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_photo_form"

    async def extract_photo(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        if not _asked(tracker, "photo"):
            return {}
        refs = d.photo_refs(tracker)
        if refs:
            return {"photo": refs[0]}
        if d.latest_intent(tracker) in d.FORM_ESCAPE_INTENTS + ("deny",):
            return {}
        return {"photo": "text_only"}  # 照片已发 without an attachment: not a photo

    async def validate_photo(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[Text, Any]:
        if not value or value == "text_only":
            # Only a reply to our photo question gets the "text is no photo" re-ask. A slot reset to None by
            # the action that opens the form also reaches this validator, and must stay silent.
            if value == "text_only":
                d.utter(dispatcher, "utter_photo_text_only")
            return {"photo": None}
        return {"photo": str(value)}


class ValidateQuoteForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_quote_form"

    async def extract_return_shipping_quote(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                            domain: DomainDict) -> Dict[Text, Any]:
        if not _asked(tracker, "return_shipping_quote"):
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
        fen = _quote_fen(value)
        if fen is None or fen <= 0 or fen > MAX_PLAUSIBLE_QUOTE_FEN:
            d.utter(dispatcher, "utter_quote_invalid")
            return {"return_shipping_quote": None}
        return {"return_shipping_quote": fen_to_yuan(fen)}


def _quote_fen(value: Any) -> Optional[int]:
    from bot.money import MoneyError, yuan_to_fen
    try:
        return yuan_to_fen(str(value))
    except MoneyError:
        return None


class ValidateInvoiceForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_invoice_form"

    async def extract_invoice_title(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[Text, Any]:
        if not _asked(tracker, "invoice_title") or d.latest_intent(tracker) in ("request_human", "complaint_escalation"):
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
        if not _asked(tracker, "invoice_tax_number") or d.latest_intent(tracker) in ("request_human",
                                                                                    "complaint_escalation"):
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
        if not _asked(tracker, "invoice_kind"):
            return {}
        text = d.latest_text(tracker)
        if "电子" in text:
            return {"invoice_kind": "electronic"}
        if "纸" in text:
            return {"invoice_kind": "paper"}
        return {}
