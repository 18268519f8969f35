"""Random intent walks against the live stack: which dialogue policy decides, and how often nothing does.

    .venv/bin/python bench/dialogue_walk.py [--model M] [--conversations 150] [--turns 6] [--seed 1]

Each simulated buyer (their own signed order, as in bench_e2e) sends `--turns` messages chosen at random:
half of them from the after-sales turns buyers send most (好的 / 不行 / 谢谢 / damaged / leaking / 赔偿 / 退款 /
转人工), half from every intent of domain.yml, as `/intent` payloads (the NLU is not under test here) and now and
then with the buyer's order number as an entity. Afterwards it reads the stored conversations and prints, per
policy, how many actions it chose, how many turns ended in Rasa's core fallback (action_default_fallback: no
rule and no policy confident enough) and how many got no reply at all.

This is how config.yml's dialogue policies were chosen (2026-12-07): with MemoizationPolicy + RulePolicy +
TEDPolicy, RulePolicy chose all 2,785 actions of 900 turns and TED none; with RulePolicy alone the same walk
gave the same counts and no fallback. Run it after adding an intent or a rule: a fallback count above 0 is a
dead end a buyer can reach. Figures, not pass/fail.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Optional

import aiohttp
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_e2e import seed_bench_buyers  # noqa: E402
from bot.convtest.stack import newest_model, start_stack  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402

FREQUENT = ("affirm", "deny", "thank", "damaged", "leaking", "request_compensation", "request_refund",
            "human_handoff")


def domain_intents() -> list[str]:
    intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"]
    return [name if isinstance(name, str) else next(iter(name)) for name in intents]


def walk_messages(rng: random.Random, intents: list[str], order: str, turns: int) -> list[str]:
    messages = []
    for _ in range(turns):
        intent = rng.choice(FREQUENT if rng.random() < 0.5 else intents)
        entities = json.dumps({"order_number": order}) if rng.random() < 0.3 else ""
        messages.append(f"/{intent}{entities}")
    return messages


async def send_all(rasa_url: str, walks: list[tuple[str, list[str]]]) -> int:
    """Every walk's messages in order (one buyer after the other); returns how many got no reply."""
    silent = 0
    async with aiohttp.ClientSession() as session:
        for sender, messages in walks:
            for message in messages:
                async with session.post(f"{rasa_url}/webhooks/rest/webhook",
                                        json={"sender": sender, "message": message}) as response:
                    silent += not (response.status == 200 and await response.json())
    return silent


def decided_by(tracker_db: Path) -> tuple[collections.Counter, int]:
    """(actions per deciding policy, core fallbacks) from the stored events."""
    policies, fallbacks = collections.Counter(), 0
    with sqlite3.connect(str(tracker_db)) as connection:
        for (data,) in connection.execute("SELECT data FROM events WHERE type_name = 'action' ORDER BY id"):
            event = json.loads(data)
            if event.get("name") in ("action_listen", "action_session_start") and not event.get("policy"):
                continue  # Rasa's own bookkeeping after a user message, not a prediction
            policies[event.get("policy") or "(none)"] += 1
            fallbacks += event.get("name") == "action_default_fallback"
    return policies, fallbacks


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="default: AFTERSALES_MODEL or the newest models/*.tar.gz")
    parser.add_argument("--conversations", type=int, default=150)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    model = Path(args.model) if args.model else newest_model()
    if model is None or not model.exists():
        print("no trained model: run scripts/train_if_stale.sh or pass --model", file=sys.stderr)
        return 2
    rng, intents = random.Random(args.seed), domain_intents()
    with tempfile.TemporaryDirectory(prefix="dialogue-walk-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'shop.db'}"
        upgrade(db_url)
        buyers = seed_bench_buyers(db_url, args.conversations, "walk_b")
        walks = [(buyer, walk_messages(rng, intents, order, args.turns)) for buyer, order in buyers]
        stack = start_stack(model, Path(tmp) / "stack", db_url)
        try:
            silent = asyncio.run(send_all(stack.rasa_url, walks))
        finally:
            stack.stop()
        policies, fallbacks = decided_by(Path(tmp) / "stack" / "tracker.db")
    turns = args.conversations * args.turns
    print(f"model {model.name}: {args.conversations} walks x {args.turns} turns = {turns} buyer messages")
    for policy, count in policies.most_common():
        print(f"  {policy:<40} {count:>6} actions chosen")
    print(f"  core fallback (action_default_fallback): {fallbacks}; messages without any reply: {silent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
