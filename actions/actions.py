"""The Rasa custom actions: thin adapters from the tracker to bot.service and back.

Flow (data/rules.yml): an after-sales intent -> action_start_case -> order_form -> action_handle_problem,
which either asks for evidence (photo_form / quote_form), presents the current step of the policy
ladder, or hands off. 好的 -> action_accept_offer, 不行 -> action_refuse_offer.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import dialogue as d
from actions.forms import (  # noqa: F401  (the action server finds the validators through this module)
    ValidateInvoiceForm,
    ValidateOrderForm,
    ValidatePhotoForm,
    ValidatePriceForm,
    ValidateQuoteForm,
)
from bot.clarify import REREAD_MARK, clarification_buttons, refusal_of_pending_offer
from bot.money import fen_to_yuan
from bot.scripts import reply_variables
from bot.service import DatabaseUnavailable, NothingToAccept, OrderNotFound, ServiceError
from bot.service.aftersales import AlreadyCompensated
from bot.service.aftersales import RETURN_OFFER_KINDS
from bot.service.satisfaction import parse_rating_message

logger = logging.getLogger(__name__)

# Information steps one 不行 may skip past at most (they were said with the step before).
MAX_SKIPPED_STEPS = 8

# Slots that belong to one problem; a new problem starts them afresh.
CASE_SLOTS = ("case_id", "photo", "return_shipping_quote", "price_now", "invoice_title", "invoice_tax_number",
              "invoice_kind")


class ActionStartCase(Action):
    """A buyer names a problem: remember it, reset the previous problem's state, pick up the order number
    from the message (or the buyer's only order) so the order form can skip its question."""

    def name(self) -> Text:
        return "action_start_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        intent = d.latest_intent(tracker)
        events: List[EventType] = [SlotSet(slot, None) for slot in CASE_SLOTS]
        # A bare order number is another try at the same question, not a new problem: wrong numbers in a
        # row must add up to the hand-off (they used to restart the count at every number).
        failures = int(tracker.get_slot("order_failures") or 0) if intent == "provide_order_number" else 0
        events += [SlotSet("refusals", 0), SlotSet("order_failures", failures), SlotSet("pending_need", None),
                   *d.no_offer(), SlotSet("usable", d.opening_usable(d.latest_text(tracker)))]
        if d.is_after_sales(intent):
            events.append(SlotSet("problem", intent))
        if intent == "price_protection":
            # 现在只卖2199了: the current price in the opening message saves the question
            price = d.price_now_in_message(tracker)
            if price is not None:
                events.append(SlotSet("price_now", fen_to_yuan(price)))
        number = d.order_number_in_message(tracker)
        try:
            events += self._order_events(dispatcher, tracker, number, failures)
        except DatabaseUnavailable:
            # Keep the number the buyer gave; action_handle_problem reports the outage honestly.
            if number:
                events.append(SlotSet("order_number", number))
        return events

    @staticmethod
    def _order_events(dispatcher: CollectingDispatcher, tracker: Tracker, number: str | None,
                      failures: int = 0) -> List[EventType]:
        if number:
            order = d.service(tracker).find_order(tracker.sender_id, number)
            if order is None:  # unknown and someone else's order look the same
                d.utter(dispatcher, "utter_order_not_found", order_number=number)
                return [SlotSet("order_number", None), SlotSet("order_failures", failures + 1)]
            return [SlotSet("order_number", order.order_number)]
        if tracker.get_slot("order_number"):
            return []  # the order this conversation is already about
        recent = d.service(tracker).recent_orders(tracker.sender_id, limit=2)
        if len(recent) == 1:
            return [SlotSet("order_number", recent[0].order_number)]
        return []


class ActionAskOrderNumber(Action):
    """The order form's question, with the buyer's recent orders as buttons."""

    def name(self) -> Text:
        return "action_ask_order_number"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        try:
            recent = d.service(tracker).recent_orders(tracker.sender_id, limit=5)
        except DatabaseUnavailable:
            recent = []
        if not recent:
            d.utter(dispatcher, "utter_ask_order_number")
            return []
        buttons = [{"title": order.button_title,
                    "payload": f'/provide_order_number{{"order_number": "{order.order_number}"}}'}
                   for order in recent]
        dispatcher.utter_message(response="utter_ask_order_number_choose", buttons=buttons)
        return []


class ActionHandleProblem(Action):
    """Resolve the current problem for the identified order and say the current step."""

    def name(self) -> Text:
        return "action_handle_problem"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        problem = tracker.get_slot("problem")
        if not tracker.get_slot("order_number") and (tracker.get_slot("order_failures") or 0) >= 2:
            # before asking what went wrong: a buyer whose numbers keep failing needs a person either way
            return d.hand_off(dispatcher, tracker, "order_unresolved", response="utter_order_unresolved_handoff")
        if not problem:
            d.utter(dispatcher, "utter_ask_problem")
            return [SlotSet("pending_need", "none"), *d.no_offer()]
        if not tracker.get_slot("order_number"):
            d.utter(dispatcher, "utter_ask_order_number")
            return [SlotSet("pending_need", "none"), *d.no_offer()]
        inputs = d.case_inputs(tracker)
        try:
            assessment = d.service(tracker).assess(inputs, d.case_id_slot(tracker))
        except DatabaseUnavailable:
            return d.database_down(dispatcher, tracker)
        except OrderNotFound:
            d.utter(dispatcher, "utter_order_not_found", order_number=inputs.order_number)
            return [SlotSet("order_number", None), SlotSet("pending_need", "none"), *d.no_offer()]
        if problem == "refund_status":
            return self._refund_status(dispatcher, tracker, assessment, inputs)
        return d.present(dispatcher, tracker, assessment, inputs)

    @staticmethod
    def _refund_status(dispatcher, tracker, assessment, inputs) -> List[EventType]:
        """Refund progress: what the ledger holds for this order, else the engine's answer (72 h ...)."""
        try:
            records = d.service(tracker).refund_records(tracker.sender_id, assessment.order.order_number)
        except DatabaseUnavailable:
            return d.database_down(dispatcher, tracker)
        if not records:
            return d.present(dispatcher, tracker, assessment, inputs)
        lines = "；".join(f"{_KIND_NAMES.get(r['kind'], r['kind'])}{r['amount'].rstrip('0').rstrip('.')}元"
                         f"（{_STATE_NAMES.get(r['state'], r['state'])}）" for r in records)
        d.utter(dispatcher, "utter_refund_status", order_number=assessment.order.order_number, records=lines)
        return [SlotSet("case_id", assessment.case_id), SlotSet("pending_need", "none"),
                *d.no_offer()]


_KIND_NAMES = {"compensation": "赔偿", "review_rebate": "好评返现", "refund": "退款", "reship": "补寄",
               "voucher": "优惠券", "points": "积分", "shipping_subsidy": "运费补贴"}
_STATE_NAMES = {"paid": "已发放", "promised": "处理中", "cancelled": "已取消"}


class ActionAcceptOffer(Action):
    """好的: write the current offer to the ledger, once."""

    def name(self) -> Text:
        return "action_accept_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        case_id = d.case_id_slot(tracker)
        if case_id is None:
            return d.no_offer_pending(dispatcher)
        inputs = d.case_inputs(tracker)
        try:
            # the case ends here, settled by the bot: the buyer's satisfaction question is recorded with the
            # settlement (never inside a form: an offer accepted there is the form's business)
            acceptance = d.service(tracker).accept(inputs, case_id, approved_by="bot",
                                                   message_id=d.message_id(tracker),
                                                   ask_satisfaction=not tracker.active_loop_name)
        except DatabaseUnavailable:
            return d.database_down(dispatcher, tracker)
        except NothingToAccept:
            return d.no_offer_pending(dispatcher)
        except AlreadyCompensated as refused:
            # Another case already paid on this order: no money from the bot, an agent sees the history.
            logger.warning("case %s not paid by the bot: %s", case_id, refused)
            d.utter(dispatcher, "utter_order_already_compensated")
            return d.hand_off(dispatcher, tracker, "order_already_compensated", inputs, case_id, quiet=True)
        except ServiceError:
            logger.exception("accept failed for case %s", case_id)
            return d.hand_off(dispatcher, tracker, "accept_failed", inputs, case_id)
        granted = d.granted_text(acceptance.parts)
        if acceptance.already_accepted and not acceptance.resent:  # a re-sent 好的 gets the first reply again
            d.utter(dispatcher, "utter_offer_already_accepted", granted=granted)
            return [*d.no_offer(), SlotSet("pending_need", "none")]
        d.utter(dispatcher, "utter_offer_accepted", granted=granted, followup=d.followup_text(acceptance.parts))
        survey = d.survey_question(dispatcher, case_id) if acceptance.survey_id is not None else []
        return [*d.no_offer(), SlotSet("pending_need", "none"), *survey]


class ActionRefuseOffer(Action):
    """不行: the next step of the ladder (it may first ask the return shipping quote); past the last step
    a human takes over. Also 我要退货 / 不要补偿，我要退款 / 5块钱太少了 / 不用补了直接退钱吧 while a ladder step
    is offered (slot ladder_offer): the NLU reads those as no_reason_return / request_compensation /
    cancel_order / refund_status, and the rules send them here instead of opening a 7-day return."""

    def name(self) -> Text:
        return "action_refuse_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        case_id = d.case_id_slot(tracker)
        if case_id is None:
            return d.no_offer_pending(dispatcher)
        inputs = d.case_inputs(tracker)
        try:
            if d.asks_to_return(tracker):
                # 我要退货 while the step on the table already is the return with a refund: that is what the
                # buyer asks for, so say it again (好的 confirms) instead of refusing it into half price.
                current = d.service(tracker).assess(inputs, case_id)
                if current.acceptable and current.offer.kind in RETURN_OFFER_KINDS:
                    return d.present(dispatcher, tracker, current, inputs)
            message = d.message_id(tracker)
            assessment, moved = d.service(tracker).refuse(inputs, case_id, message_id=message)
            skipped = 1
            while moved and d.guidance_already_said(assessment, inputs.intent) and skipped < MAX_SKIPPED_STEPS:
                # 晚必赔 was said with the last step; each skip is its own receipt, so a re-sent 不行 skips nothing
                skipped += 1
                assessment, moved = d.service(tracker).refuse(
                    inputs, case_id, message_id=f"{message}#{skipped}" if message else None)
        except DatabaseUnavailable:
            return d.database_down(dispatcher, tracker)
        except ServiceError:
            logger.exception("refuse failed for case %s", case_id)
            return d.hand_off(dispatcher, tracker, "refuse_failed", inputs, case_id)
        if not moved:
            d.utter(dispatcher, "utter_last_offer_refused")
            return d.hand_off(dispatcher, tracker, "last_offer_refused", inputs, case_id, quiet=True)
        return d.present(dispatcher, tracker, assessment, inputs)


class ActionHandOff(Action):
    """转人工 / a complaint: queue the conversation for an agent with the case summary."""

    def name(self) -> Text:
        return "action_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        intent = d.latest_intent(tracker) or "request_human"
        case_id = d.case_id_slot(tracker)
        inputs = d.case_inputs(tracker) if tracker.get_slot("problem") else None
        response = "utter_complaint_handoff" if intent == "complaint_escalation" else "utter_handoff_human"
        return d.hand_off(dispatcher, tracker, intent, inputs, case_id, response=response)


class ActionRecordSatisfaction(Action):
    """满意 / 一般 / 不满意 tapped (/rate_satisfaction{"rating": ..., "comment"?: ..., "case"?: ...}): store the
    answer with the case asked about; the first answer stands."""

    def name(self) -> Text:
        return "action_record_satisfaction"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        message = parse_rating_message(d.latest_text(tracker))
        if message.rating is None:
            d.utter(dispatcher, "utter_default")
            return []
        case_id = message.case_id if message.case_id is not None else d.int_slot(tracker, "satisfaction_case")
        try:
            result = d.service(tracker).rate(tracker.sender_id, message.rating, message.comment, case_id=case_id)
        except DatabaseUnavailable:
            logger.error("satisfaction answer not stored: database unavailable (%s)", tracker.sender_id)
            d.utter(dispatcher, "utter_db_unavailable_no_handoff")
            return []
        if result.status == "not_asked":
            d.utter(dispatcher, "utter_satisfaction_not_asked")
        elif result.status == "already_answered":
            d.utter(dispatcher, "utter_satisfaction_already_answered")
        else:
            d.utter(dispatcher, "utter_satisfaction_sorry" if result.rating == "unsatisfied"
                    else "utter_satisfaction_thanks")
        return [SlotSet("satisfaction_case", None)]


class ActionAnswerDigression(Action):
    """A side question inside a form (运费谁出? 退款到哪了? 快递到哪了?): answer it read-only for the
    order in hand, without opening a case, and let the form continue."""

    def name(self) -> Text:
        return "action_answer_digression"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        intent = d.latest_intent(tracker)
        number = tracker.get_slot("order_number")
        if not number or intent not in d.DIGRESSION_INTENTS:
            d.utter(dispatcher, "utter_shipping_fee_general" if intent == "shipping_fee" else "utter_anything_else")
            return []
        inputs = d.case_inputs(tracker, intent=intent)
        try:
            assessment = d.service(tracker).assess(inputs, record=False)
        except (DatabaseUnavailable, OrderNotFound):
            d.utter(dispatcher, "utter_shipping_fee_general" if intent == "shipping_fee" else "utter_anything_else")
            return []
        offer = assessment.offer
        if offer is None or offer.kind in ("request_info", "handoff"):
            d.utter(dispatcher, "utter_shipping_fee_general" if intent == "shipping_fee" else "utter_anything_else")
            return []
        d.utter(dispatcher, offer.script, **reply_variables(assessment.resolution, order=assessment.order))
        return []


class ActionRecordInvoice(Action):
    """The invoice form is complete: record the request (refusing an invoice is a 6-point breach, so the
    bot never refuses; the shop issues it)."""

    def name(self) -> Text:
        return "action_record_invoice"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        title = tracker.get_slot("invoice_title") or ""
        tax = tracker.get_slot("invoice_tax_number") or ""
        tax = "" if tax == "无" else tax
        kind = tracker.get_slot("invoice_kind") or "electronic"
        number = tracker.get_slot("order_number") or ""
        try:
            d.service(tracker).record_invoice(tracker.sender_id, number, title=title, tax_number=tax, kind=kind)
        except DatabaseUnavailable:
            return d.database_down(dispatcher, tracker)
        except (OrderNotFound, ValueError):
            logger.exception("invoice request not recorded")
            return d.hand_off(dispatcher, tracker, "invoice_failed")
        d.utter(dispatcher, "utter_invoice_recorded", title=title, order_number=number,
                kind="电子发票" if kind == "electronic" else "纸质发票", tax=f"，税号{tax}" if tax else "")
        return [SlotSet("pending_need", "none")]


class ActionDefaultFallback(Action):
    """Not understood: 猜你想问, the most likely problems as buttons (bot.clarify) plus 转人工; the second
    time in a row, a human takes over. A tap continues as if the intent had been recognised."""

    def name(self) -> Text:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        reread = reread_as_refusal(tracker)
        if reread:
            return reread
        if consecutive_fallbacks(tracker.events) >= 2:
            d.utter(dispatcher, "utter_fallback_handoff")
            inputs = d.case_inputs(tracker) if tracker.get_slot("problem") else None
            return d.hand_off(dispatcher, tracker, "two_fallbacks", inputs, d.case_id_slot(tracker), quiet=True) + [
                UserUtteranceReverted()]
        message = tracker.latest_message
        buttons = clarification_buttons(message.get("intent_ranking") or [], message.get("entities") or [])
        if len(buttons) > 1:
            dispatcher.utter_message(response="utter_clarify", buttons=buttons)
        else:
            d.utter(dispatcher, "utter_default")
        return [UserUtteranceReverted()]


for _action in (ActionStartCase, ActionAskOrderNumber, ActionHandleProblem, ActionAcceptOffer, ActionRefuseOffer,
                ActionHandOff, ActionRecordSatisfaction, ActionAnswerDigression, ActionRecordInvoice, ActionDefaultFallback,
                ValidateInvoiceForm, ValidateOrderForm, ValidatePhotoForm, ValidatePriceForm, ValidateQuoteForm):
    d.guarded(_action)


def reread_as_refusal(tracker: Tracker) -> List[EventType]:
    """With an offer pending, an unsure message that is most likely a refusal is read as one (bot.clarify,
    refusal_of_pending_offer): the message is taken back and given again with that intent, as Rasa's own
    two-stage fallback does, so the rules answer it as if it had been recognised. [] when it does not apply."""
    if not tracker.get_slot("offer_pending"):
        return []
    message = tracker.latest_message or {}
    ranking = message.get("intent_ranking") or []
    intent = refusal_of_pending_offer(ranking, bool(tracker.get_slot("ladder_offer")))
    if intent is None:
        return []
    confidence = next((float(e.get("confidence") or 0.0) for e in ranking if e.get("name") == intent), 0.0)
    parse_data = {**message, "intent": {"name": intent, "confidence": confidence}}
    latest = next((e for e in reversed(tracker.events) if e.get("event") == "user"), {})
    metadata = {**(latest.get("metadata") or {}), REREAD_MARK: "pending_offer"}
    logger.info("unsure message read as %s (%.2f) because an offer is pending", intent, confidence)
    # Rasa's UserUttered event takes message_id and metadata too (the receipts of 不行 are keyed by them)
    return [UserUtteranceReverted(), ActionExecuted("action_listen"),
            {"event": "user", "timestamp": None, "text": message.get("text"), "parse_data": parse_data,
             "input_channel": latest.get("input_channel"), "message_id": latest.get("message_id"),
             "metadata": metadata}]


def consecutive_fallbacks(events: List[Dict[str, Any]]) -> int:
    """How many of the latest user messages in a row were not understood (nlu_fallback)."""
    count = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count
