"""How long the service report takes over 100,000 recorded conversations on SQLite.

    .venv/bin/python bench/bench_report.py [--conversations 100000] [--repeat 3] [--cache DIR] [--rebuild]

Builds (once; cached in DIR, default $TMPDIR/aftersales-bench-report-<N>) an order database with the demo
shop and N generated conversations over 28 days, and the matching tracker store (Rasa's `events` table,
about 30 events per conversation). The report's two indexes are added to the events table
(as `python -m bot.report tracker-index` does).
Then, in the same run, times:
  baseline   SELECT COUNT(*) FROM events (SQLite answers it from the smallest index), and the same count
             with a filter on `data`, which forces one pass over every row: the cost of touching it all;
  sessions   the conversations query alone (LEAD over session starts + two index seeks per session);
  report     the whole report (every figure, both databases), as the CLI and the page compute it;
and prints the report's headline figures so a wrong-but-fast run is visible. Not a pass/fail test.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine  # noqa: E402

from bot.clock import CN_TZ  # noqa: E402
from bot.db import migrate  # noqa: E402
from bot.db.seed import seed_demo_shop  # noqa: E402
from bot.db.session import make_engine, session_scope  # noqa: E402
from bot.money import fen_to_yuan  # noqa: E402
from bot.report import build_report, rule_titles  # noqa: E402
from bot.report.history import HistoryConfig, seed_history  # noqa: E402
from bot.report.period import Period  # noqa: E402
from bot.report.settings import ReportSettings  # noqa: E402
from bot.report.tracker import EVENTS, count_events, ensure_report_indexes, sessions  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

END = datetime(2026, 11, 23, 23, 0, tzinfo=CN_TZ)  # fixed: the cached database stays valid across days
DAYS = 28
PERIOD = Period.parse("2026-10-26", "2026-11-24")  # the whole history


def build(directory: Path, conversations: int) -> tuple[str, str]:
    app_url, tracker_url = f"sqlite:///{directory / 'app.db'}", f"sqlite:///{directory / 'tracker.db'}"
    done = directory / "complete"
    if done.exists():
        return app_url, tracker_url
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    migrate.upgrade(app_url)
    app, tracker = make_engine(app_url), create_engine(tracker_url, future=True)
    with session_scope(app) as session:
        seed_demo_shop(session, now=END)
    summary = seed_history(app, tracker, HistoryConfig(conversations=conversations, days=DAYS), end=END)
    app.dispose()
    tracker.dispose()
    done.write_text(summary.line())
    print(f"built in {time.perf_counter() - started:.0f} s: {summary.line()}")
    return app_url, tracker_url


def timed(repeat: int, work) -> tuple[float, float, object]:
    """Median wall time and median CPU time of this process over `repeat` runs (seconds), and the last
    result. SQLite runs inside the process, so CPU time is the work itself; wall time adds waiting for a
    busy machine (the load average is printed too)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    directory = args.cache or Path(tempfile.gettempdir()) / f"aftersales-bench-report-{args.conversations}"
    if args.rebuild:
        shutil.rmtree(directory, ignore_errors=True)
    app_url, tracker_url = build(directory, args.conversations)
    app, tracker = make_engine(app_url), create_engine(tracker_url, future=True)
    created = ensure_report_indexes(tracker)
    if created:
        print(f"created {', '.join(created)}")
    settings = ReportSettings(tracker_url=tracker_url)
    titles = rule_titles()
    tail = PERIOD.until_ts + settings.tail_seconds

    def count():
        with tracker.connect() as connection:
            return count_events(connection)

    def full_scan():
        with tracker.connect() as connection:
            return connection.execute(select(func.count()).where(EVENTS.c.data.isnot(None))).scalar_one()

    def scan():
        with tracker.connect() as connection:
            return sessions(connection, PERIOD.since_ts, tail)

    def report():
        return build_report(PERIOD, app, tracker, settings, now=END, rule_titles=titles)

    count()  # warm the page cache once, so the first timed variant is not penalised
    base_s, base_cpu, events = timed(args.repeat, count)
    full_s, full_cpu, _ = timed(args.repeat, full_scan)
    scan_s, scan_cpu, rows = timed(args.repeat, scan)
    report_s, report_cpu, result = timed(args.repeat, report)
    conv = result.conversations
    size_mb = sum(p.stat().st_size for p in directory.glob("*.db")) / 1e6
    print(f"databases: {size_mb:.0f} MB in {directory}; {events:,} tracker events; "
          f"SQLite {sqlite3.sqlite_version}, median of {args.repeat} runs, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'query':<38}{'wall s':>9}{'cpu s':>9}{'x full pass':>13}")
    for name, wall, cpu in (("baseline: COUNT(*) over events", base_s, base_cpu),
                            ("baseline: full pass over events", full_s, full_cpu),
                            ("sessions query", scan_s, scan_cpu),
                            ("full report (every figure)", report_s, report_cpu)):
        print(f"{name:<38}{wall:>9.3f}{cpu:>9.3f}{wall / full_s:>13.2f}")
    print(f"figures: {conv.total:,} conversations ({len(rows):,} sessions read), automation "
          f"{conv.automation_rate:.1%}, {conv.handed_off:,} handed off, {conv.abandoned:,} abandoned; "
          f"{result.cases.total:,} cases; compensation {fen_to_yuan(result.compensation_total_fen)} yuan; "
          f"{len(result.repeat_claimers):,} repeat claimers; score {result.score.total}")
    print(f"target: full report under 5 s -> {'met' if report_s < 5 else 'NOT met'} "
          f"(wall {report_s:.2f} s, cpu {report_cpu:.2f} s)")
    app.dispose()
    tracker.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
