"""Who is calling the web service: an agent (bearer token) or a buyer (a signed widget token).

Agents: `Authorization: Bearer <token>`; the tokens and the agent ids they stand for come from
AFTERSALES_AGENT_TOKENS ("token1:alice,token2:bob"); without it one demo token works (DEMO_AGENT_TOKEN).
Buyers: the embedding shop signs the buyer's account id with the shared widget secret
(AFTERSALES_WIDGET_SECRET): `<buyer id>.<expiry unix time>.<hex HMAC-SHA256>`. The widget sends it back as
its bearer token; the buyer cannot change the id without breaking the signature. In demo mode
(AFTERSALES_DEMO, on by default) the demo page may ask the service to sign a token for a demo buyer.

Fail closed (issue 19): outside demo mode there is no default agent token and no default widget secret;
`check_production_settings()` says what to set and the web service refuses to start without them. Buyer
tokens live at most AFTERSALES_BUYER_TOKEN_MAX_TTL_S (default 24 h) whatever expiry they carry. Agent tokens
may carry an expiry ("token:agent:2027-01-31") and are refused once their SHA-256 is revoked in the
agent_tokens table (`python -m bot.web agent-token revoke TOKEN`). A malformed token (non-ASCII, wrong shape)
is a 401 like a wrong one.

Buyer tokens are never agent tokens: every agent endpoint answers 401 to them.
`require_agent` is the decorator other blueprints (the report page) share.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import wraps
from typing import Any, Awaitable, Callable, Optional

from sanic import Request
from sanic.response import HTTPResponse, json

DEMO_AGENT_TOKEN = "demo-agent-token"
DEMO_AGENT_ID = "demo"
DEMO_WIDGET_SECRET = "demo-widget-secret-change-me"
BUYER_TOKEN_TTL_S = 12 * 3600
BUYER_TOKEN_MAX_TTL_S = 24 * 3600
MIN_SECRET_CHARS = 32


class InsecureSettings(RuntimeError):
    """Production mode without the secrets it needs; the message says what to set."""


def buyer_token_max_ttl_s() -> int:
    return int(os.environ.get("AFTERSALES_BUYER_TOKEN_MAX_TTL_S") or BUYER_TOKEN_MAX_TTL_S)


def check_production_settings() -> None:
    """Raise InsecureSettings when demo mode is off and an agent token or the widget secret is missing."""
    if demo_mode():
        return
    problems = []
    if not _configured_agent_tokens():
        problems.append("AFTERSALES_AGENT_TOKENS (e.g. 'a-long-random-token:alice,another-one:bob')")
    secret = os.environ.get("AFTERSALES_WIDGET_SECRET", "")
    if len(secret) < MIN_SECRET_CHARS or secret == DEMO_WIDGET_SECRET:
        problems.append(f"AFTERSALES_WIDGET_SECRET (a random secret of at least {MIN_SECRET_CHARS} characters, "
                        "shared with the shop's server)")
    if problems:
        raise InsecureSettings("production mode (AFTERSALES_DEMO=0) needs " + " and ".join(problems)
                               + "; set them, or AFTERSALES_DEMO=1 for the demo")


def demo_mode() -> bool:
    """Demo mode: the demo-buyer picker may mint buyer tokens. Off with AFTERSALES_DEMO=0 (production)."""
    return os.environ.get("AFTERSALES_DEMO", "1") != "0"


def _configured_agent_tokens() -> dict[str, tuple[str, Optional[float]]]:
    """token -> (agent id, expiry as unix time or None) from AFTERSALES_AGENT_TOKENS."""
    tokens: dict[str, tuple[str, Optional[float]]] = {}
    for pair in os.environ.get("AFTERSALES_AGENT_TOKENS", "").split(","):
        token, _, rest = pair.strip().partition(":")
        agent, _, expiry = rest.partition(":")
        if not token or not agent:
            continue
        try:
            until = datetime.fromisoformat(expiry).replace(tzinfo=timezone.utc).timestamp() + 86400 if expiry else None
        except ValueError:
            continue  # an unreadable expiry does not make a token that never expires
        tokens[token] = (agent, until)
    return tokens


def agent_tokens(now: Optional[float] = None) -> dict[str, str]:
    """token -> agent id, for the tokens that are valid now. The demo token only in demo mode."""
    now = time.time() if now is None else now
    configured = {token: agent for token, (agent, until) in _configured_agent_tokens().items()
                  if until is None or now < until}
    if not configured and not _configured_agent_tokens() and demo_mode():
        return {DEMO_AGENT_TOKEN: DEMO_AGENT_ID}
    return configured


def widget_secret() -> bytes:
    secret = os.environ.get("AFTERSALES_WIDGET_SECRET", "")
    if not secret:
        if not demo_mode():
            raise InsecureSettings("AFTERSALES_WIDGET_SECRET is not set (production mode)")
        secret = DEMO_WIDGET_SECRET
    return secret.encode()


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def agent_for_token(token: str, db_url: Optional[str] = None) -> Optional[str]:
    """The agent id for a token; compare_digest so a wrong token takes as long as a right one. Tokens issued
    into the agent_tokens table count until they expire; a revoked hash is refused wherever the token is set."""
    if not token or not token.isascii():
        return None
    found = None
    for known, agent in agent_tokens().items():
        if hmac.compare_digest(token.encode(), known.encode()):
            found = agent
    issued = _issued_token(token, db_url)
    if issued is not None:
        agent, usable = issued
        found = (agent if usable else None) if found is None or usable else None
    return found


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issued_token(token: str, db_url: Optional[str]) -> Optional[tuple[str, bool]]:
    """(agent id, usable now) for a token in the agent_tokens table, None when it is not there."""
    from bot.clock import now_cn
    from bot.db.models import AgentToken
    from bot.db.session import DatabaseUnavailable, session_scope
    try:
        with session_scope(db_url) as session:
            row = session.get(AgentToken, token_hash(token))
            if row is None:
                return None
            return row.agent_id, row.revoked_at is None and row.expires_at > now_cn()
    except DatabaseUnavailable:
        return None
    except Exception:  # noqa: BLE001 — no agent_tokens table yet (an old schema): env tokens only
        return None


def agent_from_request(request: Request) -> Optional[str]:
    return agent_for_token(bearer(request), getattr(request.app.ctx, "db_url", None))


def require_agent(handler: Callable[..., Awaitable[HTTPResponse]]) -> Callable[..., Awaitable[HTTPResponse]]:
    """401 unless the request carries an agent's bearer token; the handler finds it in request.ctx.agent_id."""
    @wraps(handler)
    async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        agent = agent_from_request(request)
        if agent is None:
            return json({"error": "agent token required"}, status=401,
                        headers={"WWW-Authenticate": 'Bearer realm="agents"'})
        request.ctx.agent_id = agent
        return await handler(request, *args, **kwargs)
    return guarded


# ---------------------------------------------------------------------- buyer tokens

@dataclass(frozen=True)
class BuyerIdentity:
    buyer_id: str
    expires: int


def _signature(payload: str) -> str:
    return hmac.new(widget_secret(), payload.encode(), hashlib.sha256).hexdigest()


def sign_buyer_token(buyer_id: str, ttl_s: int = BUYER_TOKEN_TTL_S, now: Optional[float] = None) -> str:
    """What the shop's server puts into the embed snippet for a logged-in buyer."""
    if not buyer_id or "." in buyer_id or not buyer_id.isascii():
        raise ValueError("a buyer id must be non-empty ASCII and contain no dot")
    if not 0 < ttl_s <= buyer_token_max_ttl_s():
        raise ValueError(f"a buyer token lives at most {buyer_token_max_ttl_s()} s (AFTERSALES_BUYER_TOKEN_MAX_TTL_S)")
    expires = int((now if now is not None else time.time()) + ttl_s)
    payload = f"{buyer_id}.{expires}"
    return f"{payload}.{_signature(payload)}"


def verify_buyer_token(token: str, now: Optional[float] = None) -> Optional[BuyerIdentity]:
    """The buyer a token names, or None when it is malformed, forged, expired or longer-lived than the
    maximum (a token minted with a far expiry by whoever had the secret once)."""
    if not token or not token.isascii():
        return None
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
        return None
    buyer_id, expires, signature = parts
    try:
        expected = _signature(f"{buyer_id}.{expires}")
    except InsecureSettings:
        return None
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    now = now if now is not None else time.time()
    if int(expires) < now or int(expires) > now + buyer_token_max_ttl_s():
        return None
    return BuyerIdentity(buyer_id, int(expires))


def require_buyer(handler: Callable[..., Awaitable[HTTPResponse]]) -> Callable[..., Awaitable[HTTPResponse]]:
    """401 unless the request carries a valid buyer token; the handler finds the id in request.ctx.buyer_id."""
    @wraps(handler)
    async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        identity = verify_buyer_token(bearer(request))
        if identity is None:
            return json({"error": "buyer token required"}, status=401)
        request.ctx.buyer_id = identity.buyer_id
        return await handler(request, *args, **kwargs)
    return guarded
