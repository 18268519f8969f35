"""Problems with received goods: damaged, leaking, quality, minor defect, wrong, missing, not as described, fake.

Damaged, leaking and quality problems go through the negotiation ladder (`bot.policy.ladder`), or a full
refund when the item cannot be used; minor defects get the small fixed compensations (A4/A8); wrong and
not-as-described goods an exchange or a refund with the shop paying the shipping; a missing part is re-sent
or refunded (A5); a counterfeit claim is explained (假一赔十) and always goes to a human.
"""
from __future__ import annotations

from typing import List

from bot.policy.context import Ctx, first_rule, grants, option, yuan
from bot.policy.ladder import full_refund, ladder, unconditional_cash
from bot.policy.resolution import Option

def handle_damage(ctx: Ctx) -> List[Option]:
    """damaged / leaking / quality_issue: unusable -> A2 full refund, else the A1/A3/A7 ladder."""
    c, intent = ctx.case, ctx.intent
    options = wood_smell(ctx) if intent == "quality_issue" and c.defect == "smell" else []
    if not c.items:
        ctx.need("items")
        return options
    if c.usable is False:
        rule = first_rule(ctx.pack.for_intent("full_refund", intent))
        if rule is None:
            return options
        ctx.require_evidence(rule.evidence_required)
        return options + [full_refund(ctx, rule)]
    rule = first_rule(ctx.pack.for_intent("compensation_ladder", intent))
    if rule is None:
        return options
    ctx.require_evidence(rule.evidence_required)
    if c.usable is None:
        ctx.need("usable")
    if intent == "quality_issue":
        after = ctx.pack.single("refund_after_shipping")
        if "quality_issue" in after.hurts_ranking:
            ctx.note(after, "买家若以“商品质量问题”申请退款会影响商品排名，尽量协商解决")
    return options + ladder(ctx, rule)


def wood_smell(ctx: Ctx) -> List[Option]:
    scripts = ctx.pack.single("canned_scripts")
    if not ctx.case.categories() & set(scripts.wood_smell.categories):
        return []
    return [option(scripts, "guidance", scripts.wood_smell.script,
                   "实木产品全新有气味属正常现象，对人体无影响，先向买家解释。")]


def handle_minor_defect(ctx: Ctx) -> List[Option]:
    """A4 scratch 1-2 yuan; A8 scissor marks, bubbles, blemishes 1-2 yuan + 3 yuan rebate."""
    c = ctx.case
    if not c.items:
        ctx.need("items")
        return []
    defect = c.defect or "other"
    rules = ctx.pack.for_intent("small_compensation", "minor_defect")
    rule = first_rule([r for r in rules if defect in r.defects]) or first_rule([r for r in rules if "other" in r.defects])
    if rule is None:
        return []
    ctx.require_evidence(rule.evidence_required)
    cap = ctx.cash_cap_fen
    limit = min(max(rule.steps) + rule.review_rebate, cap)
    options: List[Option] = []
    for step in rule.steps:
        compensation = min(step, cap)
        rebate = min(rule.review_rebate, cap - compensation)
        if compensation + rebate == 0 or (options and compensation <= unconditional_cash(options[-1])):
            continue
        tail = f"，追评后再返现{yuan(rebate)}" if rebate else ""
        options.append(option(rule, "small_compensation", rule.script,
                              f"小瑕疵补偿：赔偿{yuan(compensation)}{tail}，不退货（本规则上限{yuan(limit)}）。",
                              grants(("compensation", compensation), ("review_rebate", rebate)),
                              limit_fen=limit, evidence=rule.evidence_required))
    return options


def seller_fault_return_options(ctx: Ctx, exchange_text: str, refund_text: str) -> List[Option]:
    """Wrong or not-as-described goods: the shop pays the return leg (up to its cap) for an exchange or refund."""
    c = ctx.case
    rule = ctx.pack.single("seller_fault_returns")
    ctx.require_evidence(rule.evidence_required)
    quote = c.return_shipping_quote
    shipping = min(quote, rule.max_return_shipping) if quote is not None else 0
    details = {"return_leg": "seller", "outbound_leg": "seller", "max_return_shipping_fen": rule.max_return_shipping}
    if quote is None:
        details["return_shipping"] = f"按实际退货运费报销，最多{yuan(rule.max_return_shipping)}"
    refund = c.concerned_paid_fen
    exchange = option(rule, "exchange", rule.scripts.exchange, exchange_text,
                      grants(("reship", 0), ("shipping_subsidy", shipping)), limit_fen=rule.max_return_shipping,
                      evidence=rule.evidence_required, details=details)
    refund_opt = option(rule, "return_refund", rule.scripts.refund, refund_text.format(refund=yuan(refund)),
                        grants(("refund", refund), ("shipping_subsidy", shipping)),
                        limit_fen=refund + rule.max_return_shipping, evidence=rule.evidence_required, details=details)
    return [exchange, refund_opt]


def handle_wrong_item(ctx: Ctx) -> List[Option]:
    if not ctx.case.items:
        ctx.need("items")
        return []
    return seller_fault_return_options(
        ctx, "发错货：补发正确商品，错发商品寄回，来回运费由店铺承担。",
        "发错货：买家不要换货则退货退款{refund}，来回运费由店铺承担。")


def handle_not_as_described(ctx: Ctx) -> List[Option]:
    c = ctx.case
    if not c.items:
        ctx.need("items")
        return []
    scripts = ctx.pack.single("canned_scripts")
    penalty = ctx.pack.single("penalty_points").points
    ctx.note(scripts, f"描述不符投诉按严重程度扣{penalty.get('not_as_described_severe', 0)}/"
                      f"{penalty.get('not_as_described_affects_use', 0)}/{penalty.get('not_as_described_minor', 0)}分，"
                      f"尽量协商解决")
    voucher = scripts.not_as_described.next_order_voucher
    first = option(scripts, "gift_and_voucher", scripts.not_as_described.script,
                   f"道歉，说明图片未及时更新；仓库补寄小礼品，并送下次购物优惠{yuan(voucher)}。",
                   grants(("reship", 0), ("voucher", voucher)), limit_fen=voucher)
    return [first] + seller_fault_return_options(
        ctx, "与描述不符：可换货，来回运费由店铺承担。", "与描述不符：退货退款{refund}，来回运费由店铺承担。")


def handle_missing_item(ctx: Ctx) -> List[Option]:
    """A5 re-send or refund the missing part; a missing promised gift is a broken promise (B scripts)."""
    c = ctx.case
    if not c.items:
        ctx.need("items")
        return []
    if "gift" in c.categories(c.concerned_items):
        return [broken_promise(ctx)]
    rule = first_rule(ctx.pack.for_intent("missing_item", "missing_item"))
    if rule is None:
        return []
    ctx.require_evidence(rule.evidence_required)
    refund = c.concerned_paid_fen
    return [
        option(rule, "reship", rule.scripts.reship, "少件：核实后尽快补发缺少的商品。", grants(("reship", 0))),
        option(rule, "refund_missing", rule.scripts.refund, f"少件：不补发则退还缺少部分的货款{yuan(refund)}。",
               grants(("refund", refund)), limit_fen=refund),
    ]


def broken_promise(ctx: Ctx) -> Option:
    scripts = ctx.pack.single("canned_scripts")
    points = ctx.pack.single("penalty_points").points.get("promise_broken", 0)
    ctx.note(ctx.pack.single("penalty_points"), f"承诺的赠品未兑现属违背承诺，投诉扣{points}分")
    compensation = scripts.broken_promise.compensation
    return option(scripts, "reship_gift_and_compensation", scripts.broken_promise.script,
                  f"赠品漏发：道歉，下次购物时一并补上赠品，并小额补偿{yuan(compensation)}。",
                  grants(("reship", 0), ("compensation", compensation)), limit_fen=compensation)


def handle_counterfeit(ctx: Ctx) -> List[Option]:
    """假一赔十 explained, the evidence the shop can show, and always a human (the platform decides)."""
    c = ctx.case
    rule = ctx.pack.single("counterfeit")
    after = ctx.pack.single("refund_after_shipping")
    ctx.require_evidence(rule.buyer_evidence)
    if rule.always_needs_human:
        ctx.flags.add("needs_human")
    if "counterfeit" in after.straight_to_platform_agent:
        ctx.flags.add("platform_agent")
        ctx.note(after, "买家选择“收到假货”退款原因会直接进入平台客服介入")
    ctx.note(rule, "可举证正品：" + "、".join(rule.shop_evidence))
    limit = rule.multiplier * c.concerned_paid_fen
    return [option(rule, "counterfeit_claim", rule.script,
                   f"假一赔十：若确认为假货最高赔付货款的{rule.multiplier}倍（{yuan(limit)}），由人工/平台核定；"
                   f"店铺需提供进货发票等正品证明。", limit_fen=limit, evidence=rule.buyer_evidence,
                   details={"multiplier": rule.multiplier, "shop_evidence": list(rule.shop_evidence)})]
