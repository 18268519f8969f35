"""End-to-end benchmark: K simulated buyers at once over Rasa's REST channel, with the floor in the same run.

    .venv/bin/python bench/bench_e2e.py [--model M] [--levels 1,10,50] [--out reports/bench]

Starts the stack (bot/convtest/stack.py) on a fresh SQLite database with one buyer and one signed 20-yuan
bottle per simulated conversation, then for each K measures three kinds of traffic, each as K concurrent
clients of four messages:
  nlu_parse   POST /model/parse — the NLU pipeline alone (no dialogue, no actions): the first floor
  bare_reply  "你好" -> utter_greet — NLU + dialogue policies, no custom action, no database: the second floor
  e2e         the damaged-bottle conversation: order number -> photo -> 好的 (ledger written) -> 谢谢;
              every turn runs custom actions that read and write the database
Figures per kind and K: messages/s (messages / wall time), p50/p95/p99 per message, errors (HTTP errors and
replies without the expected words). Prints a table and the e2e p95 over each floor's p95; writes JSON.
Figures, not pass/fail.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import now_cn  # noqa: E402
from bot.convtest.stack import newest_model, start_stack  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import Buyer, Order, OrderItem, Shipment, Shop  # noqa: E402
from bot.db.session import session_scope  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402

PHOTO = {"attachments": [{"type": "photo", "ref": "upload/bench.jpg"}]}
# (message, metadata, a word the reply must contain; None = any non-empty reply)
E2E_TURNS = (("订单{order}的瓶子收到就碎了一个角", None, "照片"), ("照片发您了", PHOTO, "2元"),
             ("好的", None, "2元"), ("谢谢", None, None))
GREET_TURNS = (("你好", None, "亲"),) * 4
PARSE_TEXTS = ("订单{order}的瓶子收到就碎了一个角", "照片发您了", "好的", "谢谢")
DEFAULT_ROUNDS = {1: 5, 10: 2, 50: 1}  # conversations per client, so K=1 still gives 20 samples


@dataclass
class Figures:
    kind: str
    k: int
    messages: int
    errors: int
    wall_s: float
    messages_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (q in 0..100)."""
    if not ordered:
        return float("nan")
    rank = max(1, int(round(q / 100 * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]


def figures(kind: str, k: int, latencies: list[float], errors: int, wall_s: float) -> Figures:
    ordered = sorted(latencies)
    ms = lambda value: round(value * 1000, 1)  # noqa: E731
    return Figures(kind, k, len(ordered), errors, round(wall_s, 2), round(len(ordered) / wall_s, 2),
                   ms(statistics.median(ordered)) if ordered else float("nan"),
                   ms(percentile(ordered, 95)), ms(percentile(ordered, 99)))


# ---------------------------------------------------------------------------------------------- data

def seed_bench_buyers(db_url: str, count: int, prefix: str) -> list[tuple[str, str]]:
    """(buyer id, order number) pairs: each simulated conversation has its own buyer and bottle."""
    now = now_cn()
    pairs = []
    with session_scope(db_url) as session:
        shop = Shop(code="bench", name="压测店", platform="tmall")
        session.add(shop)
        for n in range(count):
            buyer_id, number = f"{prefix}{n}", f"77{n:010d}"
            session.add(Buyer(id=buyer_id, platform="tmall", credit_tier="3"))
            order = Order(order_number=number, shop=shop, buyer_id=buyer_id, platform="tmall", status="signed",
                          paid_at=now - timedelta(days=3), ship_by=now, free_shipping=True)
            order.items.append(OrderItem(sku="B-20", title="玻璃瓶", category="glass", qty=1,
                                         unit_price_fen=2000, paid_fen=2000))
            order.shipments.append(Shipment(courier="中通快递", waybill=f"ZT{number}", status="signed",
                                            shipped_at=now - timedelta(days=2), signed_at=now - timedelta(days=1),
                                            signed_by="buyer"))
            session.add(order)
            pairs.append((buyer_id, number))
    return pairs


# ---------------------------------------------------------------------------------------------- traffic

async def timed_post(session: aiohttp.ClientSession, url: str, body: dict) -> tuple[float, Optional[object]]:
    started = time.perf_counter()
    try:
        async with session.post(url, json=body) as response:
            payload = await response.json() if response.status == 200 else None
    except (aiohttp.ClientError, asyncio.TimeoutError):
        payload = None
    return time.perf_counter() - started, payload


def reply_ok(payload: object, expected: Optional[str]) -> bool:
    if not isinstance(payload, list) or not payload:
        return False
    text = "".join(str(reply.get("text", "")) for reply in payload if isinstance(reply, dict))
    return expected is None or expected in text


async def talk(session, rasa_url: str, sender: str, order: str, turns) -> tuple[list[float], int]:
    latencies, errors = [], 0
    for text, metadata, expected in turns:
        body = {"sender": sender, "message": text.format(order=order)}
        if metadata:
            body["metadata"] = metadata
        seconds, payload = await timed_post(session, f"{rasa_url}/webhooks/rest/webhook", body)
        latencies.append(seconds)
        errors += not reply_ok(payload, expected)
    return latencies, errors


async def parse(session, rasa_url: str, _sender: str, order: str, _turns) -> tuple[list[float], int]:
    latencies, errors = [], 0
    for text in PARSE_TEXTS:
        seconds, payload = await timed_post(session, f"{rasa_url}/model/parse", {"text": text.format(order=order)})
        latencies.append(seconds)
        errors += not (isinstance(payload, dict) and payload.get("intent"))
    return latencies, errors


async def run_level(kind: str, k: int, rounds: int, rasa_url: str, buyers: list[tuple[str, str]],
                    run_tag: str) -> Figures:
    """K clients at once; each runs `rounds` conversations one after the other."""
    work, turns = {"nlu_parse": (parse, None), "bare_reply": (talk, GREET_TURNS), "e2e": (talk, E2E_TURNS)}[kind]
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=k * 2)) as session:
        async def client(c: int) -> tuple[list[float], int]:
            latencies, errors = [], 0
            for r in range(rounds):
                buyer, order = buyers.pop()
                sender = buyer if kind == "e2e" else f"{run_tag}{kind}-{k}-{c}-{r}"
                got, bad = await work(session, rasa_url, sender, order, turns)
                latencies += got
                errors += bad
            return latencies, errors

        started = time.perf_counter()
        results = await asyncio.gather(*(client(c) for c in range(k)))
        wall = time.perf_counter() - started
    return figures(kind, k, [x for got, _ in results for x in got], sum(bad for _, bad in results), wall)


# ---------------------------------------------------------------------------------------------- report

def table(rows: list[Figures]) -> str:
    head = f"{'kind':<11} {'K':>3} {'msgs':>5} {'err':>4} {'msg/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(f"{row.kind:<11} {row.k:>3} {row.messages:>5} {row.errors:>4} {row.messages_per_s:>7.2f} "
                     f"{row.p50_ms:>8.1f} {row.p95_ms:>8.1f} {row.p99_ms:>8.1f}")
    return "\n".join(lines)


def ratios(rows: list[Figures]) -> list[dict]:
    by = {(r.kind, r.k): r for r in rows}
    out = []
    for k in sorted({r.k for r in rows}):
        e2e, parse_, bare = by.get(("e2e", k)), by.get(("nlu_parse", k)), by.get(("bare_reply", k))
        if e2e and parse_ and bare:
            out.append({"k": k, "e2e_p95_over_parse_p95": round(e2e.p95_ms / parse_.p95_ms, 2),
                        "e2e_p95_over_bare_reply_p95": round(e2e.p95_ms / bare.p95_ms, 2),
                        "e2e_p95_minus_bare_reply_p95_ms": round(e2e.p95_ms - bare.p95_ms, 1)})
    return out


def machine() -> dict:
    return {"host": platform.node(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "cpu": _cpu_model(), "load_avg": [round(x, 2) for x in os.getloadavg()]}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="default: AFTERSALES_MODEL or the newest models/*.tar.gz")
    parser.add_argument("--levels", default="1,10,50", help="simulated buyers at once (comma-separated)")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "reports" / "bench"))
    args = parser.parse_args(argv)
    model = Path(args.model) if args.model else newest_model()
    if model is None or not model.exists():
        print("no trained model: run scripts/train_if_stale.sh or pass --model", file=sys.stderr)
        return 2
    levels = [int(x) for x in args.levels.split(",")]
    rounds = {k: DEFAULT_ROUNDS.get(k, 1) for k in levels}
    load_before = machine()["load_avg"]
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(db_url)
        buyers = seed_bench_buyers(db_url, sum(k * rounds[k] for k in levels) + 2, "bench_b")  # + 2 warm-up
        print(f"starting the stack with {model.name} …", file=sys.stderr)
        stack = start_stack(model, Path(tmp) / "stack", db_url, test_mode=False)
        print(f"stack up in {stack.startup_s:.1f} s", file=sys.stderr)
        rows: list[Figures] = []
        try:
            # untimed warm-up: the first parse and the first action call pay one-off costs (lazy loading)
            asyncio.run(run_level("nlu_parse", 2, 1, stack.rasa_url, list(buyers), "warmup-"))
            asyncio.run(run_level("bare_reply", 2, 1, stack.rasa_url, list(buyers), "warmup-"))
            asyncio.run(run_level("e2e", 2, 1, stack.rasa_url, buyers, "warmup-"))
            for k in levels:
                for kind in ("nlu_parse", "bare_reply", "e2e"):
                    pool = list(buyers) if kind != "e2e" else buyers  # only e2e uses up buyers
                    row = asyncio.run(run_level(kind, k, rounds[k], stack.rasa_url, pool, "bench-"))
                    rows.append(row)
                    print(f"  {kind} K={k}: {row.messages_per_s:.2f} msg/s, p95 {row.p95_ms:.0f} ms, "
                          f"{row.errors} errors", file=sys.stderr)
        finally:
            stack.stop()
    result = {"at": datetime.now().astimezone().isoformat(timespec="seconds"), "model": model.name,
              "model_mb": round(model.stat().st_size / 1e6, 2), "startup_s": round(stack.startup_s, 1),
              "machine": {**machine(), "load_avg_before": load_before}, "rounds": rounds,
              "rows": [asdict(r) for r in rows], "e2e_over_floor": ratios(rows)}
    print(table(rows))
    for ratio in result["e2e_over_floor"]:
        print(f"K={ratio['k']}: e2e p95 = {ratio['e2e_p95_over_bare_reply_p95']}x bare reply p95 "
              f"(+{ratio['e2e_p95_minus_bare_reply_p95_ms']} ms), {ratio['e2e_p95_over_parse_p95']}x NLU parse p95")
    print(f"server start-up {result['startup_s']} s; model {result['model_mb']} MB; "
          f"load average {load_before} before, {result['machine']['load_avg']} after")
    write_json(result, Path(args.out), "e2e")
    return 0


def write_json(result: dict, out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"{name}-{stamp}.json"
    text = json.dumps(result, ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")
    (out_dir / f"{name}-latest.json").write_text(text, encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return path


if __name__ == "__main__":
    sys.exit(main())
