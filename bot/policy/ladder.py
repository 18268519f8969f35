"""A1/A3/A7, the negotiation ladder for a faulty item the buyer keeps.

One step at a time: a first offer (cash + good-review rebate, within the rule's maximum), then a return with
a shipping subsidy or a raised compensation (or asking the return-shipping quote first), and last the
half-price compensation. Every cash step is capped by `Ctx.cash_cap_fen` (half of what was paid, rounded
down to whole yuan).
"""
from __future__ import annotations

from typing import Dict, List, Optional

from bot.policy.context import Ctx, grants, option, yuan
from bot.policy.resolution import Option
from bot.policy.schema import RuleBase

def ladder(ctx: Ctx, rule: RuleBase) -> List[Option]:
    """First offer -> (return with subsidy | raised compensation | ask the quote) -> half price (last)."""
    cap = ctx.cash_cap_fen
    steps: List[Option] = []
    first = ladder_first_offer(ctx, rule, cap)
    if first is not None:
        steps.append(first)
    middle = ladder_middle_step(ctx, rule, cap, first)
    if middle is not None:
        steps.append(middle)
    best_cash = max((unconditional_cash(o) for o in steps), default=0)
    if rule.half_price_last_step and cap > best_cash:
        steps.append(option(rule, "half_price_compensation", rule.scripts.half_price,
                            f"最后一步：按商品实付价的一半赔偿{yuan(cap)}，买家保留商品，不退货（能不退就不退）。",
                            grants(("compensation", cap)), limit_fen=cap, evidence=rule.evidence_required))
    return steps


def unconditional_cash(opt: Option) -> int:
    return sum(p.amount_fen for p in opt.parts if p.kind == "compensation")


def ladder_first_offer(ctx: Ctx, rule: RuleBase, cap: int) -> Optional[Option]:
    """2 yuan + 3 yuan good-review rebate (A3: plus a sealing ring), never above 5 yuan nor the cash cap.

    On a cheap item where the cap bites, the (conditional) rebate is trimmed before the compensation.
    """
    offer = rule.first_offer
    compensation = min(offer.compensation, cap)
    rebate = min(offer.review_rebate, cap - compensation)
    reships = [("reship", 0) for _ in rule.reship_with_first_offer]
    parts = grants(("compensation", compensation), ("review_rebate", rebate), *reships)
    if not parts:
        return None
    extra = f"，并补寄{'、'.join(rule.reship_with_first_offer)}" if rule.reship_with_first_offer else ""
    text = (f"先赔偿{yuan(compensation)}，买家追评后再返现{yuan(rebate)}（返现在好评发布后才付），"
            f"合计{yuan(compensation + rebate)}{extra}，首次报价不超过{yuan(min(offer.limit, cap))}。")
    return option(rule, "compensation_with_rebate", rule.scripts.first_offer, text, parts,
                  limit_fen=min(offer.limit, cap), evidence=rule.evidence_required,
                  details={"reship": list(rule.reship_with_first_offer)} if reships else None)


def ladder_middle_step(ctx: Ctx, rule: RuleBase, cap: int, first: Optional[Option]) -> Optional[Option]:
    """After one refusal the buyer's return shipping quote decides: return (<= threshold) or raise (> it)."""
    quote = ctx.case.return_shipping_quote
    if quote is None:
        return option(rule, "ask_return_quote", rule.scripts.ask_return_quote,
                      f"买家不接受首次方案：先请买家查最便宜的快递退货运费，≤{yuan(rule.return_shipping_threshold)}"
                      f"则退货补差价，超过则加赔让买家留下商品。", needs=("return_shipping_quote",),
                      evidence=rule.evidence_required)
    if quote <= rule.return_shipping_threshold:
        return return_with_subsidy(ctx, rule, quote)
    return raised_compensation(ctx, rule, cap, first)


def return_with_subsidy(ctx: Ctx, rule: RuleBase, quote: int) -> Option:
    """Return the faulty items; the shop pays the "difference" of the return shipping.

    Reading of 差价 (documented in docs/policy.md): what the buyer's cheapest courier costs beyond what
    freight insurance pays back. Without insurance that is the whole quote. The shop's share (insurance
    included) never exceeds the threshold, and for a partly faulty order (A9) only faulty items count.
    With insurance but no known payout yet, the subsidy shown is the ceiling, settled on the real payout.
    """
    c = ctx.case
    shop_cap = rule.return_shipping_threshold
    partial = ctx.pack.single("partial_return_shipping")
    details: Dict[str, object] = {"return_shipping_quote_fen": quote}
    if c.some_items_fine:
        shop_cap = min(shop_cap, partial.max_shop_shipping)
        details["shipping_rule"] = partial.id
        ctx.note(partial, f"只承担有问题商品的退货运费（运费险+差价共计不超过{yuan(partial.max_shop_shipping)}），"
                          f"好的商品一起退回的运费由买家承担")
    covered = min(quote, shop_cap)
    if c.freight_insurance and c.freight_insurance_payout is None:
        subsidy = covered
        details["subsidy_is_ceiling"] = True
        how = f"运费险理赔后，差额由店铺补，最多{yuan(subsidy)}"
    else:
        payout = (c.freight_insurance_payout or 0) if c.freight_insurance else 0
        subsidy = max(0, covered - payout)
        how = (f"运费险赔付{yuan(payout)}后差额{yuan(subsidy)}由店铺补" if c.freight_insurance
               else f"无运费险，退货运费{yuan(subsidy)}由店铺补")
    refund = c.concerned_paid_fen
    return option(rule, "return_with_shipping_subsidy", rule.scripts.return_with_subsidy,
                  f"买家退货运费{yuan(quote)}不超过{yuan(rule.return_shipping_threshold)}：同意退货退款{yuan(refund)}，"
                  f"{how}。", grants(("refund", refund), ("shipping_subsidy", subsidy)),
                  limit_fen=refund + shop_cap, evidence=rule.evidence_required, details=details)


def raised_compensation(ctx: Ctx, rule: RuleBase, cap: int, first: Optional[Option]) -> Optional[Option]:
    """Quote above the threshold: more cash (no review condition) so the buyer keeps the item."""
    base = first.keep_item_cash_fen if first is not None else 0
    amount = min(base + rule.raise_increment, cap)
    if amount <= (unconditional_cash(first) if first is not None else 0):
        return None
    return option(rule, "raised_compensation", rule.scripts.raised_compensation,
                  f"买家退货运费{yuan(ctx.case.return_shipping_quote)}超过{yuan(rule.return_shipping_threshold)}，"
                  f"不退货，直接赔偿{yuan(amount)}（无需好评，不超过实付价一半{yuan(cap)}）。",
                  grants(("compensation", amount)), limit_fen=cap, evidence=rule.evidence_required)


def full_refund(ctx: Ctx, rule: RuleBase) -> Option:
    refund = ctx.case.concerned_paid_fen
    return option(rule, "full_refund", rule.script,
                  f"商品已无法使用：全额赔付{yuan(refund)}，可走退款申请，或买家确认收货后直接转支付宝。",
                  grants(("refund", refund)), limit_fen=refund, evidence=rule.evidence_required,
                  details={"channels": list(rule.channels)})
