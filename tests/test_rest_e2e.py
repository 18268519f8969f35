"""The whole stack over Rasa's REST channel: NLU, dialogue, the action server, the rule packs and the DB.

Starts `rasa run actions` and `rasa run --enable-api` on free ports with a temporary seeded SQLite
database and the newest trained model (models/*.tar.gz, or AFTERSALES_MODEL); skipped without a model.
Prints the p50/p95 time per buyer message (set E2E_LATENCY_JSON=path to keep the figures).
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.convtest.stack import StackError, demo_shop_database, newest_model, start_stack
from bot.db.models import LedgerEntry
from bot.db.session import dispose_engines, session_scope

pytestmark = [pytest.mark.slow, pytest.mark.model]

PHOTO = {"attachments": [{"type": "photo", "ref": "upload/e2e-bottle.jpg"}]}


class Stack:
    def __init__(self, rasa_url: str, db_url: str):
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.db_url = db_url
        self.latencies: list[float] = []

    def say(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
        body = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        request = urllib.request.Request(self.url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            replies = json.loads(response.read())
        self.latencies.append(time.perf_counter() - started)
        return replies


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The shared launcher (bot/convtest/stack.py) on a temporary demo-shop database."""
    model = newest_model()
    if model is None or not model.exists():
        pytest.skip("no trained model (run scripts/train_if_stale.sh)")
    tmp = tmp_path_factory.mktemp("e2e")
    db_url = demo_shop_database(tmp / "aftersales.db")
    try:
        servers = start_stack(model, tmp, db_url)
    except StackError as exc:
        pytest.fail(str(exc))
    try:
        running = Stack(servers.rasa_url, db_url)
        yield running
        report_latency(running.latencies)
    finally:
        servers.stop()
        dispose_engines()


def report_latency(latencies: list[float]) -> None:
    if len(latencies) < 2:
        return
    ordered = sorted(latencies)
    figures = {"messages": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 1),
               "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
               "max_ms": round(ordered[-1] * 1000, 1)}
    print(f"\nREST latency per buyer message (actions + DB in the loop): {figures}", file=sys.stderr)
    if os.environ.get("E2E_LATENCY_JSON"):
        Path(os.environ["E2E_LATENCY_JSON"]).write_text(json.dumps(figures))


def text_of(replies: list[dict]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def record_photo(db_url: str, buyer: str, metadata: dict) -> None:
    """What the widget's upload does first: only a recorded upload of this buyer counts as photo evidence."""
    from bot.db.cases import record_upload

    with session_scope(db_url) as session:
        for attachment in metadata["attachments"]:
            record_upload(session, attachment["ref"], buyer, conversation_id=buyer)


def ledger(db_url: str, buyer: str) -> list[tuple[str, int, str]]:
    with session_scope(db_url) as session:
        return [(e.kind, e.amount_fen, e.state) for e in session.execute(
            select(LedgerEntry).where(LedgerEntry.buyer_id == buyer).order_by(LedgerEntry.id)).scalars()]


def test_damaged_bottle_ends_with_2_plus_3_accepted_and_two_ledger_rows(stack):
    buyer = "b_demo_1"
    before = ledger(stack.db_url, buyer)
    reply = text_of(stack.say(buyer, "你好，瓶子收到就碎了一个角，订单886600010001"))
    assert "照片" in reply, reply
    record_photo(stack.db_url, buyer, PHOTO)
    reply = text_of(stack.say(buyer, "照片发您了", PHOTO))
    assert "2元" in reply and "3元" in reply, reply
    reply = text_of(stack.say(buyer, "好的"))
    assert "退货" not in reply, reply
    assert ledger(stack.db_url, buyer)[len(before):] == [("compensation", 200, "paid"), ("review_rebate", 300, "promised")]
    stack.say(buyer, "好的")  # said twice: nothing new
    assert len(ledger(stack.db_url, buyer)) == len(before) + 2


def test_refused_offer_with_a_15_yuan_quote_raises_compensation_but_never_above_10_yuan(stack):
    buyer, order = "b_demo_2", "886600020003"  # b_demo_2's 20.00-yuan bottle
    reply = text_of(stack.say(buyer, f"杯子碎了，订单号{order}"))
    assert "照片" in reply, reply
    photo = {"attachments": [{"type": "photo", "ref": "upload/2.jpg"}]}
    record_photo(stack.db_url, buyer, photo)
    assert "2元" in text_of(stack.say(buyer, "照片发您了", photo))
    reply = text_of(stack.say(buyer, "不行"))
    assert "快递费" in reply or "运费" in reply, reply  # the return shipping quote is asked
    reply = text_of(stack.say(buyer, "15块"))
    assert "8元" in reply, reply  # raised: 5 + 3, no review condition
    reply = text_of(stack.say(buyer, "不行"))
    assert "10元" in reply, reply  # the last step: half of 20 yuan
    stack.say(buyer, "好的")
    rows = [row for row in ledger(stack.db_url, buyer) if row[0] == "compensation"]
    assert rows and max(amount for _, amount, _ in rows) <= 1000
