"""End-to-end benchmark: K simulated buyers at once over Rasa's REST channel, with the floor in the same run.

    .venv/bin/python bench/bench_e2e.py [--model M] [--levels 1,10,50] [--scaled] [--action-workers 1]

Starts the stack (bot/convtest/stack.py) on a fresh SQLite database with one buyer and one signed 20-yuan
bottle per simulated conversation, a second Rasa on the no-op action server, and with --scaled the scaled
stack (bot/scaled.py) with the same buyers in its PostgreSQL; then for each K measures each kind of traffic
as K concurrent clients of four messages:
  nlu_parse   POST /model/parse — the NLU pipeline alone (no dialogue, no actions): the first floor
  bare_reply  "你好" -> utter_greet — NLU + dialogue policies, no custom action, no database: the second floor
  noop_actions the e2e conversation on a second Rasa whose action server (bench/noop_actions.py) answers
              every call with the remembered answer of the same call: the same action round trips per turn
              as e2e, each doing nothing, on the same kind of tracker store (SQLite, its own file) — the
              third floor (what Rasa's round trips cost)
  e2e         the damaged-bottle conversation: order number -> photo -> 好的 (ledger written) -> 谢谢;
              every turn runs custom actions that read and write the database
  e2e_before  (--before) the same conversation on a stack as it was before issue 17: `rasa run actions`
              (actions on the event loop) and the whole domain sent with every action call
  e2e_scaled  (--scaled) the same conversation through HAProxy to two Rasa instances on PostgreSQL + Redis
              (bot/scaled.py), two action servers, the orders in PostgreSQL
  e2e_baseline, bare_baseline  (--baseline-code DIR --baseline-model M) the e2e and bare-reply traffic as
              an earlier commit's own bench_e2e measures them on its own stack, in this run: e.g. the commit
              issue 17 was measured on (f115613), to compare today's single process with that one on the
              same machine at the same hour. DIR is a checkout (`git worktree add DIR f115613`), M its model
              (trained in DIR with that commit's `scripts/train_if_stale.sh`); DIR/.venv is linked to ours.
Figures per kind and K: messages/s (messages / wall time), p50/p95/p99 per message, errors (HTTP errors and
replies without the expected words). Prints a table, e2e over each floor, and the action server's timing
profile (per action: calls, mean, p50, p95, from its GET /timings) for each K; writes JSON.
Figures, not pass/fail.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import urllib.request
import zlib
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
from bot.convtest.stack import (PYTHON, action_endpoint_yaml, free_port, get_ok, newest_model, stop_processes,  # noqa: E402
                                rasa_command, sqlite_tracker_store_yaml, start_stack)
from bot.db.migrate import upgrade  # noqa: E402
from bot.db.models import Buyer, Order, OrderItem, PhotoUpload, Shipment, Shop  # noqa: E402
from bot.db.session import session_scope  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402

# Each simulated buyer's photo is a stored upload of theirs (seed_bench_buyers), as the widget's upload makes:
# since issue 19 a reference nobody uploaded is not evidence, and the bot would ask for the photo again.
PHOTO_REF = "upload/bench-{sender}.jpg"
PHOTO = {"attachments": [{"type": "photo", "ref": PHOTO_REF}]}
# (message, metadata, a word the reply must contain; None = any non-empty reply)
E2E_TURNS = (("订单{order}的瓶子收到就碎了一个角", None, "照片"), ("照片发您了", PHOTO, "2元"),
             ("好的", None, "2元"), ("谢谢", None, None))
GREET_TURNS = (("你好", None, "亲"),) * 4
PARSE_TEXTS = ("订单{order}的瓶子收到就碎了一个角", "照片发您了", "好的", "谢谢")
# conversations (of 4 turns) per client: K=1 gives 80 samples (its p50 is the ratio the issue asks about: with
# 20 samples it moved by a tenth between runs of the same code), K=50 is 50 buyers x 20 turns each
DEFAULT_ROUNDS = {1: 20, 10: 2, 50: 5}


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
    series = zlib.crc32(prefix.encode()) % 90 + 10  # each prefix its own shop and order numbers, in one database
    with session_scope(db_url) as session:
        shop = Shop(code=f"bench-{prefix}", name="压测店", platform="tmall")
        session.add(shop)
        for n in range(count):
            buyer_id, number = f"{prefix}{n}", f"7{series}{n:09d}"
            session.add(Buyer(id=buyer_id, platform="tmall", credit_tier="3"))
            order = Order(order_number=number, shop=shop, buyer_id=buyer_id, platform="tmall", status="signed",
                          paid_at=now - timedelta(days=3), ship_by=now, free_shipping=True)
            order.items.append(OrderItem(sku="B-20", title="玻璃瓶", category="glass", qty=1,
                                         unit_price_fen=2000, paid_fen=2000))
            order.shipments.append(Shipment(courier="中通快递", waybill=f"ZT{number}", status="signed",
                                            shipped_at=now - timedelta(days=2), signed_at=now - timedelta(days=1),
                                            signed_by="buyer"))
            session.add(order)
            session.add(PhotoUpload(reference=PHOTO_REF.format(sender=buyer_id), buyer_id=buyer_id, size_bytes=1))
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
            body["metadata"] = json.loads(json.dumps(metadata).replace("{sender}", sender))
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


KINDS = {"nlu_parse": (parse, None), "bare_reply": (talk, GREET_TURNS), "noop_actions": (talk, E2E_TURNS),
         "e2e": (talk, E2E_TURNS), "e2e_before": (talk, E2E_TURNS), "e2e_scaled": (talk, E2E_TURNS)}
USES_BUYERS = ("e2e", "e2e_before", "e2e_scaled")  # the kinds whose conversations write the ledger: one buyer each


async def run_level(kind: str, k: int, rounds: int, rasa_url: str, buyers: list[tuple[str, str]],
                    run_tag: str) -> Figures:
    """K clients at once; each runs `rounds` conversations one after the other."""
    latencies, errors, wall = await run_clients(kind, k, rounds, rasa_url, buyers, run_tag)
    return figures(kind, k, latencies, errors, wall)


def run_one_buyer_interleaved(kinds: list[str], rounds: int, urls: dict, pools: dict, default_pool: list) -> list[Figures]:
    """K=1, the kinds taking turns conversation by conversation (bare, no-op, e2e, bare, ...): the one-buyer
    ratios compare kinds measured over the same minutes, so a machine whose speed drifts (shared cores) moves
    them all alike instead of whichever kind ran during the slow minute."""
    got = {kind: ([], 0, 0.0) for kind in kinds}
    own = {kind: pools.get(kind, list(default_pool)) for kind in kinds}  # only the e2e kinds use up buyers
    for r in range(rounds):
        for kind in kinds:
            latencies, errors, wall = asyncio.run(run_clients(kind, 1, 1, urls[kind], own[kind], f"bench-r{r}-"))
            before = got[kind]
            got[kind] = (before[0] + latencies, before[1] + errors, before[2] + wall)
    return [figures(kind, 1, *got[kind]) for kind in kinds]


async def run_clients(kind: str, k: int, rounds: int, rasa_url: str, buyers: list[tuple[str, str]],
                      run_tag: str) -> tuple[list[float], int, float]:
    """(latencies, errors, wall seconds) of K clients at once, each running `rounds` conversations."""
    work, turns = KINDS[kind]
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=k * 2)) as session:
        async def client(c: int) -> tuple[list[float], int]:
            latencies, errors = [], 0
            for r in range(rounds):
                buyer, order = buyers.pop()
                # the no-op floor's warm-up is the conversation it remembers: a real buyer, so the real
                # actions find the order; its timed conversations only need fresh trackers
                real = kind in USES_BUYERS or (kind == "noop_actions" and run_tag.startswith("warmup"))
                sender = buyer if real else f"{run_tag}{kind}-{k}-{c}-{r}"
                got, bad = await work(session, rasa_url, sender, order, turns)
                latencies += got
                errors += bad
            return latencies, errors

        started = time.perf_counter()
        results = await asyncio.gather(*(client(c) for c in range(k)))
        wall = time.perf_counter() - started
    return [x for got, _ in results for x in got], sum(bad for _, bad in results), wall


# ---------------------------------------------------------------------------------------------- report

def table(rows: list[Figures]) -> str:
    head = f"{'kind':<13} {'K':>3} {'msgs':>5} {'err':>4} {'msg/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    lines = [head, "-" * len(head)]
    order = list(KINDS) + list(BASELINE_KINDS.values())
    for row in sorted(rows, key=lambda r: (r.k, order.index(r.kind))):
        lines.append(f"{row.kind:<13} {row.k:>3} {row.messages:>5} {row.errors:>4} {row.messages_per_s:>7.2f} "
                     f"{row.p50_ms:>8.1f} {row.p95_ms:>8.1f} {row.p99_ms:>8.1f}")
    return "\n".join(lines)


def ratios(rows: list[Figures]) -> list[dict]:
    by = {(r.kind, r.k): r for r in rows}
    out = []
    for k in sorted({r.k for r in rows}):
        e2e, parse_, bare = by.get(("e2e", k)), by.get(("nlu_parse", k)), by.get(("bare_reply", k))
        if e2e and parse_ and bare:
            ratio = {"k": k, "e2e_p95_over_parse_p95": round(e2e.p95_ms / parse_.p95_ms, 2),
                     "e2e_p95_over_bare_reply_p95": round(e2e.p95_ms / bare.p95_ms, 2),
                     "e2e_p95_minus_bare_reply_p95_ms": round(e2e.p95_ms - bare.p95_ms, 1),
                     "e2e_p50_over_bare_reply_p50": round(e2e.p50_ms / bare.p50_ms, 2)}
            noop = by.get(("noop_actions", k))
            if noop:
                ratio["e2e_p50_over_noop_p50"] = round(e2e.p50_ms / noop.p50_ms, 2)
            scaled = by.get(("e2e_scaled", k))
            if scaled:
                ratio["scaled_over_single_msg_per_s"] = round(scaled.messages_per_s / e2e.messages_per_s, 2)
            baseline = by.get(("e2e_baseline", k))
            if baseline:
                ratio["single_over_baseline_msg_per_s"] = round(e2e.messages_per_s / baseline.messages_per_s, 2)
                if scaled:
                    ratio["scaled_over_baseline_msg_per_s"] = round(scaled.messages_per_s / baseline.messages_per_s, 2)
            before = by.get(("e2e_before", k))
            if before:
                ratio["before_p50_over_bare_reply_p50"] = round(before.p50_ms / bare.p50_ms, 2)
                if scaled:
                    ratio["scaled_over_before_msg_per_s"] = round(scaled.messages_per_s / before.messages_per_s, 2)
            out.append(ratio)
    return out


def action_timings(actions_url: str, reset: bool = False, samples: int = 8) -> dict:
    """GET /timings from the action server (several calls: with several workers each answers for itself)."""
    per_pid = {}
    for _ in range(samples):
        try:
            with urllib.request.urlopen(f"{actions_url}/timings{'?reset=1' if reset else ''}", timeout=5) as r:
                body = json.loads(r.read())
        except OSError:
            continue
        per_pid[body["pid"]] = body["actions"]
    merged: dict[str, dict] = {}
    for actions in per_pid.values():
        for name, figs in actions.items():
            merged.setdefault(name, []).append(figs)
    return {name: {"count": sum(f["count"] for f in figs), "mean_ms": max(f["mean_ms"] for f in figs),
                   "p50_ms": max(f["p50_ms"] for f in figs), "p95_ms": max(f["p95_ms"] for f in figs)}
            for name, figs in sorted(merged.items())}


def profile_table(k: int, timings: dict) -> str:
    lines = [f"action server profile, e2e K={k} (calls, mean/p50/p95 ms; worst worker):"]
    for name, f in sorted(timings.items(), key=lambda item: -item[1]["mean_ms"] * item[1]["count"]):
        lines.append(f"  {name:<26} {f['count']:>5} {f['mean_ms']:>8.1f} {f['p50_ms']:>8.1f} {f['p95_ms']:>8.1f}")
    return "\n".join(lines)


class NoopFloor:
    """The no-op action server (bench/noop_actions.py) in front of the real one, and a Rasa that uses it."""

    def __init__(self, model: Path, workdir: Path, upstream_actions_url: str, env: dict):
        workdir.mkdir(parents=True, exist_ok=True)
        self.noop_port, self.rasa_port = free_port(), free_port()
        endpoints = workdir / "endpoints-noop.yml"
        # the same tracker store as the e2e stack (its own file): the floor differs from e2e in the actions only
        endpoints.write_text(action_endpoint_yaml(f"http://127.0.0.1:{self.noop_port}")
                             + sqlite_tracker_store_yaml(workdir.resolve() / "tracker.db"))
        self.logs = [open(workdir / "noop_actions.log", "w"), open(workdir / "rasa_noop.log", "w")]
        here = Path(__file__).resolve().parent
        self.processes = [
            subprocess.Popen([str(PYTHON), str(here / "noop_actions.py"), "--port", str(self.noop_port),
                              "--upstream", f"{upstream_actions_url}/webhook"], stdout=self.logs[0],
                             stderr=subprocess.STDOUT, env=env),
            subprocess.Popen(rasa_command(model, self.rasa_port, endpoints), cwd=PROJECT_ROOT, stdout=self.logs[1],
                             stderr=subprocess.STDOUT, env=env)]
        self.rasa_url = f"http://127.0.0.1:{self.rasa_port}"
        deadline = time.monotonic() + 300
        while not (get_ok(f"{self.rasa_url}/status") and get_ok(f"http://127.0.0.1:{self.noop_port}/health")):
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                self.stop()
                raise RuntimeError(f"the no-op floor did not start; see {workdir}")
            time.sleep(0.5)

    def stats(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.noop_port}/stats", timeout=5) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        stop_processes(self.processes, self.logs)


BASELINE_KINDS = {"e2e": "e2e_baseline", "bare_reply": "bare_baseline"}


def run_baseline(code: Path, model: Path, levels: list[int], rounds: dict[int, int], workdir: Path) -> list[Figures]:
    """The earlier checkout's own bench_e2e (its code, its stack, its model), with this run's rounds; its e2e
    and bare-reply rows come back renamed (e2e_baseline, bare_baseline)."""
    code, model = code.resolve(), model.resolve()
    venv = code / ".venv"
    if not venv.exists():  # its stack runs PROJECT_ROOT/.venv/bin/rasa: the same pinned packages as ours
        venv.symlink_to(PYTHON.parent.parent)
        print(f"linked {venv} -> {PYTHON.parent.parent}", file=sys.stderr)
    out = workdir / "baseline-out"
    driver = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/bench']; import bench_e2e as b; "
              "b.DEFAULT_ROUNDS.update({int(k): int(v) for k, v in (x.split(':') for x in sys.argv[2].split(','))}); "
              "sys.exit(b.main(sys.argv[3:]))")
    env = {**os.environ, "PYTHONPATH": str(code)}
    env.pop("AFTERSALES_DB_URL", None)
    command = [str(PYTHON), "-c", driver, str(code), ",".join(f"{k}:{v}" for k, v in rounds.items()),
               "--model", str(model), "--levels", ",".join(map(str, levels)), "--out", str(out)]
    print(f"baseline: {code} ({_commit(code)}) with {model.name} …", file=sys.stderr)
    subprocess.run(command, cwd=code, env=env, check=True, stdout=subprocess.DEVNULL)
    result = json.loads((out / "e2e-latest.json").read_text(encoding="utf-8"))
    failed = [row for row in result["rows"] if row["kind"] in BASELINE_KINDS and row["errors"] == row["messages"]]
    if failed:  # e.g. an NLU-only model: Rasa then answers every message with nothing
        raise RuntimeError(f"the baseline answered none of its {failed[0]['kind']} messages at K={failed[0]['k']}: "
                           f"is {model.name} a full model (NLU and dialogue) of that checkout?")
    return [Figures(**{**row, "kind": BASELINE_KINDS[row["kind"]]}) for row in result["rows"]
            if row["kind"] in BASELINE_KINDS]


def _commit(code: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"


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
    parser.add_argument("--scaled", action="store_true", help="also e2e through the scaled stack (bot/scaled.py)")
    parser.add_argument("--before", action="store_true", help="also e2e on the stack as it was before issue 17")
    parser.add_argument("--baseline-code", help="an earlier checkout whose own bench_e2e runs first, in this run")
    parser.add_argument("--baseline-model", help="the model for --baseline-code (trained in that checkout)")
    parser.add_argument("--action-workers", type=int, default=1, help="action server processes, single stack")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "reports" / "bench"))
    args = parser.parse_args(argv)
    model = Path(args.model) if args.model else newest_model()
    if model is None or not model.exists():
        print("no trained model: run scripts/train_if_stale.sh or pass --model", file=sys.stderr)
        return 2
    levels = [int(x) for x in args.levels.split(",")]
    rounds = {k: DEFAULT_ROUNDS.get(k, 1) for k in levels}
    kinds = (["nlu_parse", "bare_reply", "noop_actions", "e2e"] + (["e2e_before"] if args.before else [])
             + (["e2e_scaled"] if args.scaled else []))
    if bool(args.baseline_code) != bool(args.baseline_model):
        print("--baseline-code and --baseline-model go together", file=sys.stderr)
        return 2
    load_before = machine()["load_avg"]
    needed = sum(k * rounds[k] for k in levels) + 3  # + warm-ups
    profiles: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        os.chmod(tmp, 0o755)  # the scaled stack's PostgreSQL runs as its own user and keeps its data in here
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(db_url)
        buyers = seed_bench_buyers(db_url, needed, "bench_b")
        rows: list[Figures] = []
        if args.baseline_code:  # first, alone on the machine: its stack is stopped before ours starts
            rows += run_baseline(Path(args.baseline_code), Path(args.baseline_model), levels, rounds, Path(tmp))
            for row in rows:
                print(f"  {row.kind} K={row.k}: {row.messages_per_s:.2f} msg/s, p50 {row.p50_ms:.0f} ms, "
                      f"{row.errors} errors", file=sys.stderr)
        print(f"starting the stack with {model.name} …", file=sys.stderr)
        stack = start_stack(model, Path(tmp) / "stack", db_url, test_mode=False, action_workers=args.action_workers)
        print(f"stack up in {stack.startup_s:.1f} s", file=sys.stderr)
        floor = scaled = before = None
        try:
            floor = NoopFloor(model, Path(tmp) / "noop", stack.actions_url, {**os.environ, "AFTERSALES_DB_URL": db_url})
            urls = {"nlu_parse": stack.rasa_url, "bare_reply": stack.rasa_url, "noop_actions": floor.rasa_url,
                    "e2e": stack.rasa_url}
            pools = {"e2e": buyers}
            if args.before:
                before = start_stack(model, Path(tmp) / "before", db_url, test_mode=False, legacy_actions=True)
                urls["e2e_before"] = before.rasa_url
                pools["e2e_before"] = seed_bench_buyers(db_url, needed, "bench_o")
            if args.scaled:
                from bot.scaled import start_scaled_stack
                print("starting the scaled stack …", file=sys.stderr)
                scaled = start_scaled_stack(model, Path(tmp) / "scaled")
                urls["e2e_scaled"] = scaled.rasa_url
                upgrade(scaled.db_url)
                pools["e2e_scaled"] = seed_bench_buyers(scaled.db_url, needed, "bench_s")
            # untimed warm-up: the first parse and the first action call pay one-off costs (lazy loading); the
            # no-op floor's warm-up conversation is the one it remembers (forwarded to the real actions)
            for kind in kinds:
                # the no-op floor remembers buyers[0]'s conversation, a buyer the e2e runs never reach
                pool = pools.get(kind, list(reversed(buyers)) if kind == "noop_actions" else list(buyers))
                asyncio.run(run_level(kind, 1 if kind == "noop_actions" else 2, 1, urls[kind], pool, "warmup-"))
            for k in levels:
                if k == 1:  # the ratios the issue asks about: kinds interleaved (run_one_buyer_interleaved)
                    action_timings(stack.actions_url, reset=True)
                    level_rows = run_one_buyer_interleaved(kinds, rounds[k], urls, pools, list(buyers))
                    profiles[k] = action_timings(stack.actions_url)
                else:
                    level_rows = []
                    for kind in kinds:
                        if kind == "e2e":
                            action_timings(stack.actions_url, reset=True)
                        pool = pools.get(kind, list(buyers))  # only the e2e kinds use up buyers
                        level_rows.append(asyncio.run(run_level(kind, k, rounds[k], urls[kind], pool, "bench-")))
                        if kind == "e2e":
                            profiles[k] = action_timings(stack.actions_url)
                for row in level_rows:
                    rows.append(row)
                    print(f"  {row.kind} K={k}: {row.messages_per_s:.2f} msg/s, p50 {row.p50_ms:.0f} ms, "
                          f"p95 {row.p95_ms:.0f} ms, {row.errors} errors, load {machine()['load_avg']}",
                          file=sys.stderr)
            noop_stats = floor.stats()
        finally:
            for part in (scaled, before, floor, stack):
                if part is not None:
                    part.stop()
    result = {"at": datetime.now().astimezone().isoformat(timespec="seconds"), "model": model.name,
              "model_mb": round(model.stat().st_size / 1e6, 2), "startup_s": round(stack.startup_s, 1),
              "machine": {**machine(), "load_avg_before": load_before}, "rounds": rounds,
              "action_workers": args.action_workers,
              "baseline": ({"code": str(Path(args.baseline_code).resolve()), "commit": _commit(Path(args.baseline_code)),
                            "model": Path(args.baseline_model).name} if args.baseline_code else None),
              "rows": [asdict(r) for r in rows],
              "e2e_over_floor": ratios(rows), "action_profile": profiles, "noop_floor": noop_stats}
    print(table(rows))
    for ratio in result["e2e_over_floor"]:
        print(f"K={ratio['k']}: e2e p50 = {ratio['e2e_p50_over_bare_reply_p50']}x bare reply p50, "
              f"{ratio.get('e2e_p50_over_noop_p50', '-')}x no-op actions p50; e2e p95 = "
              f"{ratio['e2e_p95_over_bare_reply_p95']}x bare reply p95 (+{ratio['e2e_p95_minus_bare_reply_p95_ms']} ms)"
              + (f"; scaled/single msg/s = {ratio['scaled_over_single_msg_per_s']}x"
                 if "scaled_over_single_msg_per_s" in ratio else "")
              + (f"; single/baseline msg/s = {ratio['single_over_baseline_msg_per_s']}x"
                 if "single_over_baseline_msg_per_s" in ratio else "")
              + (f", scaled/baseline msg/s = {ratio['scaled_over_baseline_msg_per_s']}x"
                 if "scaled_over_baseline_msg_per_s" in ratio else "")
              + (f"; before issue 17: e2e p50 {ratio['before_p50_over_bare_reply_p50']}x bare reply"
                 if "before_p50_over_bare_reply_p50" in ratio else "")
              + (f", scaled/before msg/s = {ratio['scaled_over_before_msg_per_s']}x"
                 if "scaled_over_before_msg_per_s" in ratio else ""))
    for k, timings in profiles.items():
        print(profile_table(k, timings))
    print(f"no-op floor: {noop_stats}")
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
