"""The agent's side: the console page and the copilot JSON API (bearer-token auth, see bot.web.auth).

A message from an agent is a `bot` tracker event with metadata {"agent_id", "message_key"}: it lands in the
tracker store with the rest of the conversation and the open widget picks it up on its next poll.
Take-over appends Rasa's `pause` event (the bot stays silent, buyer messages are still recorded);
hand-back appends `resume` and clears the `handoff` slot.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any, Optional

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, file, json
from sqlalchemy import select

from bot.clock import now_cn
from bot.copilot import ConversationContext, CopilotError, quote_fen
from bot.db import cases as db_cases
from bot.db.corrections import CorrectionRejected, record_correction
from bot.db.models import AfterSalesCase, Handoff
from bot.db.session import DatabaseUnavailable, session_scope
from bot.intents import ALL_INTENTS
from bot.policy.loader import load_pack
from bot.service import satisfaction
from bot.service.deadlines import handoff_deadline, queue_state
from bot.service.summary import INTENT_NAMES
from bot.web.limits import MAX_TEXT_CHARS
from bot.web import transcript
from bot.web.auth import require_agent
from bot.web.rasa_client import RasaUnavailable

MAX_DRAFT_CHARS = 2000
LIVE_WINDOW = timedelta(hours=24)
agent_bp = Blueprint("agent")

# Raw-message suggestions: what one call may ask the parser to read.
MAX_RAW_MESSAGES = 50


async def in_thread(request: Request, function, *args):
    """Database work runs in the default thread pool so the event loop keeps serving other requests."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def _error(message: str, status: int) -> HTTPResponse:
    return json({"error": message}, status=status)


@agent_bp.get("/console")
async def console_page(request: Request) -> HTTPResponse:
    return await file(request.app.ctx.static_dir / "console.html", mime_type="text/html; charset=utf-8")


# ---------------------------------------------------------------------- conversation list

@agent_bp.get("/api/agent/conversations")
@require_agent
async def conversations(request: Request) -> HTTPResponse:
    """Waiting for an agent first (oldest first), then taken by an agent, then the bot's live ones; and
    `pack_rejected`, the console's banner: the rule pack's loader message while the shop's last edit is
    rejected and the last good pack serves ("" otherwise)."""
    recent = dict(request.app.ctx.recent)
    listing = await in_thread(request, list_conversations, request.app.ctx.db_url, recent)
    listing["pack_rejected"] = await in_thread(request, request.app.ctx.copilot.pack_rejected)
    return json(listing)


def list_conversations(db_url: Optional[str], recent: dict[str, float]) -> dict[str, list[dict]]:
    with session_scope(db_url) as session:
        handoffs = list(session.execute(select(Handoff).where(Handoff.status != "closed")
                                        .order_by(Handoff.created_at, Handoff.id)).scalars())
        now = now_cn()
        since = now - LIVE_WINDOW
        cases = list(session.execute(select(AfterSalesCase).where(AfterSalesCase.updated_at >= since,
                                                                  AfterSalesCase.conversation_id.isnot(None))
                                     .order_by(AfterSalesCase.updated_at.desc())).scalars())
        seen: set[str] = set()
        waiting, taken = [], []
        for handoff in handoffs:
            if handoff.conversation_id in seen:
                continue
            seen.add(handoff.conversation_id)
            row = {"conversation_id": handoff.conversation_id, "handoff_id": handoff.id, "status": handoff.status,
                   "reason": handoff.reason, "summary": handoff.summary, "agent_id": handoff.agent_id,
                   "since": handoff.created_at.isoformat() if handoff.created_at else None}
            row.update(_deadline_row(handoff, now))
            (waiting if handoff.status == "waiting" else taken).append(row)
        # the platform's deadlines decide the order: overdue first, then the least time left; none last
        waiting.sort(key=lambda r: (r["deadline"] is None, r["seconds_left"] if r["seconds_left"] is not None else 0))
        live = []
        for case in cases:
            if case.conversation_id in seen:
                continue
            seen.add(case.conversation_id)
            live.append({"conversation_id": case.conversation_id, "status": "bot", "case_id": case.id,
                         "summary": f"{INTENT_NAMES.get(case.intent, case.intent)}（{case.status}）",
                         "since": case.updated_at.isoformat() if case.updated_at else None})
        for conversation_id, at in sorted(recent.items(), key=lambda item: -item[1]):
            if conversation_id not in seen and time.time() - at < LIVE_WINDOW.total_seconds():
                seen.add(conversation_id)
                live.append({"conversation_id": conversation_id, "status": "bot", "summary": "", "since": None})
    return {"waiting": waiting, "taken": taken, "live": live}


def _deadline_row(handoff: Handoff, now) -> dict[str, Any]:
    """The hand-off's deadline (stored when it was queued; an older row gets it from the pack now)."""
    due, kind = handoff.deadline_at, handoff.deadline_kind
    if due is None and handoff.created_at is not None:
        intent = handoff.case.intent if handoff.case is not None else None
        computed = handoff_deadline(load_pack(), intent, handoff.reason or "", handoff.created_at)
        if computed is not None:
            due, kind = computed.due_at, computed.kind
    state = queue_state(due, now, kind)
    state.update(deadline_kind=kind, deadline_label=DEADLINE_LABELS.get(kind or "", ""))
    return state


# what each deadline is for (its hours come from the rule pack, see bot.service.deadlines)
DEADLINE_LABELS = {"question": "咨询（工作日计时）", "complaint": "投诉", "return_request": "退换货",
                   "refund_dispute": "退款（超时买家可申请平台介入）"}


@agent_bp.get("/api/agent/conversations/<conversation_id>")
@require_agent
async def conversation(request: Request, conversation_id: str) -> HTTPResponse:
    try:
        tracker = await request.app.ctx.rasa.tracker(conversation_id)
    except RasaUnavailable as exc:
        return _error(str(exc), 503)
    events = tracker.get("events") or []
    return json({"conversation_id": conversation_id, "messages": transcript.messages(tracker,
                                                                                     _int(request.args.get("after"))),
                 "last_seq": len(events) - 1, "paused": transcript.is_paused(tracker),
                 "slots": {k: v for k, v in (tracker.get("slots") or {}).items()
                           if k in ("problem", "order_number", "case_id", "handoff", "offer_pending")}})


# ---------------------------------------------------------------------- suggestions

class Stages:
    """Wall time per stage of one request, sent as a Server-Timing header (the JSON body stays as it is):
    `tracker;dur=3.1, parse;dur=8.0, copilot;dur=6.2, db;dur=3.0, …` — the browser's network panel and
    bench/bench_copilot.py read it."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    async def timed(self, name: str, awaitable):
        started = time.perf_counter()
        try:
            return await awaitable
        finally:
            self.add(name, time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        self.ms[name] = self.ms.get(name, 0.0) + seconds * 1000

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.1f}" for name, ms in self.ms.items())


@agent_bp.get("/api/copilot/suggest")
@require_agent
async def suggest_for_conversation(request: Request) -> HTTPResponse:
    """One tracker read; the latest buyer message's NLU comes from the parse_data Rasa stored with it, and
    /model/parse is asked only when the tracker has none for that text (e.g. a button's display title)."""
    started, stages = time.perf_counter(), Stages()
    conversation_id = request.args.get("conversation_id") or ""
    if not conversation_id:
        return _error("conversation_id is required (or POST raw messages)", 400)
    try:
        tracker = await stages.timed("tracker", request.app.ctx.rasa.tracker(conversation_id))
    except RasaUnavailable as exc:
        return _error(str(exc), 503)
    texts = transcript.buyer_texts(tracker)
    parse = transcript.stored_parse(tracker) if texts else {}
    if texts and not parse:
        parse = await stages.timed("parse", _parse(request, texts[-1]))
    parse = parse or transcript.latest_parse(tracker)
    context = context_from_tracker(conversation_id, tracker, parse, texts)
    return await _suggest(request, context, started, stages)


@agent_bp.post("/api/copilot/suggest")
@require_agent
async def suggest_for_messages(request: Request) -> HTTPResponse:
    """Raw mode: {"messages": ["..."], "order_number": "...", "buyer_id"?: "..."} (e.g. from another channel).
    The messages are parsed concurrently (a repeated text once) while the copilot reads the order and the
    buyer's claims; it waits for the parses only where it needs them."""
    started, stages = time.perf_counter(), Stages()
    body = request.json or {}
    texts = tuple(str(m) for m in body.get("messages") or [] if str(m).strip())
    if len(texts) > MAX_RAW_MESSAGES or any(len(text) > MAX_TEXT_CHARS for text in texts):
        return _error(f"messages: at most {MAX_RAW_MESSAGES}, each at most {MAX_TEXT_CHARS} characters", 413)
    if not texts:
        return _error("messages: a non-empty list of the buyer's messages", 400)
    unique = list(dict.fromkeys(texts))
    parsing = asyncio.ensure_future(stages.timed("parse", asyncio.gather(*(_parse(request, text) for text in unique))))
    parsed = thread_future(parsing)
    context = ConversationContext(buyer_messages=texts, buyer_id=body.get("buyer_id") or None,
                                  order_number=str(body["order_number"]) if body.get("order_number") else None)

    def with_parses() -> ConversationContext:  # called from the copilot's thread
        by_text = dict(zip(unique, parsed.result()))
        parses = [by_text[text] for text in texts]
        return replace(context, parse=parses[-1], parses=tuple(parses[:-1]))

    try:
        return await _suggest(request, context, started, stages, nlu=with_parses)
    finally:
        parsing.cancel()  # a no-op once done; else the copilot answered without it (e.g. no such order)


def thread_future(task: asyncio.Future) -> concurrent.futures.Future:
    """A future a worker thread can block on for the result of a task running on the event loop."""
    bridge: concurrent.futures.Future = concurrent.futures.Future()

    def copy(done: asyncio.Future) -> None:
        if done.cancelled():
            bridge.cancel()
        elif done.exception() is not None:
            bridge.set_exception(done.exception())
        else:
            bridge.set_result(done.result())

    task.add_done_callback(copy)
    return bridge


async def _parse(request: Request, text: str) -> dict:
    """The Rasa server's NLU for one message; {} when it cannot answer (the copilot still shows the rest)."""
    try:
        return await request.app.ctx.rasa.parse(text)
    except RasaUnavailable:
        return {}


async def _suggest(request: Request, context: ConversationContext, started: float,
                   stages: Optional[Stages] = None, nlu=None) -> HTTPResponse:
    stages = stages or Stages()
    inner: dict[str, float] = {}
    submitted, finished = time.perf_counter(), [0.0]

    def run() -> dict:
        inner["queued"] = time.perf_counter() - submitted  # waiting for a pool thread to start
        try:
            return request.app.ctx.copilot.suggest(context, inner, nlu=nlu)
        finally:
            finished[0] = time.perf_counter()

    try:
        suggestion = await stages.timed("copilot", in_thread(request, run))
    except CopilotError as exc:
        return _error(str(exc), 404)
    except DatabaseUnavailable as exc:
        return _error(f"order database unavailable: {exc}", 503)
    inner["resumed"] = time.perf_counter() - finished[0]  # the event loop picking the result up
    for name, seconds in inner.items():
        stages.add(name, seconds)
    suggestion["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return json(suggestion, headers={"Server-Timing": stages.header()})


def context_from_tracker(conversation_id: str, tracker: dict, parse: dict,
                         texts: tuple[str, ...]) -> ConversationContext:
    slots = tracker.get("slots") or {}
    case_id = slots.get("case_id")
    refs = transcript.photo_refs(tracker)
    if slots.get("photo") and slots["photo"] not in refs:
        refs += (str(slots["photo"]),)
    return ConversationContext(
        buyer_messages=texts, parse=parse, conversation_id=conversation_id, buyer_id=conversation_id,
        problem=slots.get("problem") or None, order_number=slots.get("order_number") or None,
        case_id=int(case_id) if case_id not in (None, "") else None, usable=slots.get("usable"),
        return_shipping_quote_fen=quote_fen(slots.get("return_shipping_quote")), photo_refs=refs,
        price_claimed_fen=quote_fen(slots.get("price_now")))


# ---------------------------------------------------------------------- acting

async def deliver(request: Request, conversation_id: str, text: str, key: str) -> bool:
    """Send an agent's message to the buyer once per key (checked against the tracker, under a lock per
    conversation so two retries racing in this process cannot both append). True when it was sent now."""
    locks = request.app.ctx.locks
    lock = locks.setdefault(conversation_id, asyncio.Lock())
    async with lock:
        tracker = await request.app.ctx.rasa.tracker(conversation_id)
        if transcript.has_message_key(tracker, key):
            return False
        await request.app.ctx.rasa.append_events(conversation_id, [{
            "event": "bot", "text": text, "timestamp": time.time(),
            "metadata": {"agent_id": request.ctx.agent_id, "message_key": key}}])
        return True


def _draft_text(body: dict) -> str:
    return str(body.get("text") or "").strip()[:MAX_DRAFT_CHARS]


@agent_bp.post("/api/copilot/approve")
@require_agent
async def approve(request: Request) -> HTTPResponse:
    """{"conversation_id", "case_id", "option_index", "text", "idempotency_key"?}: grant the option (ledger rows
    approved_by agent:<id>, once per part) and send the draft, edited or not, to the buyer once."""
    body = request.json or {}
    conversation_id, text = str(body.get("conversation_id") or ""), _draft_text(body)
    if not conversation_id or not text or body.get("case_id") in (None, "") or body.get("option_index") is None:
        return _error("conversation_id, case_id, option_index and text are required", 400)
    case_id, option_index = _int(body["case_id"]), _int(body["option_index"])
    try:
        tracker = await request.app.ctx.rasa.tracker(conversation_id)
    except RasaUnavailable as exc:
        return _error(str(exc), 503)
    context = context_from_tracker(conversation_id, tracker, {}, transcript.buyer_texts(tracker))
    if context.case_id is not None and context.case_id != case_id:
        return _error(f"case {case_id} is not this conversation's case", 409)
    try:
        grant = await in_thread(request, lambda: request.app.ctx.copilot.approve(
            case_id=case_id, option_index=option_index, agent_id=request.ctx.agent_id,
            buyer_messages=context.buyer_messages, photo_refs=context.photo_refs, usable=context.usable,
            return_shipping_quote_fen=context.return_shipping_quote_fen))
    except CopilotError as exc:
        return _error(str(exc), 409)
    except DatabaseUnavailable as exc:
        return _error(f"order database unavailable: {exc}", 503)
    key = str(body.get("idempotency_key") or f"approve:{case_id}:{option_index}")
    try:
        sent = await deliver(request, conversation_id, text, key)
    except RasaUnavailable as exc:
        # The grant stands; a retry with the same key sends the message and writes nothing new.
        return json({"grant": grant, "sent": False, "error": str(exc)}, status=502)
    return json({"grant": grant, "sent": sent, "message_key": key})


@agent_bp.post("/api/agent/conversations/<conversation_id>/send")
@require_agent
async def send_message(request: Request, conversation_id: str) -> HTTPResponse:
    body = request.json or {}
    text = _draft_text(body)
    if not text:
        return _error("text is required", 400)
    key = str(body.get("idempotency_key") or f"msg:{time.time_ns()}")
    try:
        sent = await deliver(request, conversation_id, text, key)
    except RasaUnavailable as exc:
        return _error(str(exc), 502)
    return json({"sent": sent, "message_key": key})


@agent_bp.post("/api/agent/conversations/<conversation_id>/takeover")
@require_agent
async def take_over(request: Request, conversation_id: str) -> HTTPResponse:
    """The agent answers from now on: the bot is paused for this conversation and the hand-off is taken."""
    try:
        handoff = await in_thread(request, _take_handoff, request.app.ctx.db_url, conversation_id,
                                  request.ctx.agent_id)
    except db_cases.HandoffError as exc:
        return _error(str(exc), 409)
    try:
        tracker = await request.app.ctx.rasa.tracker(conversation_id)
        if not transcript.is_paused(tracker):
            await request.app.ctx.rasa.append_events(conversation_id, [{"event": "pause", "timestamp": time.time()}])
    except RasaUnavailable as exc:
        return _error(str(exc), 502)
    return json({"paused": True, "handoff": handoff})


@agent_bp.post("/api/agent/conversations/<conversation_id>/handback")
@require_agent
async def hand_back(request: Request, conversation_id: str) -> HTTPResponse:
    """The bot answers again: resume, clear the `handoff` slot, close the hand-off."""
    await in_thread(request, _close_handoffs, request.app.ctx.db_url, conversation_id)
    try:
        await request.app.ctx.rasa.append_events(conversation_id, [
            {"event": "resume", "timestamp": time.time()},
            {"event": "slot", "name": "handoff", "value": False, "timestamp": time.time()}])
    except RasaUnavailable as exc:
        return _error(str(exc), 502)
    return json({"paused": False})


@agent_bp.post("/api/agent/conversations/<conversation_id>/resolve")
@require_agent
async def resolve(request: Request, conversation_id: str) -> HTTPResponse:
    """结案: {"case_id"?, "resolution_kind"?}. The agent ends the conversation's case: its hand-offs close, the
    bot answers again, and the buyer is asked once how satisfied they are (满意 / 一般 / 不满意 buttons that name
    the case). Refused (409, nothing changed) while the bot has an offer pending or a form open: the buyer is
    in the middle of a negotiation."""
    body = request.json or {}
    case_id = _int(body["case_id"]) if body.get("case_id") not in (None, "") else None
    kind = str(body["resolution_kind"])[:40] if body.get("resolution_kind") else None
    try:
        tracker = await request.app.ctx.rasa.tracker(conversation_id)
    except RasaUnavailable as exc:
        return _error(str(exc), 503)
    busy = mid_negotiation(tracker)
    if busy:
        return _error(f"the buyer is in the middle of a negotiation ({busy}); finish it first", 409)
    try:
        done = await in_thread(request, _resolve_case, request.app.ctx.db_url, conversation_id,
                               request.ctx.agent_id, case_id, kind)
    except satisfaction.NoCaseToResolve as exc:
        return _error(str(exc), 404)
    except DatabaseUnavailable as exc:
        return _error(f"order database unavailable: {exc}", 503)
    now = time.time()
    events: list[dict[str, Any]] = []
    if transcript.is_paused(tracker):
        events.append({"event": "resume", "timestamp": now})
    events.append({"event": "slot", "name": "handoff", "value": False, "timestamp": now})
    if done.survey_id is not None:
        events += [{"event": "slot", "name": "satisfaction_case", "value": done.case_id, "timestamp": now},
                   {"event": "bot", "text": satisfaction.SURVEY_TEXT, "timestamp": now,
                    "data": {"buttons": satisfaction.survey_buttons(done.case_id)},
                    "metadata": {"agent_id": request.ctx.agent_id, "message_key": f"satisfaction:{done.case_id}"}}]
    try:
        await request.app.ctx.rasa.append_events(conversation_id, events)
    except RasaUnavailable as exc:
        # the case is resolved and the survey row written; the question did not reach the buyer
        return json({"case_id": done.case_id, "asked": False, "error": str(exc)}, status=502)
    return json({"case_id": done.case_id, "resolution_kind": done.resolution_kind,
                 "asked": done.survey_id is not None, "paused": False})


def mid_negotiation(tracker: dict) -> str:
    """Why the buyer must not be interrupted now ("" when they may): a form open or an offer pending."""
    loop = (tracker.get("active_loop") or {}).get("name")
    if loop:
        return f"form {loop} open"
    if (tracker.get("slots") or {}).get("offer_pending"):
        return "an offer is pending"
    return ""


def _resolve_case(db_url: Optional[str], conversation_id: str, agent_id: str, case_id: Optional[int],
                  kind: Optional[str]) -> satisfaction.AgentResolution:
    with session_scope(db_url) as session:
        return satisfaction.resolve_by_agent(session, conversation_id, agent_id, case_id=case_id,
                                             resolution_kind=kind)


def _take_handoff(db_url: Optional[str], conversation_id: str, agent_id: str) -> Optional[dict[str, Any]]:
    with session_scope(db_url) as session:
        handoff = session.execute(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                        Handoff.status != "closed")
                                  .order_by(Handoff.id.desc())).scalars().first()
        if handoff is None:  # an agent may take over a live conversation nobody handed off
            handoff = db_cases.create_handoff(session, conversation_id, "agent_takeover",
                                              f"坐席{agent_id}主动接入")
        handoff = db_cases.take_handoff(session, handoff.id, agent_id)
        return {"id": handoff.id, "status": handoff.status, "agent_id": handoff.agent_id}


def _close_handoffs(db_url: Optional[str], conversation_id: str) -> None:
    with session_scope(db_url) as session:
        for handoff in session.execute(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                             Handoff.status != "closed")).scalars():
            db_cases.close_handoff(session, handoff.id)


def _int(value: Any, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------------- the learning loop

@agent_bp.post("/api/agent/conversations/<conversation_id>/intent")
@require_agent
async def correct_intent(request: Request, conversation_id: str) -> HTTPResponse:
    """{"intent": "damaged"}: the latest buyer message of the conversation meant this intent. Stored for
    the next training (`python -m bot nlu export-corrections`); the conversation itself is not changed."""
    intent = str((request.json or {}).get("intent") or "")
    if intent not in ALL_INTENTS:
        return _error(f"unknown intent {intent!r}", 400)
    try:
        tracker = await request.app.ctx.rasa.tracker(conversation_id)
    except RasaUnavailable as exc:
        return _error(str(exc), 503)
    texts = transcript.buyer_texts(tracker)
    if not texts:
        return _error("no buyer message in this conversation", 404)
    predicted = ((transcript.stored_parse(tracker) or {}).get("intent") or {}).get("name") or ""
    try:
        await in_thread(request, _store_correction, request.app.ctx.db_url, conversation_id, texts[-1], predicted,
                        intent, request.ctx.agent_id)
    except CorrectionRejected as exc:
        return _error(str(exc), 400)
    except DatabaseUnavailable as exc:
        return _error(f"database unavailable: {exc}", 503)
    return json({"conversation_id": conversation_id, "predicted": predicted, "corrected": intent,
                 "label": INTENT_NAMES.get(intent, intent)})


def _store_correction(db_url: Optional[str], conversation_id: str, text: str, predicted: str, intent: str,
                      agent_id: str) -> None:
    with session_scope(db_url) as session:
        record_correction(session, conversation_id, text, predicted, intent, agent_id)
