"""Latency of `order lookup + resolve` against SQLite and PostgreSQL (p50 / p95 / p99, per request).

    .venv/bin/python bench/bench_store.py [--requests 1000] [--pg URL] [--sqlite PATH]

What one request does, as the action server does it for a buyer's message about an order:
  open a session -> find_order_for_buyer (items, shipments, buyer) -> case_facts -> prior_claims
  -> build the policy case (bot.service.casebuild) -> resolve with the cached rule pack -> close.
Rows per backend:
  lookup only            session + find_order_for_buyer + case_facts + prior_claims
  lookup + resolve       the whole request above
  ledger grant (replay)  grant() of an already-recorded key: the idempotent path every retry takes
  ledger grant (new)     grant() + commit of a new key
The demo shop is seeded into each database first (idempotent). PostgreSQL comes from --pg or
AFTERSALES_TEST_PG_URL (start one with scripts/start_test_postgres.sh); without either it is skipped.
One process, one thread: these are per-request latencies, not a throughput test.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import now_cn  # noqa: E402
from bot.db import migrate  # noqa: E402
from bot.db.ledger import grant  # noqa: E402
from bot.db.queries import case_facts, find_order_for_buyer, prior_claims  # noqa: E402
from bot.db.seed import ORDERS, seed_demo_shop  # noqa: E402
from bot.db.session import make_engine, session_factory, session_scope  # noqa: E402
from bot.policy import load_pack, resolve  # noqa: E402
from bot.service.casebuild import CaseInputs, policy_case  # noqa: E402

# The problem a buyer most likely has with an order in each state.
INTENT_BY_STATUS = {"signed": "damaged", "completed": "quality_issue", "shipped": "delivery_status",
                    "paid_unshipped": "late_shipment", "unpaid": "cancel_order", "closed": "refund_status"}


def percentiles(samples_ms: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return statistics.median(samples_ms), cuts[94], cuts[98]


def timed(requests: int, step: Callable[[int], None]) -> list[float]:
    samples = []
    for index in range(requests):
        started = time.perf_counter()
        step(index)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def lookup(factory, index: int) -> tuple[dict, int]:
    spec = ORDERS[index % len(ORDERS)]
    with factory() as session:
        order = find_order_for_buyer(session, spec.buyer, spec.number)
        return case_facts(order), prior_claims(session, spec.buyer)


def lookup_and_resolve(factory, pack, now, index: int) -> None:
    spec = ORDERS[index % len(ORDERS)]
    facts, claims = lookup(factory, index)
    intent = INTENT_BY_STATUS[facts["order_status"]]
    inputs = CaseInputs(conversation_id=f"bench-{index}", buyer_id=spec.buyer, intent=intent, now=now,
                        order_number=spec.number, photo_refs=("bench.jpg",))
    resolve(policy_case(facts, inputs, evidence=["photo"], refusals=index % 3, prior_claims=claims), pack)


def grant_step(factory, prefix: str, index: int) -> None:
    with factory() as session:
        grant(session, f"{prefix}-{index}", kind="compensation", amount_fen=200, rule_id="bench")
        session.commit()


def bench_backend(name: str, url: str, requests: int) -> list[tuple[str, list[float]]]:
    migrate.upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        seed_demo_shop(session)
    factory = session_factory(engine)
    pack, now = load_pack(), now_cn()
    for index in range(min(50, requests)):  # warm the pool, the pack cache and SQLAlchemy's statement cache
        lookup_and_resolve(factory, pack, now, index)
    run_id = f"bench-{os.getpid()}-{int(time.time())}"
    grant_step(factory, f"{run_id}-replay", 0)
    rows = [
        ("lookup only", timed(requests, lambda i: lookup(factory, i))),
        ("lookup + resolve", timed(requests, lambda i: lookup_and_resolve(factory, pack, now, i))),
        ("ledger grant (replay)", timed(requests, lambda i: grant_step(factory, f"{run_id}-replay", 0))),
        ("ledger grant (new)", timed(requests, lambda i: grant_step(factory, f"{run_id}-new", i))),
    ]
    engine.dispose()
    return [(f"{name:<10} {label}", samples) for label, samples in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--sqlite", help="SQLite file to use (default: a temp file)")
    parser.add_argument("--pg", default=os.environ.get("AFTERSALES_TEST_PG_URL"), help="PostgreSQL URL")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", f"sqlite:///{args.sqlite or Path(tmp) / 'bench.db'}")]
        if args.pg:
            backends.append(("postgresql", args.pg))
        else:
            print("(PostgreSQL skipped: no --pg and no AFTERSALES_TEST_PG_URL)", file=sys.stderr)
        rows = [row for name, url in backends for row in bench_backend(name, url, args.requests)]

    print(f"{args.requests} requests per row, one thread; milliseconds")
    print(f"{'backend    step':<34} {'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>8}")
    for label, samples in rows:
        p50, p95, p99 = percentiles(samples)
        print(f"{label:<34} {p50:7.2f} {p95:7.2f} {p99:7.2f} {1000 * len(samples) / sum(samples):8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
