"""`python -m bot nlu ...`: the NLU's training-data commands.

  logs-path                  print the labelled chat-logs file training will use (empty line: none), and why
  export-corrections OUT     write the agents' intent corrections (console) as labelled logs (JSONL)
"""
from __future__ import annotations

import argparse
import sys

from bot import labelled_logs


def _logs_path(_: argparse.Namespace) -> int:
    choice = labelled_logs.choose_logs_path()
    print(choice.path or "")
    print(f"labelled logs: {choice.path or 'none'} ({choice.reason})", file=sys.stderr)
    return 0


def _export_corrections(args: argparse.Namespace) -> int:
    from bot.db.corrections import export_corrections
    from bot.db.session import DatabaseUnavailable

    try:
        written = export_corrections(args.out, since=args.since)
    except DatabaseUnavailable as error:
        print(f"database unavailable: {error}", file=sys.stderr)
        return 3
    print(f"{written} corrected messages written to {args.out}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot nlu", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("logs-path", help="the labelled-logs file training will use").set_defaults(run=_logs_path)
    export = commands.add_parser("export-corrections", help="agents' intent corrections as labelled logs")
    export.add_argument("out", help="JSONL file to write")
    export.add_argument("--since", help="only corrections made on or after this date (YYYY-MM-DD)")
    export.set_defaults(run=_export_corrections)
    args = parser.parse_args(argv)
    return int(args.run(args))
