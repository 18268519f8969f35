"""Run conversations against a running stack over Rasa's REST channel, concurrently.

Each conversation: its own database (fixtures) and sender id; every message carries metadata
{"aftersales_test_db": its database, "now": its clock, "attachments": [...]}, which the action server
honours only in test mode. After each turn the checks of that turn; after the last turn the ledger,
hand-off and invoice expectations, read from the conversation's database.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Optional
from urllib.parse import quote

import aiohttp

from bot.convtest.checks import BotTurn, Difference, check_expect, check_turn
from bot.convtest.fixtures import FixtureBuilder, Prepared, outcome
from bot.db.cases import own_uploads, record_upload
from bot.db.session import session_scope
from bot.convtest.loader import LoadedConversation
from bot.convtest.schema import Turn, resolve_time

TEST_DB_KEY = "aftersales_test_db"
REQUEST_TIMEOUT_S = 120


@dataclass
class ConversationResult:
    loaded: LoadedConversation
    difference: Optional[Difference] = None
    error: Optional[str] = None  # the run itself broke (HTTP error, fixtures), not a wrong answer
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (buyer, bot)

    @property
    def status(self) -> str:
        """PASS, FAIL, XFAIL (a known problem still there) or XPASS (a known problem gone: drop its xfail)."""
        known = self.loaded.conversation.xfail
        if self.error is not None:
            return "FAIL"
        if self.difference is not None:
            return "XFAIL" if known else "FAIL"
        return "XPASS" if known else "PASS"

    @property
    def passed(self) -> bool:
        """Nothing unexpected: PASS, XFAIL or XPASS."""
        return self.status != "FAIL"

    @property
    def name(self) -> str:
        return self.loaded.conversation.name


class StackClient:
    """The two HTTP calls a conversation needs: send a message, read the tracker."""

    def __init__(self, session: aiohttp.ClientSession, rasa_url: str):
        self.session = session
        self.rasa_url = rasa_url.rstrip("/")

    async def say(self, sender: str, text: str, metadata: dict) -> list[dict]:
        body = {"sender": sender, "message": text, "metadata": metadata}
        async with self.session.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def tracker(self, sender: str, events: bool = False) -> dict:
        """The tracker's state; with ``events``, the events since the last restart too."""
        include = "AFTER_RESTART" if events else "NONE"
        url = f"{self.rasa_url}/conversations/{quote(sender, safe='')}/tracker?include_events={include}"
        token = os.environ.get("AFTERSALES_RASA_TOKEN")  # `make run` protects Rasa's API with it
        async with self.session.get(url, params={"token": token} if token else None) as response:
            response.raise_for_status()
            return await response.json()


class Runner:
    def __init__(self, rasa_url: str, workdir: Path, concurrency: int = 4,
                 on_done: Optional[Callable[[ConversationResult], None]] = None):
        self.rasa_url = rasa_url
        self.fixtures = FixtureBuilder(workdir, run_tag=uuid.uuid4().hex[:8] + "-")
        self.concurrency = max(1, concurrency)
        self.on_done = on_done

    async def run(self, conversations: list[LoadedConversation]) -> list[ConversationResult]:
        await asyncio.to_thread(self.fixtures.template)
        gate = asyncio.Semaphore(self.concurrency)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        connector = aiohttp.TCPConnector(limit=self.concurrency * 2)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            client = StackClient(session, self.rasa_url)

            async def one(number: int, loaded: LoadedConversation) -> ConversationResult:
                async with gate:
                    result = await self.run_one(client, loaded, number)
                if self.on_done:
                    self.on_done(result)
                return result

            return list(await asyncio.gather(*(one(n, c) for n, c in enumerate(conversations))))

    async def run_one(self, client: StackClient, loaded: LoadedConversation, number: int) -> ConversationResult:
        result = ConversationResult(loaded)
        started = time.perf_counter()
        try:
            prepared = await asyncio.to_thread(self.fixtures.prepare, loaded.conversation, number)
            await self._talk(client, prepared, result)
            if result.difference is None:
                await self._check_end(client, prepared, result)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            result.error = f"the stack did not answer: {type(exc).__name__}: {exc}"
        except Exception as exc:  # a broken fixture or an unexpected answer must not stop the other conversations
            result.error = f"{type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - started
        return result

    async def _talk(self, client: StackClient, prepared: Prepared, result: ConversationResult) -> None:
        clock: Optional[datetime] = prepared.now
        previous: Optional[BotTurn] = None
        for number, turn in enumerate(result.loaded.conversation.turns, start=1):
            if turn.now:
                clock = resolve_time(turn.now, clock or datetime.now().astimezone())
            text = turn.user if turn.user is not None else press(turn, previous)
            if text is None:
                result.difference = Difference(number, f"[button] {turn.button}", f"a button containing {turn.button!r}",
                                               f"buttons {previous.button_titles if previous else []}")
                return
            metadata = message_metadata(turn, prepared, clock, number)
            await asyncio.to_thread(record_uploads, turn, prepared, metadata)
            sent = time.perf_counter()
            replies = await client.say(prepared.sender_id, text, metadata)
            result.latencies.append(time.perf_counter() - sent)
            previous = BotTurn(replies)
            if turn.intent is not None or turn.slots:
                tracker = await client.tracker(prepared.sender_id, events=turn.intent is not None)
                previous = BotTurn(replies, intent=latest_user_intent(tracker), slots=tracker.get("slots") or {})
            result.transcript.append((text, previous.text))
            result.difference = check_turn(turn, number, previous)
            if result.difference is not None:
                return

    async def _check_end(self, client: StackClient, prepared: Prepared, result: ConversationResult) -> None:
        expect = result.loaded.conversation.expect
        slots = (await client.tracker(prepared.sender_id)).get("slots") if expect.slots else None
        written = await asyncio.to_thread(outcome, prepared)
        result.difference = check_expect(expect, written, slots)


def latest_user_intent(tracker: dict) -> Optional[str]:
    """The intent NLU gave the buyer's last message, read from the tracker's events.

    Not from ``latest_message``: Rasa rebuilds a fetched tracker from its *applied* events, which fold a
    form's happy path into one step (``DialogueStateTracker.applied_events``), so with the in-memory
    tracker store a message answered inside a form (a bare order number after the order question) is
    dropped and ``latest_message`` shows the message before the form. The events list keeps every message.
    """
    for event in reversed(tracker.get("events") or []):
        if event.get("event") == "user":
            return ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return ((tracker.get("latest_message") or {}).get("intent") or {}).get("name")


def press(turn: Turn, previous: Optional[BotTurn]) -> Optional[str]:
    """The payload of the previous reply's button whose title contains turn.button (None: no such button)."""
    for reply in (previous.replies if previous else []):
        for button in reply.get("buttons") or []:
            if turn.button in str(button.get("title", "")):
                return str(button.get("payload", ""))
    return None


def record_uploads(turn: Turn, prepared: Prepared, metadata: dict) -> None:
    """Stand in for the widget's upload: the photos of this turn marked `stored` become this buyer's uploads."""
    stored = [sent["ref"] for attachment, sent in zip(turn.attachments, metadata.get("attachments") or [])
              if attachment.stored]
    if not stored:
        return
    with session_scope(prepared.db_url) as session:
        known = set(own_uploads(session, prepared.sender_id, stored))
        for ref in stored:
            if ref not in known:
                record_upload(session, ref, prepared.sender_id, conversation_id=prepared.sender_id)


def message_metadata(turn: Turn, prepared: Prepared, clock: Optional[datetime], number: int) -> dict:
    metadata: dict = {TEST_DB_KEY: prepared.db_url}
    if clock is not None:
        metadata["now"] = clock.isoformat()
    if turn.attachments:
        metadata["attachments"] = [{"type": a.type, "ref": a.ref or f"upload/convtest-{number}-{i}.jpg"}
                                   for i, a in enumerate(turn.attachments)]
    return metadata
