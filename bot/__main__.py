"""`python -m bot COMMAND ...`: the core's command line.

  resolve   read a case as JSON on stdin, print the policy engine's resolution (bot.policy.cli)
  db        create/upgrade the database schema and seed the demo shop (bot.db.cli)
  nlu       training data: which labelled chat logs training uses, export agents' corrections (bot.nlu_cli)
  catalog   the shop's listings and prices: list, show SKU, set-price SKU 18.00 (bot.db.catalog_cli)

Each sub-command lives in its own module and is imported only when used, so `python -m bot resolve`
does not pay for the database layer and vice versa.
"""
from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "resolve": "bot.policy.cli",
    "db": "bot.db.cli",
    "nlu": "bot.nlu_cli",
    "catalog": "bot.db.catalog_cli",
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(__doc__.strip(), file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
