"""`/model/parse` latency of two models side by side, in one run (figures, not pass/fail).

Both models are served at once by their own `rasa run --enable-api` and asked in alternation with the same
buyer messages, so machine noise falls on both alike. Each model may need its own code (an older model's
custom components): `--code DIR` puts that checkout first on PYTHONPATH for that server only.

    .venv/bin/python bench/bench_parse.py --model models/new.tar.gz \\
        --model /tmp/old/models/old.tar.gz --code /tmp/old   [--rounds 20]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.convtest.stack import free_port, get_ok, rasa_command, stop_processes  # noqa: E402

# Typical buyer messages, short to long (the project's own wording).
MESSAGES = ["好的", "转人工", "订单号886600010001", "杯子碎了", "瓶子收到就碎了一个角，能补偿吗",
            "买了没几天就降价了，能退差价吗", "快递三天了还没到，帮我查一下物流",
            "收到的颜色和我下单的不一样，我要换货", "盖子没拧紧，漏了一箱子，衣服也弄脏了，怎么处理",
            "这个是正品吗？包装和我以前买的不一样，字也印歪了，我怀疑是假货，要求退一赔三"]
START_TIMEOUT_S = 300


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def parse_ms(url: str, text: str) -> float:
    request = urllib.request.Request(f"{url}/model/parse", json.dumps({"text": text}).encode(),
                                     {"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def start_rasa(model: Path, code: Path | None, workdir: Path, log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    endpoints = workdir / f"endpoints-{port}.yml"
    endpoints.write_text("")  # no action server, no tracker store: /model/parse needs neither
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    if code is not None:
        env["PYTHONPATH"] = f"{code}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(code)
    cwd = code or Path(__file__).resolve().parents[1]
    command = rasa_command(model.resolve(), port, endpoints)
    command[command.index("--credentials") + 1] = str(cwd / "credentials.yml")  # that checkout's channels
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="a model (give two)")
    parser.add_argument("--code", action="append", default=[], help="code checkout for the model at the same "
                        "position (use '-' for this checkout)")
    parser.add_argument("--rounds", type=int, default=20, help="passes over the messages")
    args = parser.parse_args(argv)
    models = [Path(m) for m in args.model]
    codes = [None if c in ("-", "") else Path(c).resolve() for c in args.code] + [None] * len(models)
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        logs = [open(Path(tmp) / f"rasa-{n}.log", "w") for n in range(len(models))]
        servers = [start_rasa(m, codes[n], Path(tmp), logs[n]) for n, m in enumerate(models)]
        processes = [p for p, _ in servers]
        try:
            deadline = time.time() + START_TIMEOUT_S
            while not all(get_ok(f"{url}/status") for _, url in servers):
                if time.time() > deadline or any(p.poll() is not None for p in processes):
                    for log in logs:
                        log.flush()
                    print("a server did not start; logs in", tmp, file=sys.stderr)
                    print((Path(tmp) / "rasa-0.log").read_text()[-2000:], file=sys.stderr)
                    return 2
                time.sleep(1)
            for _, url in servers:  # warm-up
                for text in MESSAGES:
                    parse_ms(url, text)
            times: list[list[float]] = [[] for _ in servers]
            for round_ in range(args.rounds):
                for text in MESSAGES:
                    # A text neither server has seen: the featurizer's embedding cache would otherwise answer
                    # every round after the first, and real buyer messages are mostly new.
                    unseen = f"{text} 订单8866{round_:04d}{MESSAGES.index(text):04d}"
                    for n, (_, url) in enumerate(servers):
                        times[n].append(parse_ms(url, unseen))
        finally:
            stop_processes(processes, logs)
    load = os.getloadavg()[0]
    print(f"/model/parse, {args.rounds} rounds x {len(MESSAGES)} messages, each text new (an order number per round), "
          f"alternating; load {load:.1f}")
    for model, values in zip(models, times):
        print(f"  {model.name:40s} p50 {statistics.median(values):7.1f} ms  p95 {percentile(values, 0.95):7.1f} ms")
    if len(times) == 2:
        print(f"  p95 ratio (first / second): {percentile(times[0], 0.95) / percentile(times[1], 0.95):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
