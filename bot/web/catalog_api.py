"""The agents' catalog API: list the shop's listings and change a price (bearer-token auth, bot.web.auth).

  GET  /api/agent/catalog?shop=demo_tmall           listings with current price, tags and price history
  POST /api/agent/catalog/<sku>/price               {"price": "18.00", "shop"?: "demo_tmall", "reason"?: "…",
                                                     "effective_from"?: ISO time}

A change is recorded as a new price-history row with changed_by "agent:<id>" (the audit trail price
protection reads). A bad price or an unknown SKU is a 400/404 and changes nothing.
"""
from __future__ import annotations

from typing import Optional

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bot.clock import now_cn, parse_time
from bot.db import catalog
from bot.db.session import DatabaseUnavailable, session_scope
from bot.money import MoneyError, fen_to_yuan, yuan_to_fen
from bot.web.agent import in_thread
from bot.web.auth import require_agent

catalog_bp = Blueprint("catalog")
DEFAULT_SHOP = "demo_tmall"


@catalog_bp.get("/api/agent/catalog")
@require_agent
async def list_catalog(request: Request) -> HTTPResponse:
    shop = request.args.get("shop") or DEFAULT_SHOP
    try:
        rows = await in_thread(request, _listings, request.app.ctx.db_url, shop)
    except DatabaseUnavailable as exc:
        return json({"error": f"order database unavailable: {exc}"}, status=503)
    return json({"shop": shop, "listings": rows})


@catalog_bp.post("/api/agent/catalog/<sku>/price")
@require_agent
async def set_price(request: Request, sku: str) -> HTTPResponse:
    body = request.json if isinstance(request.json, dict) else {}
    try:
        fen = yuan_to_fen(str(body.get("price", "")).strip())
    except (MoneyError, ValueError, ArithmeticError):
        return json({"error": "price: a yuan amount such as \"18.00\""}, status=400)
    try:
        when = parse_time(body["effective_from"]) if body.get("effective_from") else None
    except (ValueError, TypeError):
        return json({"error": "effective_from: an ISO-8601 time"}, status=400)
    shop = str(body.get("shop") or DEFAULT_SHOP)
    try:
        change = await in_thread(request, _set_price, request.app.ctx.db_url, shop, sku, fen,
                                 f"agent:{request.ctx.agent_id}", str(body.get("reason") or ""), when)
    except catalog.CatalogError as exc:
        return json({"error": str(exc)}, status=404 if "no listing" in str(exc) or "no shop" in str(exc) else 400)
    except DatabaseUnavailable as exc:
        return json({"error": f"order database unavailable: {exc}"}, status=503)
    return json(change)


def _listings(db_url: Optional[str], shop: str) -> list[dict]:
    with session_scope(db_url) as session:
        now = now_cn()
        out = []
        for entry in catalog.listings(session, shop):
            current = catalog.price_at(entry, now)
            out.append({"sku": entry.sku, "title": entry.title, "service_tags": list(entry.service_tags or []),
                        "price": fen_to_yuan(current) if current is not None else None,
                        "history": [{**row, "price": fen_to_yuan(row.pop("price_fen"))}
                                    for row in catalog.history(entry)]})
        return out


def _set_price(db_url: Optional[str], shop: str, sku: str, fen: int, changed_by: str, reason: str,
               when) -> dict:
    with session_scope(db_url) as session:
        change = catalog.set_price(session, shop, sku, fen, changed_by=changed_by, reason=reason,
                                   effective_from=when)
        return {"sku": change.sku, "shop": change.shop_code, "created": change.created,
                "old_price": fen_to_yuan(change.old_fen) if change.old_fen is not None else None,
                "price": fen_to_yuan(change.new_fen), "effective_from": change.effective_from.isoformat(),
                "changed_by": change.changed_by}
