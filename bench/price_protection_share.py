"""How many real 价保 requests the live stack settles without a human (issue 18's closing figure).

Every `price_protection` message of an evaluation file is sent, as its first message, by the demo buyer
b_demo_13, whose 醒酒器 order (886600130001) is covered by 价保 and whose listing dropped by 30 yuan after
payment. The buyer then follows the bot the way a real one would, in one of two ways:
  typed:   gives the order number, then says 好的;
  tapped:  taps the 价保/补差价 button of a 猜你想问 reply, gives the order number, then says 好的.
A message counts as settled when either way ends with exactly the 30-yuan price-difference refund in the
ledger and no hand-off. The rest are counted by what the bot did with the first message.

The conversations are built in a temporary directory from the evaluation file and never written into the
repository (the evaluation messages are for measuring only); only counts are printed.

    .venv/bin/python bench/price_protection_share.py ../shared/eval/dev.jsonl [--model models/….tar.gz]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.clarify import BUTTON_TITLES  # noqa: E402
from bot.convtest.__main__ import parse_args as convtest_args, run as run_conversations  # noqa: E402
from bot.convtest.loader import load_paths  # noqa: E402
from bot.nlu_eval.eval_data import read_eval_jsonl  # noqa: E402

BUYER = {"id": "b_demo_13", "tier": 3}
ORDER = "886600130001"
EXPECTED = [{"kind": "refund", "amount": "30.00", "state": "paid", "rule": "D-price-protection"}]
TAP = BUTTON_TITLES["price_protection"]


def conversation(name: str, first_message: str, tap: bool) -> dict:
    turns = [{"user": first_message}]
    if tap:
        turns.append({"button": TAP})
    turns += [{"user": f"订单号{ORDER}"}, {"user": "好的"}]
    return {"name": name, "shop": "demo", "buyer": BUYER, "turns": turns,
            "expect": {"ledger": EXPECTED, "handoff": False}}


def first_reply_kind(transcript: list[tuple[str, str]]) -> str:
    reply = transcript[0][1] if transcript else ""
    if "差价" in reply or "30元" in reply:
        return "offered at once"
    if "哪个问题" in reply or "哪种情况" in reply:
        return "clarified (猜你想问)"
    if "订单" in reply:
        return "asked for the order"
    if "人工" in reply or "客服" in reply:
        return "handed off"
    return "another script"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_file")
    parser.add_argument("--model", help="model to serve (default: the newest in models/)")
    args = parser.parse_args(argv)
    messages = [e.text for e in read_eval_jsonl(args.eval_file) if e.intent == "price_protection"]
    if not messages:
        print("no price_protection message in the file", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pp-share-") as tmp:
        suite = Path(tmp) / "price_protection_share.yml"
        conversations = [conversation(f"{way}-{n:03d}", text, way == "tapped")
                         for n, text in enumerate(messages) for way in ("typed", "tapped")]
        suite.write_text(yaml.safe_dump({"conversations": conversations}, allow_unicode=True), encoding="utf-8")
        loaded = load_paths([str(suite)])
        if loaded.errors:
            print("\n".join(map(str, loaded.errors)), file=sys.stderr)
            return 2
        options = convtest_args([str(suite), "--quiet"] + (["--model", args.model] if args.model else []))
        (Path(tmp) / "run").mkdir()
        results = run_conversations(options, loaded.conversations, Path(tmp) / "run")
    by_message: dict[str, dict[str, object]] = {}
    for result in results:
        way, number = result.name.split("-")
        entry = by_message.setdefault(number, {})
        entry[way] = result.status == "PASS"
        if way == "typed":
            entry["first"] = first_reply_kind(result.transcript)
    settled = [n for n, e in by_message.items() if e.get("typed") or e.get("tapped")]
    typed_only = sum(1 for e in by_message.values() if e.get("typed"))
    print(f"price_protection messages in {args.eval_file}: {len(messages)}")
    print(f"settled without a human (typed or tapped): {len(settled)} ({len(settled) / len(messages):.1%}); "
          f"typed alone: {typed_only}; needed the 猜你想问 tap: {len(settled) - typed_only}")
    unsettled = Counter(str(e["first"]) for n, e in by_message.items() if n not in settled)
    for kind, count in unsettled.most_common():
        print(f"  not settled, first reply {kind}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
