"""The project's own conversation suites against the whole stack, and a wrong expectation failing clearly.

Starts the stack once (bot/convtest/stack.py, newest model or AFTERSALES_MODEL; skipped without a model).
"""
from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from bot.convtest.loader import load_paths, load_text
from bot.convtest.report import result_lines
from bot.convtest.runner import Runner
from bot.convtest.stack import StackError, demo_shop_database, newest_model, start_stack
from bot.settings import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.model]

SUITES = PROJECT_ROOT / "tests" / "conversations"


@pytest.fixture(scope="module")
def rasa_url(tmp_path_factory):
    model = newest_model()
    if model is None or not model.exists():
        pytest.skip("no trained model (run scripts/train_if_stale.sh)")
    workdir = tmp_path_factory.mktemp("convtest-stack")
    try:
        stack = start_stack(model, workdir / "stack", demo_shop_database(workdir / "base.db"))
    except StackError as exc:
        pytest.fail(str(exc))
    yield stack.rasa_url
    stack.stop()


def run(rasa_url: str, conversations, workdir: Path):
    return asyncio.run(Runner(rasa_url, workdir, concurrency=4).run(conversations))


def test_every_project_suite_passes(rasa_url, tmp_path):
    loaded = load_paths([SUITES])
    assert not loaded.errors, loaded.errors
    assert len(loaded.conversations) >= 60
    results = run(rasa_url, loaded.conversations, tmp_path)
    failures = ["\n".join(result_lines(r, verbose=True)) for r in results if not r.passed]
    assert not failures, f"{len(failures)} of {len(results)} conversations failed:\n" + "\n".join(failures)


WRONG = textwrap.dedent('''\
    conversations:
      - name: 故意写错的补偿金额
        now: "2024-06-03T10:00:00+08:00"
        buyer: {id: b_wrong_expectation, tier: 3}
        orders:
          - number: "240601000123"
            signed_at: "2024-06-02T18:00:00+08:00"
            items: [{sku: B-20, title: 玻璃瓶, price: "20.00", category: glass}]
        turns:
          - user: 瓶子收到就碎了一个角
            bot_contains: [照片]
          - user: 照片发您了
            attachments: [photo]
            bot_contains: ["50元"]
          - user: 好的
      - name: 故意写错的账本
        now: "2024-06-03T10:00:00+08:00"
        buyer: {id: b_wrong_ledger, tier: 3}
        orders:
          - number: "240601000123"
            signed_at: "2024-06-02T18:00:00+08:00"
            items: [{sku: B-20, title: 玻璃瓶, price: "20.00", category: glass}]
        turns:
          - user: 瓶子收到就碎了一个角
          - {user: 照片发您了, attachments: [photo]}
          - user: 好的
        expect:
          ledger: [{kind: compensation, amount: "5.00"}]
    ''')


def test_a_wrong_expectation_fails_with_a_clear_diff(rasa_url, tmp_path):
    loaded = load_text(WRONG, "wrong.yml")
    reply_check, ledger_check = run(rasa_url, loaded.conversations, tmp_path)
    assert not reply_check.passed and not ledger_check.passed
    reply_diff = str(reply_check.difference)
    assert reply_diff.startswith("turn 2 ('照片发您了'): expected the reply to contain '50元'"), reply_diff
    assert "the bot said:" in reply_diff and "2元" in reply_diff  # what the bot really offered
    assert len(reply_check.transcript) == 2  # stopped at the first difference: 好的 was never sent
    ledger_diff = str(ledger_check.difference)
    assert ledger_diff.startswith("after the last turn: expected ledger row {kind: compensation, amount: 5.00}")
    assert "amount: 2.00" in ledger_diff and "review_rebate" in ledger_diff, ledger_diff
