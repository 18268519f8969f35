"""Copilot suggestion latency on the real stack, with its floors measured in the same run.

    .venv/bin/python bench/bench_copilot.py [--model M] [--calls 60] [--warmup 5] [--busy N]
                                            [--baseline-root DIR] [--out reports/bench]

Starts Rasa + the action server (bot/convtest/stack.py) on a fresh copy of the demo shop (SQLite, the README's
demo buyers) and `python -m bot.web` against them, talks a few demo conversations over Rasa's REST channel
(b_demo_1's broken 20-yuan bottle up to the offer, b_demo_2's 转人工, b_demo_3's leaking jar, b_demo_5's
counterfeit claim), then times, one call at a time with the agent bearer token and the kinds interleaved in a
rotating order (so a change in the machine's load hits every kind alike):

  suggest_conv   GET  /api/copilot/suggest?conversation_id=…    (tracker read, its stored NLU, DB, policy, drafts)
  suggest_raw    POST /api/copilot/suggest {messages, order_number}   (NLU of each message + the rest)
  rasa_parse     POST Rasa /model/parse of a buyer message       the NLU floor
  rasa_tracker   GET  Rasa /conversations/<id>/tracker?include_events=ALL   the tracker floor
  web_config     GET  /api/config on the web service             the web framework's own floor

With `--baseline-root DIR` a second web service, run from another checkout (e.g. the commit before a change,
`git archive <commit> | tar -x -C DIR`), answers base_suggest_conv / base_suggest_raw in the same interleaved
loop: before and after on the same stack, in the same machine state.

p50/p95/max per kind (nearest rank), plus the server-side `elapsed_ms` of the suggestions and, when the
service sends a Server-Timing header, its stages. Warm-up calls are not counted; the very first call of each
kind (cold: lazy loading in Rasa and in the web service) is printed apart. `--busy N` runs N CPU-bound
processes beside the measurement (bounded by the run; they stop with it), to see the figures on a loaded
machine reproducibly. Prints a table, the load average before and after, and writes
reports/bench/copilot-<time>.json. Figures, not pass/fail.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import quote

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_e2e import machine, percentile, write_json  # noqa: E402
from bot.convtest.stack import demo_shop_database, free_port, get_ok, newest_model, start_stack  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402
from bot.web.auth import DEMO_AGENT_TOKEN  # noqa: E402

PHOTO = {"attachments": [{"type": "photo", "ref": "upload/bench.jpg"}]}
# (buyer, [(message, metadata)]): the demo conversations the suggestions are asked for.
CONVERSATIONS = (
    ("b_demo_1", [("你好，瓶子收到就碎了一个角，订单886600010001", None), ("照片发您了", PHOTO)]),
    ("b_demo_2", [("订单886600020001的瓶子碎了", None), ("转人工", None)]),
    ("b_demo_3", [("罐子漏液了，订单886600030001", None)]),
    ("b_demo_5", [("订单886600050002的精华是假货吧，再不处理我就投诉", None)]),
)
# Raw mode: what an agent pastes from another channel, with the order number.
RAW_CASES = (
    {"messages": ["你好，瓶子收到就碎了一个角"], "order_number": "886600010001"},
    {"messages": ["罐子漏液了", "洒了一箱子，太过分了"], "order_number": "886600030001"},
    {"messages": ["眼镜有划痕"], "order_number": "886600030002"},
    {"messages": ["这个精华是假货吧", "我要投诉到12315"], "order_number": "886600050002"},
)
KINDS = ("suggest_conv", "suggest_raw", "rasa_parse", "rasa_tracker", "web_config")
BASELINE_KINDS = ("base_suggest_conv", "base_suggest_raw")  # --baseline-root: another version of bot.web


class Call:
    def __init__(self, session: aiohttp.ClientSession, web: str, rasa: str, baseline: Optional[str] = None):
        self.session, self.web, self.rasa, self.baseline = session, web, rasa, baseline
        self.agent = {"Authorization": f"Bearer {DEMO_AGENT_TOKEN}"}

    async def _timed(self, method: str, url: str, **kwargs) -> tuple[float, int, Any, dict]:
        started = time.perf_counter()
        async with self.session.request(method, url, **kwargs) as response:
            body = await response.json(content_type=None)
            headers = dict(response.headers)
        return time.perf_counter() - started, response.status, body, headers

    async def suggest_conv(self, n: int):
        buyer = CONVERSATIONS[n % len(CONVERSATIONS)][0]
        return await self._timed("GET", f"{self.web}/api/copilot/suggest?conversation_id={buyer}",
                                 headers=self.agent)

    async def suggest_raw(self, n: int):
        return await self._timed("POST", f"{self.web}/api/copilot/suggest", json=RAW_CASES[n % len(RAW_CASES)],
                                 headers=self.agent)

    async def base_suggest_conv(self, n: int):
        buyer = CONVERSATIONS[n % len(CONVERSATIONS)][0]
        return await self._timed("GET", f"{self.baseline}/api/copilot/suggest?conversation_id={buyer}",
                                 headers=self.agent)

    async def base_suggest_raw(self, n: int):
        return await self._timed("POST", f"{self.baseline}/api/copilot/suggest",
                                 json=RAW_CASES[n % len(RAW_CASES)], headers=self.agent)

    async def rasa_parse(self, n: int):
        text = CONVERSATIONS[n % len(CONVERSATIONS)][1][0][0]
        return await self._timed("POST", f"{self.rasa}/model/parse", json={"text": text})

    async def rasa_tracker(self, n: int):
        buyer = quote(CONVERSATIONS[n % len(CONVERSATIONS)][0], safe="")
        return await self._timed("GET", f"{self.rasa}/conversations/{buyer}/tracker?include_events=ALL")

    async def web_config(self, _n: int):
        return await self._timed("GET", f"{self.web}/api/config")


def ok(kind: str, status: int, body: Any) -> bool:
    if status != 200 or not isinstance(body, dict):
        return False
    if "suggest" in kind:
        return bool(body.get("intent", {}).get("name")) and body.get("order") is not None
    if kind == "rasa_parse":
        return bool(body.get("intent"))
    if kind == "rasa_tracker":
        return bool(body.get("events"))
    return True


def server_timing(headers: dict) -> dict[str, float]:
    """Server-Timing: "tracker;dur=3.1, parse;dur=9.0" -> {"tracker": 3.1, "parse": 9.0}."""
    out = {}
    for item in (headers.get("Server-Timing") or "").split(","):
        name, _, rest = item.strip().partition(";")
        if name and rest.startswith("dur="):
            try:
                out[name] = float(rest[4:])
            except ValueError:
                pass
    return out


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    if not ordered:
        return {"n": 0}
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(percentile(ordered, 95) * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}


async def talk(session: aiohttp.ClientSession, rasa: str) -> list[str]:
    """The demo conversations over the REST channel; returns one line per turn (the bot's reply, shortened)."""
    lines = []
    for buyer, turns in CONVERSATIONS:
        for text, metadata in turns:
            body: dict[str, Any] = {"sender": buyer, "message": text}
            if metadata:
                body["metadata"] = metadata
            async with session.post(f"{rasa}/webhooks/rest/webhook", json=body) as response:
                replies = await response.json(content_type=None) if response.status == 200 else []
            said = " / ".join(str(r.get("text", "")) for r in replies or [] if isinstance(r, dict))
            lines.append(f"{buyer}: {text} -> {said[:70] or '(no reply)'}")
    return lines


def nlu_view(parse: dict) -> tuple:
    """What the copilot shows of a parse (bot.copilot.intent_summary rounds confidences to 4 digits)."""
    ranking = tuple((r.get("name"), round(float(r.get("confidence") or 0), 4)) for r in parse.get("intent_ranking") or [])
    entities = tuple(tuple(e.get(k) for k in ("entity", "value", "start", "end", "extractor"))
                     for e in parse.get("entities") or [])
    intent = parse.get("intent") or {}
    return intent.get("name"), round(float(intent.get("confidence") or 0), 4), ranking, entities


async def stored_parses_match(session: aiohttp.ClientSession, rasa: str) -> tuple[int, int]:
    """How many of the conversations' latest buyer messages carry, in the tracker, the parse that /model/parse
    gives now (the copilot uses the stored one instead of asking again)."""
    same = 0
    for buyer, turns in CONVERSATIONS:
        async with session.get(f"{rasa}/conversations/{buyer}/tracker?include_events=ALL") as response:
            tracker = await response.json(content_type=None)
        event = next(e for e in reversed(tracker["events"]) if e.get("event") == "user")
        async with session.post(f"{rasa}/model/parse", json={"text": event["text"]}) as response:
            fresh = await response.json(content_type=None)
        if nlu_view(event.get("parse_data") or {}) == nlu_view(fresh):
            same += 1
        else:
            print(f"  {buyer}: stored {nlu_view(event.get('parse_data') or {})} != parsed {nlu_view(fresh)}",
                  file=sys.stderr)
    return same, len(CONVERSATIONS)


async def measure(web: str, rasa: str, calls: int, warmup: int, baseline: Optional[str] = None) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=4)) as session:
        for line in await talk(session, rasa):
            print("  " + line, file=sys.stderr)
        same, total = await stored_parses_match(session, rasa)
        print(f"  tracker parse_data == /model/parse for {same}/{total} latest buyer messages", file=sys.stderr)
        call = Call(session, web, rasa, baseline)
        kinds = KINDS + (BASELINE_KINDS if baseline else ())
        runs: dict[str, Callable[[int], Awaitable]] = {kind: getattr(call, kind) for kind in kinds}
        seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
        elapsed: dict[str, list[float]] = {kind: [] for kind in kinds if "suggest" in kind}
        stages: dict[str, dict[str, list[float]]] = {kind: {} for kind in elapsed}
        errors = {kind: 0 for kind in kinds}
        cold: dict[str, float] = {}
        cold_stages: dict[str, str] = {}
        for n in range(warmup + calls):
            turn = n % len(kinds)  # rotate the order, so no kind always follows the same other kind
            for kind in kinds[turn:] + kinds[:turn]:
                took, status, body, headers = await runs[kind](n)
                if n == 0:
                    cold[kind] = round(took * 1000, 1)
                    if headers.get("Server-Timing"):
                        cold_stages[kind] = headers["Server-Timing"]
                if n < warmup:
                    continue
                seconds[kind].append(took)
                if not ok(kind, status, body):
                    errors[kind] += 1
                    if errors[kind] == 1:
                        print(f"  {kind}: HTTP {status} {str(body)[:200]}", file=sys.stderr)
                if kind in elapsed and isinstance(body, dict) and "elapsed_ms" in body:
                    elapsed[kind].append(body["elapsed_ms"] / 1000)
                    for stage, ms in server_timing(headers).items():
                        stages[kind].setdefault(stage, []).append(ms / 1000)
    rows = {kind: {**summary(seconds[kind]), "errors": errors[kind], "cold_ms": cold.get(kind)} for kind in kinds}
    for kind, header in cold_stages.items():
        rows[kind]["cold_server_timing"] = header
    rows["suggest_conv"]["stored_parse_matches"] = f"{same}/{total}"
    for kind in elapsed:
        rows[kind]["server_elapsed"] = summary(elapsed[kind])
        rows[kind]["stages"] = {stage: summary(values) for stage, values in stages[kind].items()}
    return rows


def start_web(env: dict[str, str], log_path: Path, timeout_s: float = 120,
              root: Path = PROJECT_ROOT) -> tuple[subprocess.Popen, str]:
    """`python -m bot.web` run from `root` (its bot/ package is the one imported) on a free port."""
    port = free_port()
    log = open(log_path, "w")
    process = subprocess.Popen([sys.executable, "-m", "bot.web", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout_s
    while not get_ok(url + "/api/config"):
        if time.time() > deadline or process.poll() is not None:
            process.kill()
            log.close()
            raise RuntimeError("the web service did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.3)
    return process, url


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


BUSY_LOOP = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    sum(range(10000))\n"


def start_busy(count: int, seconds: float) -> list[subprocess.Popen]:
    """`count` CPU-bound processes that stop by themselves after `seconds` (and are stopped with the run)."""
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP.format(seconds=seconds)]) for _ in range(count)]


def table(rows: dict[str, dict]) -> str:
    head = (f"{'kind':<14} {'calls':>5} {'err':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'cold ms':>8}"
            f"   server elapsed_ms p50/p95")
    lines = [head, "-" * len(head)]
    for kind, row in rows.items():
        line = (f"{kind:<14} {row['n']:>5} {row['errors']:>4} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} "
                f"{row['max_ms']:>8.1f} {row['cold_ms'] or float('nan'):>8.1f}")
        if row.get("server_elapsed", {}).get("n"):
            line += f"   {row['server_elapsed']['p50_ms']:.1f} / {row['server_elapsed']['p95_ms']:.1f}"
        lines.append(line)
        if row.get("cold_server_timing"):
            lines.append(f"    cold call: {row['cold_server_timing']}")
        for stage, figures in (row.get("stages") or {}).items():
            lines.append(f"    {stage:<18} p50 {figures['p50_ms']:>7.1f}  p95 {figures['p95_ms']:>7.1f}  "
                         f"max {figures['max_ms']:>7.1f}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="default: AFTERSALES_MODEL or the newest models/*.tar.gz")
    parser.add_argument("--calls", type=int, default=60, help="timed calls per kind")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls per kind first")
    parser.add_argument("--baseline-root", type=Path,
                        help="a second checkout (e.g. `git archive <commit> | tar -x -C DIR`) whose bot.web is "
                             "timed too, interleaved with this one: before/after in the same machine state")
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes beside the measurement")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "reports" / "bench"))
    args = parser.parse_args(argv)
    model = Path(args.model) if args.model else newest_model()
    if model is None or not model.exists():
        print("no trained model: run scripts/train_if_stale.sh or pass --model", file=sys.stderr)
        return 2
    load_before = machine()["load_avg"]
    with tempfile.TemporaryDirectory(prefix="bench-copilot-") as tmp:
        db_url = demo_shop_database(Path(tmp) / "demo.db")
        print(f"starting the stack with {model.name} …", file=sys.stderr)
        stack = start_stack(model, Path(tmp) / "stack", db_url, test_mode=False)
        print(f"stack up in {stack.startup_s:.1f} s", file=sys.stderr)
        web, base, busy = None, None, []
        try:
            env = {**os.environ, "AFTERSALES_DB_URL": db_url, "AFTERSALES_RASA_URL": stack.rasa_url,
                   "AFTERSALES_UPLOAD_DIR": str(Path(tmp) / "uploads"), "AFTERSALES_DEMO": "1"}
            env.pop("AFTERSALES_AGENT_TOKENS", None)
            web, web_url = start_web(env, Path(tmp) / "web.log")
            base_url = None
            if args.baseline_root:
                base, base_url = start_web(env, Path(tmp) / "web-baseline.log", root=args.baseline_root)
            busy = start_busy(args.busy, seconds=600)
            if busy:
                time.sleep(5)  # let the load average feel them
            load_start = machine()["load_avg"]
            started = time.perf_counter()
            rows = asyncio.run(measure(web_url, stack.rasa_url, args.calls, args.warmup, base_url))
            wall = time.perf_counter() - started
            load_end = machine()["load_avg"]
        finally:
            for process in busy:
                stop(process)
            for process in (web, base):
                if process is not None:
                    stop(process)
            stack.stop()
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    result = {"at": datetime.now().astimezone().isoformat(timespec="seconds"), "model": model.name,
              "commit": git.stdout.strip(), "calls": args.calls, "warmup": args.warmup, "wall_s": round(wall, 1),
              "machine": {**machine(), "load_avg_before": load_before, "load_avg_at_start": load_start,
                          "load_avg_at_end": load_end}, "busy_processes": args.busy,
              "rows": rows}
    print(table(rows))
    for kind in ("suggest_conv", "suggest_raw"):
        row = rows[kind]
        floor = rows["rasa_tracker"]["p95_ms"] + rows["rasa_parse"]["p95_ms"] if kind == "suggest_conv" \
            else rows["rasa_parse"]["p95_ms"]
        print(f"{kind}: p95 {row['p95_ms']} ms = {row['p95_ms'] / rows['rasa_parse']['p95_ms']:.1f}x the bare "
              f"parse p95; {row['p95_ms'] - floor:+.1f} ms over "
              f"{'tracker + parse' if kind == 'suggest_conv' else 'one parse'} p95")
    for kind in ("suggest_conv", "suggest_raw"):
        if "base_" + kind in rows:
            base_row, row = rows["base_" + kind], rows[kind]
            print(f"{kind}: baseline ({args.baseline_root}) p50 {base_row['p50_ms']} / p95 {base_row['p95_ms']} ms "
                  f"-> this checkout p50 {row['p50_ms']} / p95 {row['p95_ms']} ms")
    print(f"model {model.name}; commit {result['commit']}; {args.busy} busy processes; load average {load_before} "
          f"before the stack, {load_start} at the first call, {load_end} at the last ({os.cpu_count()} CPUs)")
    write_json(result, Path(args.out), "copilot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
