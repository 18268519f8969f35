"""Resolutions per second for a mix of 1,000 varied cases, in-process.

    .venv/bin/python bench/bench_policy.py [--cases 1000] [--repeat 3] [--seed 7]

Rows, all over the same 1,000 cases (best of --repeat runs, to damp a busy machine):
  floor: dict copy          what merely touching each case costs (the lower bound of any per-case work)
  parse only                the pydantic case validation alone
  resolve (pack cached)     parse + engine, the pack loaded once: what the actions and copilot pay
  resolve + to_dict         as above plus the JSON-ready dict (what the CLI and the web API pay)
  resolve + load_pack       the pack re-read and re-validated for every case (cache off): the cost
                            the cache avoids
"""
from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.policy import load_pack, parse_case, resolve  # noqa: E402
from bot.policy.types import AFTER_SALES_INTENTS  # noqa: E402

CATEGORIES = ["glass", "glass", "cosmetics", "fresh_food", "large_appliance", "furniture", "gift", "food_opened"]
STATUSES = ["paid_unshipped", "shipped", "signed", "signed", "completed", "unpaid"]


def yuan(rng: random.Random, low: int, high: int) -> str:
    fen = rng.randint(low, high)
    return f"{fen // 100}.{fen % 100:02d}"


def make_cases(count: int, seed: int) -> List[Dict]:
    """Deterministic, varied cases: every intent, platform, status, tier, evidence and ladder step."""
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        platform = rng.choice(["tmall", "tmall", "taobao", "jd", "pdd"])
        tier = {"tmall": rng.choice(["1", "2", "3", "4", "5"]), "taobao": rng.choice(["2", "3"]),
                "jd": rng.choice(["S1", "S2", "S3"]), "pdd": None}[platform]
        items = [{"sku": f"SKU{index}-{n}", "price": yuan(rng, 300, 300_000), "qty": rng.randint(1, 3),
                  "category": rng.choice(CATEGORIES)} for n in range(rng.randint(1, 3))]
        case = {
            "intent": AFTER_SALES_INTENTS[index % len(AFTER_SALES_INTENTS)], "platform": platform,
            "now": f"2024-06-{rng.randint(3, 20):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00+08:00",
            "items": items, "usable": rng.choice([True, True, False, None]),
            "evidence": rng.choice([["photo"], ["photo"], []]), "order_status": rng.choice(STATUSES),
            "signed_at": f"2024-06-0{rng.randint(1, 9)}T10:00:00+08:00", "signed_date_only": rng.random() < 0.2,
            "paid_at": "2024-05-30T09:00:00+08:00", "buyer_tier": tier, "refusals": rng.randint(0, 3),
            "free_shipping": rng.random() < 0.5, "freight_insurance": rng.random() < 0.5,
            "prior_claims": rng.choice([0, 0, 0, 1, 3]),
        }
        if rng.random() < 0.6:
            case["return_shipping_quote"] = yuan(rng, 500, 2500)
        if len(items) > 1 and rng.random() < 0.5:
            case["faulty_items"] = [items[0]["sku"]]
        cases.append(case)
    return cases


def best_rate(work: Callable[[Dict], object], cases: List[Dict], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for case in cases:
            work(case)
        best = min(best, time.perf_counter() - start)
    return len(cases) / best


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    cases = make_cases(args.cases, args.seed)
    pack = load_pack()
    rows = [
        ("floor: dict copy", lambda c: copy.deepcopy(c)),
        ("parse only", parse_case),
        ("resolve (pack cached)", lambda c: resolve(c, pack)),
        ("resolve + to_dict", lambda c: resolve(c, pack).to_dict()),
        ("resolve + load_pack (no cache)", lambda c: resolve(c, load_pack(use_cache=False))),
    ]
    small = cases[: max(1, args.cases // 10)]  # the uncached row re-reads YAML: run it on a tenth
    print(f"{len(cases)} cases, {len({c['intent'] for c in cases})} intents, best of {args.repeat}")
    print(f"{'what':34} {'per second':>12} {'us per case':>12}")
    for name, work in rows:
        rate = best_rate(work, small if "no cache" in name else cases, args.repeat)
        print(f"{name:34} {rate:12,.0f} {1e6 / rate:12.1f}")
    outcomes: Dict[str, int] = {}
    for case in cases:
        res = resolve(case, pack)
        key = "needs_human" if res.needs_human else ("asks" if res.needs else "offers")
        outcomes[key] = outcomes.get(key, 0) + 1
    print("mix:", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
