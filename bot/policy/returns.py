"""Money back: cancelling before shipping, the 7-day no-reason return, refund progress and who pays shipping.

Cancelling and returning call each other by order status (an unshipped order is cancelled, a signed one
returned), so they live together. `return_services` gathers the pick-up, freight insurance and fast refund
facts (C) that a return offer shows.
"""
from __future__ import annotations

from typing import Dict, List

from bot.money import percent_of
from bot.policy.context import BUYER_FAULT_NOTE, Ctx, applies_to_platform, grants, option, refund_less_buyer_fault, yuan
from bot.policy.delivery import courier_options, late_shipping_amount
from bot.policy.resolution import Option
from bot.policy.schema import RuleBase

def handle_cancel_order(ctx: Ctx) -> List[Option]:
    c = ctx.case
    rule = ctx.pack.single("refund_before_shipping")
    if c.order_status == "unpaid":
        return [option(rule, "guidance", rule.scripts.refund, "订单未付款，可直接取消，无需退款。")]
    if c.order_status == "paid_unshipped":
        return refund_before_shipping(ctx, rule)
    if c.order_status == "shipped":
        return courier_options(ctx)[1:]
    if c.order_status in ("signed", "completed"):
        return handle_no_reason_return(ctx)
    return [option(rule, "guidance", rule.scripts.refund, "订单已关闭或状态未知，请核实订单。")]


def refund_before_shipping(ctx: Ctx, rule: RuleBase) -> List[Option]:
    """B: out of stock / late shipping compensate; a compensating reason that is not true must change."""
    c = ctx.case
    refund = c.concerned_paid_fen
    plain = option(rule, "refund", rule.scripts.refund, f"未发货，同意退款{yuan(refund)}。",
                   grants(("refund", refund)), limit_fen=refund)
    if c.reason not in rule.compensating_reasons:
        return [plain]
    if c.reason == "late_shipping":
        if ctx.window.get("shipping_late") is False:
            ctx.flags.add("reason_unverified")
            ctx.note(rule, "买家选了“未按约定时间发货”但尚未超时：请买家修改退款原因，不同意则由平台客服判定")
            return [option(rule, "refund_change_reason", rule.scripts.change_reason,
                           f"尚未超过发货时限：请买家把退款原因改为“不想要了”后退款{yuan(refund)}。",
                           grants(("refund", refund)), limit_fen=refund)]
        late, amount, payout = late_shipping_amount(ctx)
        return [option(late, "refund_with_late_compensation", late.scripts.compensate,
                       f"未按约定时间发货：退款{yuan(refund)}，并赔付{yuan(amount)}。",
                       grants(("refund", refund), (payout, amount)), limit_fen=refund + amount)]
    return [out_of_stock_refund(ctx, refund)]


def out_of_stock_refund(ctx: Ctx, refund: int) -> Option:
    """B: the pack's setting chooses 30% capped at 500 yuan, or 5% of the order as red packets."""
    rule = ctx.pack.single("out_of_stock_compensation")
    model = rule.models[rule.model]
    base = ctx.case.concerned_paid_fen if model.cap is not None else ctx.case.order_paid_fen
    amount = percent_of(base, model.percent)
    if model.cap is not None:
        amount = min(amount, model.cap)
    details = {"model": rule.model}
    extra = ""
    if model.claim_within_hours:
        details["claim_within_hours"] = model.claim_within_hours
        extra += f"，需在{model.claim_within_hours}小时内申请"
    if model.none_if_reshipped_in_time:
        details["none_if_reshipped_in_time"] = True
        extra += "，及时补货发出则不赔"
    return option(rule, "refund_with_out_of_stock_compensation", rule.script,
                  f"卖家缺货：退款{yuan(refund)}，并按{model.percent}%赔付{yuan(amount)}{extra}。",
                  grants(("refund", refund), (model.payout, amount)), limit_fen=refund + amount, details=details)


def handle_no_reason_return(ctx: Ctx) -> List[Option]:
    """B 7-day no-reason return: window, exclusions, shipping legs (A10), fast refund and pick-up (C)."""
    c = ctx.case
    rule = ctx.pack.single("seven_day_return")
    if c.order_status in ("unpaid", "paid_unshipped"):
        return handle_cancel_order(ctx)
    if c.order_status == "shipped":
        return courier_options(ctx)[1:]
    if c.signed_at is None:
        ctx.need("signed_at")
        return []
    excluded = c.categories(c.concerned_items) & set(rule.excluded_categories)
    if excluded:
        return [option(rule, "not_eligible", rule.scripts.not_eligible,
                       "该商品类目不支持七天无理由退货（如已拆封食品、药品、贴身衣物、生鲜）。",
                       details={"excluded_categories": sorted(excluded)})]
    if not ctx.window["seven_day_open"]:
        ctx.flags.add("outside_window")
        details = {"seven_day_deadline": ctx.window["seven_day_deadline"]}
        if "platform_appeal_deadline" in ctx.window:
            details["platform_appeal_deadline"] = ctx.window["platform_appeal_deadline"]
        return [option(rule, "not_eligible", rule.scripts.not_eligible,
                       f"已超过七天无理由期限（{ctx.window['seven_day_deadline']:%m月%d日%H:%M}截止）；"
                       f"有质量问题仍可走售后。", details=details)]
    unresellable = ctx.pack.single("unresellable_return")
    ctx.note(unresellable, "退回商品影响二次销售时当场验货拒签，并让快递出具盖章证明（" +
             "、".join(unresellable.statement_fields) + "）")
    legs = seven_day_legs(ctx)
    details = {"legs": legs, "conditions": list(rule.conditions), **return_services(ctx)}
    text = (f"七天无理由退货（{ctx.window['seven_day_deadline']:%m月%d日%H:%M}前）：商品需"
            f"{'、'.join(rule.conditions)}；退款{yuan(c.concerned_paid_fen)}，{legs_text(legs)}。")
    return [refund_less_buyer_fault(ctx, rule, "seven_day_return", rule.scripts.offer, text, details)]


def seven_day_legs(ctx: Ctx) -> Dict[str, str]:
    """Who pays the outbound and the return leg: seller fault -> seller both; else the pack's split."""
    c = ctx.case
    rule = ctx.pack.single("seven_day_shipping")
    if c.reason in rule.seller_pays_both_for:
        return {"outbound": "seller", "return": "seller", "rule": rule.id}
    if rule.split == "one_leg_each_if_free_shipping" and c.free_shipping:
        return {"outbound": "seller", "return": "buyer", "rule": rule.id}
    return {"outbound": "buyer", "return": "buyer", "rule": rule.id}


def legs_text(legs: Dict[str, str]) -> str:
    who = {"seller": "店铺", "buyer": "买家"}
    if legs["outbound"] == legs["return"]:
        return f"来回运费由{who[legs['return']]}承担"
    return f"发货运费{who[legs['outbound']]}承担、退货运费{who[legs['return']]}承担"


def fast_refund_info(ctx: Ctx) -> Dict[str, object]:
    """C: Tmall >= 3 stars (not fresh food / large appliances); JD lightning refund for S2 and above."""
    c = ctx.case
    categories = c.categories(c.concerned_items)
    tmall = ctx.pack.single("fast_refund")
    if applies_to_platform(tmall, c):
        stars = c.tier_number()
        blocked = categories & set(tmall.excluded_categories)
        within = bool(ctx.window.get("seven_day_open"))
        eligible = stars is not None and stars >= tmall.min_tier and not blocked and within
        why = ("信誉≥{0}星，七天内申请，系统0秒同意，上传运单后平台垫付退款，最快{1}分钟到账".format(
            tmall.min_tier, tmall.fastest_minutes) if eligible else
            f"不满足极速退款（需≥{tmall.min_tier}星、签收7天内、非生鲜/大家电），卖家{tmall.seller_hours_otherwise}小时内处理")
        return {"rule": tmall.id, "eligible": eligible, "why": why}
    jd = ctx.pack.single("lightning_refund")
    if jd is not None and applies_to_platform(jd, c):
        level = c.tier_number()
        blocked = categories & set(jd.excluded_categories)
        eligible = level is not None and level >= int(jd.min_level[1:]) and not blocked
        why = (f"京东{jd.min_level}及以上用户，上传有效退货运单（或上门取件）后优先退款（需在授信额度内）"
               if eligible else f"闪电退款需{jd.min_level}及以上用户且品类在范围内")
        return {"rule": jd.id, "eligible": eligible, "why": why}
    return {"rule": None, "eligible": False, "why": "该平台没有极速退款规则"}


def return_services(ctx: Ctx) -> Dict[str, object]:
    """Pick-up window, freight insurance and fast refund facts for a return (C)."""
    c = ctx.case
    pickup = ctx.pack.single("pickup")
    large = bool(c.categories(c.concerned_items) & set(pickup.large_categories))
    services: Dict[str, object] = {
        "fast_refund": fast_refund_info(ctx),
        "pickup": {"rule": pickup.id, "open_now": ctx.window["pickup_open_now"],
                   "hours": f"{pickup.opens:%H:%M}-{pickup.closes:%H:%M}",
                   "courier_within_hours": pickup.large_item_hours if large else pickup.small_item_hours},
    }
    insurance = ctx.pack.single("freight_insurance")
    if c.freight_insurance:
        services["freight_insurance"] = {"rule": insurance.id,
                                         "zero_cost_within_first_weight": insurance.zero_cost_within_first_weight}
    jd_pickup = ctx.pack.single("jd_free_pickup")
    if jd_pickup is not None and applies_to_platform(jd_pickup, c):
        free = set(jd_pickup.requires_service_tags) <= set(c.service_tags) and \
            (c.freight_insurance or not jd_pickup.requires_freight_insurance)
        services["jd_free_pickup"] = {"rule": jd_pickup.id, "available": free}
    jd_seven = ctx.pack.single("platform_seven_day")
    if jd_seven is not None and applies_to_platform(jd_seven, c):
        services["platform_seven_day"] = {"rule": jd_seven.id, "follows": jd_seven.follows}
    return services


def handle_refund_status(ctx: Ctx) -> List[Option]:
    timeout = ctx.pack.single("dispute_timeout")
    fast = fast_refund_info(ctx)
    details: Dict[str, object] = {"fast_refund": fast}
    text = f"卖家需在{timeout.platform_intervention_hours}小时内处理退款申请，超时买家可申请平台介入。"
    if "platform_intervention_at" in ctx.window:
        details["platform_intervention_at"] = ctx.window["platform_intervention_at"]
        ctx.note(timeout, f"请在{ctx.window['platform_intervention_at']:%m月%d日%H:%M}前处理完，避免退款纠纷")
    options = [option(timeout, "refund_status_info", timeout.script, text, details=details)]
    if fast["rule"] and fast["eligible"]:
        rule = ctx.pack.rule(fast["rule"])
        options.append(option(rule, "fast_refund_info", rule.script, str(fast["why"]) + "。"))
    return options


def handle_shipping_fee(ctx: Ctx) -> List[Option]:
    """Who pays which leg: seller fault, buyer fault (A11), 7-day split (A10), partial returns (A9), insurance."""
    c = ctx.case
    options: List[Option] = []
    fault_rule = ctx.pack.single("buyer_fault")
    if c.reason in fault_rule.reasons:
        options.append(option(fault_rule, "guidance", fault_rule.script, BUYER_FAULT_NOTE + "。"))
    else:
        legs = seven_day_legs(ctx)
        split = ctx.pack.single("seven_day_shipping")
        options.append(option(split, "guidance", split.script, legs_text(legs) + "。", details={"legs": legs}))
        if legs["return"] == "buyer":
            a10 = ctx.pack.single("no_reason_return_shipping")
            options.append(option(a10, "guidance", a10.script,
                                  "七天无理由退货，运费险赔付不足的运费差价由买家承担。"))
    if c.some_items_fine:
        a9 = ctx.pack.single("partial_return_shipping")
        options.append(option(a9, "guidance", a9.script,
                              f"只有部分商品有问题：店铺只承担有问题商品的退货运费（运费险+差价不超过"
                              f"{yuan(a9.max_shop_shipping)}），好的商品一起退回运费由买家承担。"))
    if c.freight_insurance:
        insurance = ctx.pack.single("freight_insurance")
        options.append(option(insurance, "guidance", insurance.script,
                              "订单有运费险：上门取件时直接抵扣退货运费，首重以内零运费退货。"))
    return options
