"""The compensation policy engine: `resolve(case, pack) -> Resolution`.

Pure and deterministic: every time comes from the case (`now` included), every figure from the pack,
money is integer fen. One small function per rule family, in modules along the domain's own lines
(`goods`, `ladder`, `delivery`, `returns`, `price_protection`, `services`; shared pieces in `context`);
`HANDLERS` maps each after-sales intent to the function that builds its options.

The options form a LADDER: the buyer is offered one step at a time, `refusals` says how many were
turned down, so `options[refusals]` is the current offer; past the last step a human takes over.
Two things can pre-empt the ladder: evidence the rule requires (a photo before any money) and facts
the engine cannot decide without (is the item still usable?). Then `current_offer` asks for them.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Union

from bot.policy.case import Case, parse_case
from bot.policy.context import PROBLEM_INTENTS, Ctx, compute_windows
from bot.policy.delivery import handle_delivery_status, handle_late_shipment, handle_not_received
from bot.policy.goods import (handle_counterfeit, handle_damage, handle_minor_defect, handle_missing_item,
                              handle_not_as_described, handle_wrong_item)
from bot.policy.loader import PolicyPack
from bot.policy.price_protection import handle_price_protection
from bot.policy.resolution import Option, Resolution
from bot.policy.returns import handle_cancel_order, handle_no_reason_return, handle_refund_status, handle_shipping_fee
from bot.policy.services import handle_invoice, handle_repair_warranty, handle_request_compensation

HANDLERS: Dict[str, Callable[[Ctx], List[Option]]] = {
    "damaged": handle_damage,
    "leaking": handle_damage,
    "quality_issue": handle_damage,
    "minor_defect": handle_minor_defect,
    "wrong_item": handle_wrong_item,
    "missing_item": handle_missing_item,
    "not_received": handle_not_received,
    "delivery_status": handle_delivery_status,
    "late_shipment": handle_late_shipment,
    "counterfeit": handle_counterfeit,
    "not_as_described": handle_not_as_described,
    "no_reason_return": handle_no_reason_return,
    "cancel_order": handle_cancel_order,
    "refund_status": handle_refund_status,
    "invoice": handle_invoice,
    "price_protection": handle_price_protection,
    "repair_warranty": handle_repair_warranty,
    "shipping_fee": handle_shipping_fee,
    "request_compensation": handle_request_compensation,
}


def apply_case_flags(ctx: Ctx, options: List[Option]) -> None:
    """Flags that do not depend on the intent: the after-sales window and abuse risk."""
    c = ctx.case
    pays_money = any(o.amount_fen > 0 for o in options)
    deadline = ctx.window.get("after_sales_deadline")
    if ctx.intent in PROBLEM_INTENTS and c.order_status == "completed" and deadline is not None and c.now > deadline:
        ctx.flags.update({"outside_window", "needs_human"})
        ctx.note(ctx.pack.single("after_sales_window"), f"已超过交易成功后{ctx.pack.single('after_sales_window').days}天的售后期")
    if c.prior_claims >= ctx.pack.settings.abuse.prior_claims_threshold:
        ctx.flags.add("abuse_risk")
        if pays_money:
            ctx.flags.add("needs_human")
    if ctx.flags & {"outside_window", "reason_unverified"} and pays_money:
        ctx.flags.add("needs_human")


def ask_option(ctx: Ctx, need: str, fallback_rule: Optional[Option]) -> Option:
    script = ctx.pack.settings.ask_scripts.get(need, ctx.pack.settings.handoff_script)
    what = {"photo": "请买家先提供清晰的商品问题照片", "usable": "请问商品还能正常使用吗",
            "items": "请先确认订单和商品", "return_shipping_quote": "请买家查询最便宜快递的退货运费",
            "problem": "请问遇到了什么问题", "price_now": "请提供商品现在的价格",
            "signed_at": "请先确认订单签收时间", "shipping_cost": "需核实买家原因产生的运费",
            "paid_at": "请先确认订单付款时间"}.get(need, f"需要补充：{need}")
    rule_id = fallback_rule.rule if fallback_rule else "-"
    seed = fallback_rule.seed_rule if fallback_rule else "-"
    return Option(kind="request_info", amount_fen=0, limit_fen=0, rule=rule_id, seed_rule=seed, script=script,
                  explanation=what + "。", needs=(need,))


def handoff_option(ctx: Ctx, last: Optional[Option]) -> Option:
    return Option(kind="handoff", amount_fen=0, limit_fen=0, rule=last.rule if last else "-",
                  seed_rule=last.seed_rule if last else "-", script=ctx.pack.settings.handoff_script,
                  explanation="已超出可自动给出的方案，转人工客服处理。")


def resolve(case: Union[Case, dict], pack: PolicyPack) -> Resolution:
    """Turn a case into its resolution. Raises CaseError for a bad case dict; never reads the clock."""
    case = parse_case(case)
    ctx = Ctx(case=case, pack=pack, intent=case.effective_intent)
    compute_windows(ctx)
    options = HANDLERS[ctx.intent](ctx)
    apply_case_flags(ctx, options)
    step = case.refusals
    current: Optional[Option]
    if ctx.needs:
        current = ask_option(ctx, ctx.needs[0], options[min(step, len(options) - 1)] if options else None)
    elif step < len(options):
        current = options[step]
        for need in current.needs:
            ctx.need(need)
    else:
        ctx.flags.add("needs_human")
        if options:
            ctx.flags.add("beyond_last_step")
        current = handoff_option(ctx, options[-1] if options else None)
    for opt in options:
        check_limits(opt)
    return Resolution(intent=case.intent, resolved_as=ctx.intent, options=tuple(options), step=step,
                      last_step=step >= len(options) - 1, current_offer=current, flags=tuple(sorted(ctx.flags)),
                      window=dict(ctx.window), needs=tuple(ctx.needs), notes=tuple(ctx.notes))


def check_limits(opt: Option) -> None:
    """The last line of defence: no option may leave the engine above its limit or negative."""
    if not 0 <= opt.amount_fen <= opt.limit_fen or any(p.amount_fen < 0 for p in opt.parts) or \
            sum(p.amount_fen for p in opt.parts) != opt.amount_fen:
        raise AssertionError(f"policy engine bug: option {opt.kind} of rule {opt.rule} breaks its limit: {opt}")
