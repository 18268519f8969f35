"""Who is calling the web service: an agent (bearer token) or a buyer (a signed widget token).

Agents: `Authorization: Bearer <token>`; the tokens and the agent ids they stand for come from
AFTERSALES_AGENT_TOKENS ("token1:alice,token2:bob"); without it one demo token works (DEMO_AGENT_TOKEN).
Buyers: the embedding shop signs the buyer's account id with the shared widget secret
(AFTERSALES_WIDGET_SECRET): `<buyer id>.<expiry unix time>.<hex HMAC-SHA256>`. The widget sends it back as
its bearer token; the buyer cannot change the id without breaking the signature. In demo mode
(AFTERSALES_DEMO, on by default) the demo page may ask the service to sign a token for a demo buyer.

Buyer tokens are never agent tokens: every agent endpoint answers 401 to them.
`require_agent` is the decorator other blueprints (the report page) share.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from functools import wraps
from typing import Any, Awaitable, Callable, Optional

from sanic import Request
from sanic.response import HTTPResponse, json

DEMO_AGENT_TOKEN = "demo-agent-token"
DEMO_AGENT_ID = "demo"
DEMO_WIDGET_SECRET = "demo-widget-secret-change-me"
BUYER_TOKEN_TTL_S = 12 * 3600


def demo_mode() -> bool:
    """Demo mode: the demo-buyer picker may mint buyer tokens. Off with AFTERSALES_DEMO=0 (production)."""
    return os.environ.get("AFTERSALES_DEMO", "1") != "0"


def agent_tokens() -> dict[str, str]:
    """token -> agent id."""
    configured = os.environ.get("AFTERSALES_AGENT_TOKENS", "").strip()
    if not configured:
        return {DEMO_AGENT_TOKEN: DEMO_AGENT_ID}
    tokens = {}
    for pair in configured.split(","):
        token, _, agent = pair.strip().partition(":")
        if token and agent:
            tokens[token] = agent
    return tokens


def widget_secret() -> bytes:
    return os.environ.get("AFTERSALES_WIDGET_SECRET", DEMO_WIDGET_SECRET).encode()


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def agent_for_token(token: str) -> Optional[str]:
    """The agent id for a token; compare_digest so a wrong token takes as long as a right one."""
    found = None
    for known, agent in agent_tokens().items():
        if token and hmac.compare_digest(token.encode(), known.encode()):
            found = agent
    return found


def agent_from_request(request: Request) -> Optional[str]:
    return agent_for_token(bearer(request))


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
    if not buyer_id or "." in buyer_id:
        raise ValueError("a buyer id must be non-empty and contain no dot")
    expires = int((now if now is not None else time.time()) + ttl_s)
    payload = f"{buyer_id}.{expires}"
    return f"{payload}.{_signature(payload)}"


def verify_buyer_token(token: str, now: Optional[float] = None) -> Optional[BuyerIdentity]:
    """The buyer a token names, or None when it is malformed, forged or expired."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1].isdigit():
        return None
    buyer_id, expires, signature = parts
    if not hmac.compare_digest(signature, _signature(f"{buyer_id}.{expires}")):
        return None
    if int(expires) < (now if now is not None else time.time()):
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
