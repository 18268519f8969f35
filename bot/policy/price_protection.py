"""D 价保: refund a price drop after payment, with the catalog's price, never the buyer's.
"""
from __future__ import annotations

from typing import List

from bot.policy.context import Ctx, option, yuan
from bot.policy.resolution import Option, Part

def handle_price_protection(ctx: Ctx) -> List[Option]:
    """D 价保: only a listing with the tag promises it; refund the drop within the window after payment.

    The current price is `price_now` (the catalog's, at the time of the request). A price the buyer states
    (`price_claimed`) is a claim: without a catalog price an agent checks it (the case goes to a human with
    the figure), and with one it is only compared. One refund per order line and price: what was refunded
    before (`price_refunded`) is taken off, so asking again for the same drop pays nothing."""
    c = ctx.case
    rule = ctx.pack.single("price_protection")
    if rule is None:
        ctx.flags.add("needs_human")
        return []
    if not set(c.service_tags) & set(rule.service_tags):
        return [option(rule, "not_covered", rule.scripts.not_covered,
                       "该商品没有价保承诺，降价差额不在自动补偿范围内，可转人工酌情处理。")]
    concerned = c.concerned_items
    if len(concerned) != 1:
        ctx.need("items")
        return []
    if c.item_refunded:
        return [option(rule, "item_refunded", rule.scripts.not_covered, "这件商品已经退款，不再享受价保。")]
    deadline = ctx.window.get("price_protection_deadline")
    if deadline is not None and c.now > deadline:
        ctx.flags.add("outside_window")
        return [option(rule, "not_covered", rule.scripts.not_covered, "已超过付款后的价保期。")]
    price_now = c.price_now if c.price_now is not None else c.price_claimed
    if price_now is None:
        ctx.need("price_now")
        return []
    if c.price_now is None:
        ctx.flags.update({"price_unverified", "needs_human"})
        ctx.note(rule, f"买家称现价{yuan(c.price_claimed)}，商品目录里没有这件商品的价格，需人工核实后再退差价")
    item = concerned[0]
    units = item.faulty_qty or item.qty
    # what one unit cost the buyer (a discount counts: the difference is measured from what was paid)
    paid_unit = min(item.price, item.concerned_paid_fen() // units)
    details = {"sku": item.sku, "price_now_fen": price_now, "paid_unit_fen": paid_unit, "units": units,
               "price_source": "catalog" if c.price_now is not None else "buyer"}
    if c.price_claimed is not None and c.price_now is not None and c.price_claimed != c.price_now:
        details["price_claimed_fen"] = c.price_claimed
        ctx.note(rule, f"买家说现价{yuan(c.price_claimed)}，商品目录现价{yuan(c.price_now)}：以目录价格为准")
    if price_now >= paid_unit:
        return [option(rule, "price_not_lower", rule.scripts.not_covered,
                       f"商品现价{yuan(price_now)}，没有低于您购买时的{yuan(paid_unit)}，没有差价可退。",
                       details=details)]
    total = min((paid_unit - price_now) * units, item.concerned_paid_fen())
    refunded = c.price_refunded or 0
    difference = max(0, total - refunded)
    details["already_refunded_fen"] = refunded
    if difference == 0:
        return [option(rule, "already_refunded", rule.scripts.already_refunded,
                       f"这次降价的差价{yuan(total)}已经退过了，不会重复退。", details=details)]
    before = f"（已退过{yuan(refunded)}）" if refunded else ""
    return [option(rule, "price_difference_refund", rule.scripts.refund_difference,
                   f"价保期内降价：购买价{yuan(paid_unit)}，现价{yuan(price_now)}，退差价{yuan(difference)}"
                   f"（{units}件）{before}。", [Part(kind="refund", amount_fen=difference, state="paid")],
                   limit_fen=item.concerned_paid_fen() - refunded, details=details)]
