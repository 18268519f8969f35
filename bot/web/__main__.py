"""`python -m bot.web [--host H] [--port 8000]`: serve the widget, the console and the copilot API.
`python -m bot.web agent-token issue AGENT [--days 30]` / `agent-token revoke TOKEN`: expiring, revocable agent tokens.
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
    if argv and argv[0] == "agent-token":
        return agent_token_command(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bot.web", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", "8000")))
    args = parser.parse_args(argv)
    from bot.web.auth import InsecureSettings, check_production_settings
    try:
        check_production_settings()
    except InsecureSettings as exc:
        print(f"bot.web: refusing to start: {exc}", file=sys.stderr)
        return 2
    from bot.web.app import create_app  # Sanic only when serving
    app = create_app()
    app.run(host=args.host, port=args.port, access_log=False, workers=1)
    return 0


def agent_token_command(argv: list[str]) -> int:
    """`agent-token issue AGENT [--days N]` prints a new token (only its hash is stored);
    `agent-token revoke TOKEN` ends it (also when the same token is in AFTERSALES_AGENT_TOKENS)."""
    import secrets
    from datetime import timedelta

    from bot.clock import now_cn
    from bot.db.models import AgentToken
    from bot.db.session import session_scope
    from bot.web.auth import token_hash

    parser = argparse.ArgumentParser(prog="python -m bot.web agent-token")
    sub = parser.add_subparsers(dest="command", required=True)
    issue = sub.add_parser("issue")
    issue.add_argument("agent_id")
    issue.add_argument("--days", type=int, default=30)
    revoke = sub.add_parser("revoke")
    revoke.add_argument("token")
    args = parser.parse_args(argv)
    with session_scope() as session:
        if args.command == "issue":
            token = secrets.token_urlsafe(32)
            session.add(AgentToken(token_sha256=token_hash(token), agent_id=args.agent_id,
                                   expires_at=now_cn() + timedelta(days=args.days)))
            print(token)
            return 0
        row = session.get(AgentToken, token_hash(args.token))
        if row is None:
            row = AgentToken(token_sha256=token_hash(args.token), agent_id="(configured)", expires_at=now_cn())
            session.add(row)
        row.revoked_at = now_cn()
    print("revoked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
