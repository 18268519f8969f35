"""`python -m bot.web [--host H] [--port 8000]`: serve the widget, the console and the copilot API.
`python -m bot.web token BUYER_ID [--ttl SECONDS]`: print a signed buyer token (what a shop's server puts
into the embed snippet for its logged-in buyer; uses AFTERSALES_WIDGET_SECRET)."""
from __future__ import annotations

import argparse
import os
import sys

from bot.web.auth import BUYER_TOKEN_TTL_S, sign_buyer_token


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "token":
        parser = argparse.ArgumentParser(prog="python -m bot.web token")
        parser.add_argument("buyer_id")
        parser.add_argument("--ttl", type=int, default=BUYER_TOKEN_TTL_S)
        args = parser.parse_args(argv[1:])
        print(sign_buyer_token(args.buyer_id, args.ttl))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bot.web", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8000")))
    args = parser.parse_args(argv)
    from bot.web.app import create_app  # Sanic only when serving
    app = create_app()
    app.run(host=args.host, port=args.port, access_log=False, workers=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
