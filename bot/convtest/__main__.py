"""python -m bot.convtest PATH... — run conversation suites against the whole stack.

Exit codes: 0 every conversation passed; 1 a conversation failed or a suite file is broken;
2 nothing to run (no suite found, no model) or the stack did not start.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Optional

from bot.convtest.loader import load_paths
from bot.convtest.report import result_lines, summary_line, write_junit
from bot.convtest.runner import ConversationResult, Runner
from bot.convtest.stack import StackError, demo_shop_database, get_ok, newest_model, start_stack


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.convtest", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="suite files or folders (*.yml, *.yaml)")
    parser.add_argument("--model", help="model to serve (default: AFTERSALES_MODEL or the newest models/*.tar.gz)")
    parser.add_argument("--rasa-url", help="use a running Rasa server (started with --enable-api) instead of starting one")
    parser.add_argument("--actions-url", help="its action server, checked for health; it must run with AFTERSALES_TEST_CLOCK=1")
    parser.add_argument("--concurrency", type=int, default=4, help="conversations at once (default 4)")
    parser.add_argument("--junit", help="write JUnit XML to this file")
    parser.add_argument("-k", "--filter", help="only conversations whose name contains this text")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the transcript of failed conversations")
    parser.add_argument("--quiet", action="store_true", help="print failures and the summary only")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    loaded = load_paths(args.paths)
    for error in loaded.errors:
        print(f"ERROR {error}", file=sys.stderr)
    conversations = [c for c in loaded.conversations if not args.filter or args.filter in c.conversation.name]
    if not conversations:
        print("no conversation to run", file=sys.stderr)
        return 1 if loaded.errors else 2
    with tempfile.TemporaryDirectory(prefix="convtest-") as workdir:
        try:
            results = run(args, conversations, Path(workdir))
        except StackError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    return report(args, results, loaded.errors)


def run(args: argparse.Namespace, conversations: list, workdir: Path) -> list[ConversationResult]:
    if args.rasa_url:
        if not get_ok(f"{args.rasa_url.rstrip('/')}/status"):
            raise StackError(f"no Rasa server answers at {args.rasa_url}/status (started with --enable-api?)")
        if args.actions_url and not get_ok(f"{args.actions_url.rstrip('/')}/health"):
            raise StackError(f"the action server at {args.actions_url} does not answer /health")
        return run_against(args.rasa_url, args, conversations, workdir)
    model = Path(args.model) if args.model else newest_model()
    if model is None or not model.exists():
        raise StackError("no trained model: run scripts/train_if_stale.sh or pass --model")
    print(f"starting the stack with {model.name} …", file=sys.stderr)
    stack = start_stack(model, workdir / "stack", demo_shop_database(workdir / "base.db"))
    print(f"stack up in {stack.startup_s:.1f} s", file=sys.stderr)
    try:
        return run_against(stack.rasa_url, args, conversations, workdir)
    finally:
        stack.stop()


def run_against(rasa_url: str, args: argparse.Namespace, conversations: list, workdir: Path) -> list[ConversationResult]:
    progress = progress_bar(len(conversations))

    def done(result: ConversationResult) -> None:
        if progress is not None:
            progress.update(1)
            if result.status == "FAIL":
                progress.write(f"FAIL  {result.name}")

    runner = Runner(rasa_url, workdir / "conversations", concurrency=args.concurrency, on_done=done)
    (workdir / "conversations").mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(runner.run(conversations))
    finally:
        if progress is not None:
            progress.close()


def progress_bar(total: int):
    """A tqdm bar on a terminal only (CI logs stay readable)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    return tqdm(total=total, unit="conv", file=sys.stderr)


def report(args: argparse.Namespace, results: list[ConversationResult], errors: list) -> int:
    ordered = sorted(results, key=lambda r: (r.loaded.path, r.loaded.index))
    for result in ordered:
        if result.status == "PASS" and args.quiet:
            continue
        print("\n".join(result_lines(result, verbose=args.verbose)))
    if args.junit:
        write_junit(args.junit, ordered, errors)
    print(summary_line(ordered, errors))
    return 0 if all(r.passed for r in ordered) and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
