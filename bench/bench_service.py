"""The after-sales service alone (no Rasa, no HTTP): what the bench conversation's actions ask of it, per call.

    .venv/bin/python bench/bench_service.py [--baseline-code DIR] [--pg-url URL] [--conversations 300] [--rounds 2]

One conversation is what bench_e2e's damaged-bottle conversation makes the action server do: find_order twice
(action_start_case, the order form), assess (opens the case, asks for a photo), real_photos (the photo form),
assess with the photo (the offer), accept with the satisfaction question (the ledger rows). For each call:
the median wall time, the SQL statements it ran, the time inside the database driver; for the conversation,
the Python function calls it took (cProfile; unlike times, the same on a busy machine and a quiet one).

--baseline-code DIR runs an earlier checkout's service the same way, alternating with this one round by round,
so both see the same minutes of a shared machine (its service must take the same calls: AfterSalesService,
CaseInputs). --pg-url (a PostgreSQL server's URL; a fresh database is created and dropped per run) measures on
PostgreSQL, where each statement is a round trip; default: a SQLite file.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent
CALLS = ("find_order(start)", "find_order(form)", "assess(open)", "real_photos", "assess(photo)", "accept")


# ------------------------------------------------------------------------------------------ the child process

def child(root: Path, db_url: str, conversations: int) -> dict:
    """Runs inside a process whose imports come from `root` (this checkout or the baseline)."""
    import cProfile
    import pstats
    import time

    from sqlalchemy import event

    sys.path[:0] = [str(root), str(root / "bench")]
    os.environ["AFTERSALES_DB_URL"] = db_url
    from bench_e2e import seed_bench_buyers  # noqa: E402 (the root's own seeding and schema)
    from bot.clock import now_cn
    from bot.db.migrate import upgrade
    from bot.db.session import get_engine
    from bot.service.aftersales import AfterSalesService, CaseInputs

    upgrade(db_url)
    buyers = seed_bench_buyers(db_url, conversations + 40, "svc")
    service = AfterSalesService(db_url)
    statements = {"n": 0, "driver_s": 0.0}
    engine = get_engine(db_url)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, *_args):
        conn.info["bench_t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, *_args):
        statements["n"] += 1
        statements["driver_s"] += time.perf_counter() - conn.info["bench_t0"]

    samples: dict[str, list[tuple[float, int, float]]] = {name: [] for name in CALLS}

    def timed(name, function, *args, **kwargs):
        count, driver, started = statements["n"], statements["driver_s"], time.perf_counter()
        result = function(*args, **kwargs)
        samples[name].append((time.perf_counter() - started, statements["n"] - count, statements["driver_s"] - driver))
        return result

    def inputs(buyer: str, order: str, photos=()) -> CaseInputs:
        return CaseInputs(conversation_id=buyer, buyer_id=buyer, intent="damaged", now=now_cn(), order_number=order,
                          usable=None, photo_refs=tuple(photos), return_shipping_quote_fen=None, price_now_fen=None,
                          defect=None, reason=None)

    def conversation(buyer: str, order: str) -> None:
        photo = f"upload/bench-{buyer}.jpg"  # seed_bench_buyers stored it as this buyer's upload
        timed("find_order(start)", service.find_order, buyer, order)
        timed("find_order(form)", service.find_order, buyer, order)
        opened = timed("assess(open)", service.assess, inputs(buyer, order), None)
        timed("real_photos", service.real_photos, buyer, (photo,), buyer)
        offered = timed("assess(photo)", service.assess, inputs(buyer, order, (photo,)), opened.case_id)
        if not offered.acceptable:
            raise SystemExit(f"{root}: the conversation got no offer ({offered.offer})")
        accepted = timed("accept", service.accept, inputs(buyer, order, (photo,)), offered.case_id, approved_by="bot",
                         message_id=f"m-{buyer}", ask_satisfaction=True)
        if not accepted.parts:
            raise SystemExit(f"{root}: accept granted nothing")

    for buyer, order in buyers[:20]:  # warm-up: first compilations, pools, caches
        conversation(buyer, order)
    for rows in samples.values():
        rows.clear()
    for buyer, order in buyers[20:20 + conversations]:
        conversation(buyer, order)
    profile = cProfile.Profile()
    profile.enable()
    for buyer, order in buyers[20 + conversations:]:
        conversation(buyer, order)
    profile.disable()
    return {"calls": {name: {"p50_ms": round(statistics.median(r[0] for r in rows) * 1000, 3),
                             "statements": round(statistics.mean(r[1] for r in rows), 1),
                             "driver_ms": round(statistics.mean(r[2] for r in rows) * 1000, 3)}
                      for name, rows in samples.items()},
            "python_calls_per_conversation": pstats.Stats(profile).total_calls // 20}


# ------------------------------------------------------------------------------------------ the parent

def fresh_database(pg_url: str | None, workdir: Path) -> tuple[str, Callable[[], None]]:
    """(URL of an empty database, a function that removes it)."""
    if not pg_url:
        path = workdir / f"service-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_service_{uuid.uuid4().hex[:10]}"
    server = create_engine(make_url(pg_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        server.dispose()
    return str(make_url(pg_url).set(database=name)), drop


def run_child(root: Path, db_url: str, conversations: int) -> dict:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(root), "--db", db_url,
                           "--conversations", str(conversations)],
                          cwd=root, capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "AFTERSALES_DB_URL": db_url})
    if done.returncode != 0:
        raise SystemExit(f"bench_service: {root} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: dict[str, list[dict]]) -> str:
    names = list(results)
    head = f"{'call':<18}" + "".join(f"{name + ' p50 ms':>22}{'stmts':>7}" for name in names)
    lines = [head, "-" * len(head)]
    for call in CALLS:
        line = f"{call:<18}"
        for name in names:
            runs = results[name]
            line += f"{' / '.join(str(run['calls'][call]['p50_ms']) for run in runs):>22}"
            line += f"{runs[0]['calls'][call]['statements']:>7}"
        lines.append(line)
    totals = f"{'conversation':<18}"
    for name in names:
        sums = [round(sum(run["calls"][c]["p50_ms"] for c in CALLS), 2) for run in results[name]]
        totals += f"{' / '.join(map(str, sums)):>22}{sum(results[name][0]['calls'][c]['statements'] for c in CALLS):>7}"
    lines.append(totals)
    lines.append("Python calls per conversation: " + ", ".join(
        f"{name} {results[name][0]['python_calls_per_conversation']:,}" for name in names))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-code", help="an earlier checkout to measure the same way, same run")
    parser.add_argument("--pg-url", help="a PostgreSQL server (a fresh database per run is made and dropped)")
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each checkout, alternating")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "reports" / "bench"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(Path(args.child), args.db, args.conversations)))
        return 0
    roots = {"this": PROJECT_ROOT}
    if args.baseline_code:
        roots["baseline"] = Path(args.baseline_code).resolve()
    results: dict[str, list[dict]] = {name: [] for name in roots}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        for _ in range(args.rounds):
            for name, root in roots.items():
                url, drop = fresh_database(args.pg_url, Path(tmp))
                try:
                    results[name].append(run_child(root, url, args.conversations))
                finally:
                    drop()
    print(table(results))
    if "baseline" in results:
        mine = statistics.median(sum(r["calls"][c]["p50_ms"] for c in CALLS) for r in results["this"])
        theirs = statistics.median(sum(r["calls"][c]["p50_ms"] for c in CALLS) for r in results["baseline"])
        print(f"conversation: this checkout {mine:.2f} ms, baseline {theirs:.2f} ms ({theirs / mine:.2f}x)")
    backend = "postgresql" if args.pg_url else "sqlite"
    print(f"{backend}; load average {tuple(round(x, 2) for x in load_before)} before, "
          f"{tuple(round(x, 2) for x in os.getloadavg())} after")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"service-{stamp}.json").write_text(json.dumps(
        {"at": datetime.now().astimezone().isoformat(timespec="seconds"), "backend": backend,
         "roots": {k: str(v) for k, v in roots.items()}, "conversations": args.conversations,
         "load_avg_before": load_before, "results": results}, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
