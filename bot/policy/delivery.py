"""Parcels on their way: where is it, not received, signed but not received, shipped late (A6, B).
"""
from __future__ import annotations

from typing import List, Tuple

from bot.money import percent_of
from bot.policy.context import Ctx, applies_to_platform, first_rule, grants, option, refund_less_buyer_fault, yuan
from bot.policy.resolution import Option
from bot.policy.schema import RuleBase

def courier_options(ctx: Ctx) -> List[Option]:
    """A6: soothe and keep the parcel moving; otherwise let it go back and refund fast."""
    rule = first_rule(ctx.pack.for_intent("courier_problem", ctx.intent)) or ctx.pack.single("courier_problem")
    ctx.note(rule, "如果是快递原因，第一时间投诉快递公司")
    soothe = option(rule, "soothe_and_wait", rule.scripts.soothe_and_wait,
                    "安抚买家，联系快递催派送并核对收货地址和电话，尽量让买家接受派送。")
    back = refund_less_buyer_fault(ctx, rule, "return_and_refund", rule.scripts.return_and_refund,
                                   f"买家不愿再等：拒收退回，退回后尽快退款{yuan(ctx.case.concerned_paid_fen)}，不拖延。")
    return [soothe, back]


def handle_not_received(ctx: Ctx) -> List[Option]:
    c = ctx.case
    if c.order_status in ("unpaid", "paid_unshipped"):
        return handle_late_shipment(ctx)
    if c.order_status in ("signed", "completed"):
        return signed_not_received(ctx)
    return courier_options(ctx)


def signed_not_received(ctx: Ctx) -> List[Option]:
    """Tracking says signed, the buyer has nothing: the shop must prove receipt; a human handles it."""
    rule = ctx.pack.single("signed_not_received")
    third_party = ctx.case.signed_by == "third_party"
    evidence = rule.evidence_third_party if third_party else rule.evidence_buyer_signed
    ctx.flags.add("needs_human")
    ctx.note(rule, "需提供以下任一凭证：" + "、".join(evidence))
    who = "第三方代签" if third_party else "本人签收"
    return [option(rule, "verify_signing", rule.script,
                   f"物流显示已签收（{who}）但买家说没收到：先核实签收凭证，由人工跟进。",
                   details={"signed_by": ctx.case.signed_by, "shop_evidence": list(evidence)})]


def handle_delivery_status(ctx: Ctx) -> List[Option]:
    c = ctx.case
    if c.order_status in ("unpaid", "paid_unshipped"):
        return handle_late_shipment(ctx)
    if c.order_status in ("signed", "completed"):
        return signed_not_received(ctx)
    options = courier_options(ctx)
    late_insurance = ctx.pack.single("late_delivery_insurance")
    if late_insurance is not None and applies_to_platform(late_insurance, c) and \
            set(c.service_tags) & set(late_insurance.service_tags):
        options.insert(1, option(late_insurance, "guidance", late_insurance.script,
                                 "本店开通晚必赔：超过承诺时效送达，买家可获得时效险赔付。"))
    return options


def late_shipping_amount(ctx: Ctx) -> Tuple[RuleBase, int, str]:
    """B: 30% of what was paid, at most 500 yuan; paid as points under the new rule."""
    rule = ctx.pack.single("late_shipping_compensation")
    amount = percent_of(ctx.case.concerned_paid_fen, rule.percent)
    if rule.cap is not None:
        amount = min(amount, rule.cap)
    return rule, amount, rule.payout


def handle_late_shipment(ctx: Ctx) -> List[Option]:
    c = ctx.case
    deadlines = ctx.pack.single("shipping_deadlines")
    if c.order_status == "unpaid":
        late = ctx.pack.single("late_shipping_compensation")
        ctx.note(late, f"买家付款前表示不能发货（拒绝交易）被投诉扣{late.penalty_points_before_payment}分")
        return [option(deadlines, "guidance", deadlines.script, "订单未付款：付款后开始计算发货时限。")]
    if c.order_status != "paid_unshipped":
        return handle_delivery_status(ctx) if c.order_status not in (None, "closed") else [
            option(deadlines, "guidance", deadlines.script, "订单已关闭或状态未知，请核实订单。")]
    deadline = ctx.window.get("ship_deadline")
    if deadline is None:
        ctx.need("paid_at")
        return []
    if not ctx.window.get("shipping_late"):
        return [option(deadlines, "ship_by_deadline", deadlines.script,
                       f"尚未超过发货时限，最晚{deadline:%m月%d日%H:%M}前发出，安抚买家耐心等待。")]
    rule, amount, payout = late_shipping_amount(ctx)
    refund = c.concerned_paid_fen
    unit = "积分" if payout == "points" else ""
    return [
        option(rule, "late_shipping_compensation", rule.scripts.compensate,
               f"已超过发货时限：道歉并尽快发货，按实付{rule.percent}%赔付{yuan(amount)}{unit}"
               f"（上限{yuan(rule.cap) if rule.cap is not None else '无'}）。",
               grants((payout, amount)), limit_fen=amount),
        option(rule, "refund_with_late_compensation", rule.scripts.compensate,
               f"买家不想等：全额退款{yuan(refund)}，并赔付延迟发货{yuan(amount)}{unit}。",
               grants(("refund", refund), (payout, amount)), limit_fen=refund + amount),
    ]
