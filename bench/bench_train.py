"""Training and start-up benchmark: from scratch, with Rasa's cache warm, model size, server start-up.

    .venv/bin/python bench/bench_train.py [--warm-only] [--out reports/bench]

From scratch = an empty cache directory (RASA_CACHE_DIRECTORY points at a fresh temp folder), so every
graph component trains. Warm = the same inputs again into a new output folder with that cache filled: Rasa
reuses every cached component and only packages the model. --warm-only skips the (long: 10-25 minutes on
a busy 2-core box) scratch run and measures the warm run against the project's own .rasa/cache, which is
warm if the current inputs were trained before. Start-up = both servers (bot/convtest/stack.py) from
process start until Rasa's /status and the action server's /health answer, with the trained model.
Figures, not pass/fail; JSON goes to reports/bench/train-*.json.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_e2e import machine, write_json  # noqa: E402
from bot.convtest.stack import RASA, start_stack  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.settings import PROJECT_ROOT  # noqa: E402

CACHE_ENV = "RASA_CACHE_DIRECTORY"


def train(out_dir: Path, name: str, cache_dir: Optional[Path], log: Path) -> tuple[float, Path]:
    """One `rasa train`; returns (seconds, model path)."""
    env = dict(os.environ)
    if cache_dir is not None:
        env[CACHE_ENV] = str(cache_dir)
    started = time.perf_counter()
    with log.open("w") as handle:
        subprocess.run([str(RASA), "train", "--out", str(out_dir), "--fixed-model-name", name],
                       cwd=PROJECT_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - started, out_dir / f"{name}.tar.gz"


def startup_seconds(model: Path, workdir: Path) -> float:
    db_url = f"sqlite:///{workdir / 'startup.db'}"
    upgrade(db_url)
    stack = start_stack(model, workdir / "stack", db_url, test_mode=False)
    stack.stop()
    return stack.startup_s


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-only", action="store_true", help="skip training from scratch")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "reports" / "bench"))
    args = parser.parse_args(argv)
    load_before = machine()["load_avg"]
    result: dict = {"at": datetime.now().astimezone().isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        tmp_path = Path(tmp)
        cache = None if args.warm_only else tmp_path / "cache"
        if cache is not None:
            print("training from scratch (empty cache) …", file=sys.stderr)
            result["scratch_s"], model = train(tmp_path / "scratch", "scratch", cache, tmp_path / "scratch.log")
            print(f"  {result['scratch_s']:.0f} s", file=sys.stderr)
        print("training with the cache warm …", file=sys.stderr)
        result["warm_s"], warm_model = train(tmp_path / "warm", "warm", cache, tmp_path / "warm.log")
        model = warm_model if args.warm_only else model
        result["model_mb"] = round(model.stat().st_size / 1e6, 2)
        print("server start-up …", file=sys.stderr)
        result["startup_s"] = round(startup_seconds(model, tmp_path), 1)
    result["machine"] = {**machine(), "load_avg_before": load_before}
    for key in ("scratch_s", "warm_s"):
        if key in result:
            result[key] = round(result[key], 1)
    print(f"{'measure':<28} value")
    for label, key, unit in (("train from scratch", "scratch_s", "s"), ("train, cache warm", "warm_s", "s"),
                             ("model size", "model_mb", "MB"), ("server start-up (both)", "startup_s", "s")):
        if key in result:
            print(f"{label:<28} {result[key]} {unit}")
    print(f"load average {load_before} before, {result['machine']['load_avg']} after")
    write_json(result, Path(args.out), "train")
    return 0


if __name__ == "__main__":
    sys.exit(main())
