"""`python -m bot.report`: the service report, and the demo history behind it.

  python -m bot.report --since 2026-11-01 --until 2026-11-23 [--csv DIR] [--json]
      print the figures for [since, until) (China time; a bare date is its midnight) as tables,
      or as JSON; --csv also writes one CSV file per table into DIR. Default period: the last 28 days and today.
  python -m bot.report seed-history [--conversations N] [--days D] [--seed S] [--replace]
      write N past conversations (tracker events + cases, hand-offs, ledger) over the D days before
      yesterday (the console's live list covers the last 24 hours: it stays the real ones);
      does nothing if the history is already there (unless --replace). Run it after `python -m bot db seed`.
  python -m bot.report tracker-index
      add the report's two indexes to Rasa's events table (once; the report is slow without them).

The order database is AFTERSALES_DB_URL (or --db-url), the tracker store AFTERSALES_TRACKER_DB_URL
(or --tracker-url; default sqlite:///var/tracker.db). Exit status 3: a database cannot be reached.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from bot.clock import now_cn
from bot.db.session import DatabaseUnavailable, get_engine, sqlite_file
from bot.report import run_report, tracker_engine
from bot.report.history import HistoryConfig, seed_history
from bot.report.period import Period
from bot.report.render import text, write_csv
from bot.report.settings import report_settings, tracker_db_url
from bot.report.tracker import ensure_report_indexes, has_events_table

EXIT_UNAVAILABLE = 3
DEFAULT_DAYS = 28


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "seed-history":
            return seed_history_command(argv[1:])
        if argv and argv[0] == "tracker-index":
            return tracker_index_command(argv[1:])
        return report_command(argv)
    except (DatabaseUnavailable, OperationalError) as exc:
        print(f"bot.report: database unavailable: {str(getattr(exc, 'orig', exc)).splitlines()[0]}", file=sys.stderr)
        return EXIT_UNAVAILABLE


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-url", help="order database URL (default: AFTERSALES_DB_URL or var/aftersales.db)")
    parser.add_argument("--tracker-url", help="tracker store URL (default: AFTERSALES_TRACKER_DB_URL or "
                                              "sqlite:///var/tracker.db)")


def report_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.report", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--since", help="first day (or ISO time) included, China time")
    parser.add_argument("--until", help="first day (or ISO time) NOT included, China time")
    parser.add_argument("--csv", type=Path, metavar="DIR", help="also write one CSV per table into DIR")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    _common(parser)
    args = parser.parse_args(argv)
    now = now_cn()
    try:
        period = _period(args.since, args.until, now)
    except ValueError as exc:
        parser.error(str(exc))
    report = run_report(period, app_url=args.db_url, tracker_url=args.tracker_url, now=now,
                        settings=report_settings(args.tracker_url))
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json else text(report), end="")
    if args.json:
        print()
    if args.csv:
        written = write_csv(report, args.csv)
        print(f"wrote {len(written)} CSV files to {args.csv}", file=sys.stderr)
    return 0


def _period(since: str | None, until: str | None, now) -> Period:
    if since is None and until is None:
        return Period.last_days(DEFAULT_DAYS, now)
    if since is None or until is None:
        raise ValueError("give both --since and --until (or neither, for the last 28 days)")
    return Period.parse(since, until)


def tracker_index_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.report tracker-index",
                                     description="add the report's indexes to the tracker store's events table")
    _common(parser)
    args = parser.parse_args(argv)
    engine = tracker_engine(args.tracker_url or tracker_db_url())
    if engine is None or not has_events_table(engine):
        print("bot.report: the tracker store has no events table yet (start Rasa once, or seed-history)",
              file=sys.stderr)
        return 1
    try:
        created = ensure_report_indexes(engine)
    finally:
        engine.dispose()
    print(f"created {', '.join(created)}" if created else "the report's indexes are already there")
    return 0


def seed_history_command(argv: list[str]) -> int:
    defaults = HistoryConfig()
    parser = argparse.ArgumentParser(prog="python -m bot.report seed-history",
                                     description="write demo history: past conversations, cases, ledger")
    parser.add_argument("--conversations", type=int, default=defaults.conversations)
    parser.add_argument("--days", type=int, default=defaults.days, help="spread them over the last D days")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed (same seed, same history)")
    parser.add_argument("--replace", action="store_true", help="delete the generated history first")
    _common(parser)
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.days < 1:
        parser.error("--conversations and --days must be at least 1")
    url = args.tracker_url or tracker_db_url()
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    tracker = create_engine(url, future=True)
    try:
        config = HistoryConfig(conversations=args.conversations, days=args.days, seed=args.seed)
        # A day before now: the console lists cases of the last 24 hours as live conversations.
        end = now_cn().replace(microsecond=0) - timedelta(days=1)
        summary = seed_history(get_engine(args.db_url), tracker, config, end=end, replace=args.replace)
    except RuntimeError as exc:
        print(f"bot.report: {exc}", file=sys.stderr)
        return 1
    finally:
        tracker.dispose()
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
