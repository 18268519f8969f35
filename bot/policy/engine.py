"""The compensation policy engine: `resolve(case, pack) -> Resolution`.

Pure and deterministic: every time comes from the case (`now` included), every figure from the pack,
money is integer fen. One small function per rule family; `HANDLERS` maps each after-sales intent to
the function that builds its options.

The options form a LADDER: the buyer is offered one step at a time, `refusals` says how many were
turned down, so `options[refusals]` is the current offer; past the last step a human takes over.
Two things can pre-empt the ladder: evidence the rule requires (a photo before any money) and facts
the engine cannot decide without (is the item still usable?). Then `current_offer` asks for them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from bot.money import fen_to_display, percent_of
from bot.policy.case import Case, parse_case
from bot.policy.loader import PolicyPack
from bot.policy.resolution import Note, Option, Part, Resolution
from bot.policy.schema import RuleBase
from bot.policy.windows import after_days, after_hours, seven_day_deadline, ship_deadline, within_daily_hours

# Problems with received goods: the 15-day after-sales window applies to them.
PROBLEM_INTENTS = frozenset({"damaged", "leaking", "minor_defect", "quality_issue", "wrong_item", "missing_item",
                             "not_as_described", "counterfeit"})
BUYER_FAULT_NOTE = "买家原因产生的运费由买家承担，从退款中扣除"


def yuan(fen: int) -> str:
    return fen_to_display(fen) + "元"


# ============================================================================ context

@dataclass
class Ctx:
    """The case, the pack and what the handlers accumulate besides options."""
    case: Case
    pack: PolicyPack
    intent: str
    window: Dict[str, object] = field(default_factory=dict)
    flags: set = field(default_factory=set)
    needs: List[str] = field(default_factory=list)
    notes: List[Note] = field(default_factory=list)

    def need(self, what: str) -> None:
        if what not in self.needs:
            self.needs.append(what)

    def note(self, rule: RuleBase, text: str) -> None:
        self.notes.append(Note(rule=rule.id, text=text))

    def require_evidence(self, required: Iterable[str]) -> None:
        for item in required:
            if item not in self.case.evidence:
                self.flags.add("missing_evidence")
                self.need(item)

    @property
    def cash_cap_fen(self) -> int:
        """Half (the pack's percent) of what was paid for the faulty items, rounded DOWN to whole yuan.

        10.50 -> 5.25 -> 5 yuan; 20.00 -> 10 yuan. Rounding down never exceeds the exact half.
        """
        cap = self.pack.settings.cash_cap
        exact = Decimal(self.case.concerned_paid_fen) * cap.percent / 100
        return int(exact // cap.round_down_to) * cap.round_down_to


def option(rule: RuleBase, kind: str, script: str, explanation: str, parts: Sequence[Part] = (),
           limit_fen: Optional[int] = None, evidence: Sequence[str] = (), needs: Sequence[str] = (),
           details: Optional[dict] = None) -> Option:
    """An option whose amount is by construction the sum of its ledger parts."""
    amount = sum(p.amount_fen for p in parts)
    return Option(kind=kind, amount_fen=amount, limit_fen=amount if limit_fen is None else limit_fen,
                  rule=rule.id, seed_rule=rule.seed, script=script, explanation=explanation,
                  evidence_required=tuple(evidence), parts=tuple(parts), needs=tuple(needs),
                  details=details or {})


def grants(*pairs: Tuple[str, int], keep_zero: Sequence[str] = ("reship",)) -> List[Part]:
    """Ledger parts from (kind, fen) pairs; zero-amount money parts are dropped, re-shipments kept."""
    return [Part.grant(kind, fen) for kind, fen in pairs if fen > 0 or kind in keep_zero]


def first_rule(rules: List[RuleBase]) -> Optional[RuleBase]:
    return rules[0] if rules else None


# ============================================================================ windows

def compute_windows(ctx: Ctx) -> None:
    c, pack, w = ctx.case, ctx.pack, ctx.window
    seven = pack.single("seven_day_return")
    if c.signed_at is not None:
        deadline = seven_day_deadline(c.signed_at, c.signed_date_only, seven.hours, seven.date_only_starts)
        w["seven_day_deadline"] = deadline
        w["seven_day_open"] = c.now < deadline
    if c.completed_at is not None:
        w["after_sales_deadline"] = after_days(c.completed_at, pack.single("after_sales_window").days)
        w["platform_appeal_deadline"] = after_days(c.completed_at, seven.platform_appeal_days)
    deadlines = pack.single("shipping_deadlines")
    ship_dl = ship_deadline(c.listing_kind, c.paid_at, c.ship_by, c.presale_ship_date,
                            deadlines.ordinary_hours, deadlines.juhuasuan_days)
    if ship_dl is not None:
        w["ship_deadline"] = ship_dl
        w["shipping_late"] = c.order_status == "paid_unshipped" and c.now > ship_dl
    if c.refund_requested_at is not None:
        w["platform_intervention_at"] = after_hours(c.refund_requested_at,
                                                    pack.single("dispute_timeout").platform_intervention_hours)
    pickup = pack.single("pickup")
    w["pickup_open_now"] = within_daily_hours(c.now, pickup.opens, pickup.closes)
    protection = pack.single("price_protection")
    if protection is not None and c.paid_at is not None:
        w["price_protection_deadline"] = after_days(c.paid_at, protection.days)


# ============================================================================ A1/A3/A7: the negotiation ladder

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


# ============================================================================ intents with received goods

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


# ============================================================================ delivery, shipping, cancelling

def buyer_fault_deduction(ctx: Ctx) -> Tuple[Optional[RuleBase], int]:
    """A11: the shipping the buyer caused, to deduct from the refund (0 when not the buyer's fault)."""
    rule = ctx.pack.single("buyer_fault")
    if ctx.case.reason not in rule.reasons or not rule.deduct_from_refund:
        return None, 0
    if ctx.case.shipping_cost is None:
        ctx.need("shipping_cost")
        return rule, 0
    ctx.note(rule, BUYER_FAULT_NOTE)
    return rule, ctx.case.shipping_cost


def refund_less_buyer_fault(ctx: Ctx, rule: RuleBase, kind: str, script: str, text: str,
                            details: Optional[dict] = None) -> Option:
    """A refund of the concerned items, minus the A11 deduction when the buyer caused the shipping."""
    refund = ctx.case.concerned_paid_fen
    fault_rule, deduction = buyer_fault_deduction(ctx)
    net = max(0, refund - deduction)
    details = dict(details or {})
    if fault_rule is not None:
        details["buyer_fault_deduction_fen"] = min(deduction, refund)
        text += f"（{BUYER_FAULT_NOTE}：扣{yuan(min(deduction, refund))}）" if deduction else f"（{BUYER_FAULT_NOTE}）"
        rule = fault_rule
        script = fault_rule.script
    return option(rule, kind, script, text, grants(("refund", net)), limit_fen=refund, details=details)


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


# ============================================================================ returns and money questions

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


def applies_to_platform(rule: RuleBase, case: Case) -> bool:
    return case.platform in getattr(rule, "platforms", ())


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


def handle_invoice(ctx: Ctx) -> List[Option]:
    rule = ctx.pack.single("invoice")
    ctx.note(rule, f"拒绝开票或让买家承担{'、'.join(rule.buyer_never_pays)}属违背承诺，扣{rule.penalty_points}分")
    return [option(rule, "guidance", rule.script,
                   f"店铺负责开具发票，{'、'.join(rule.buyer_never_pays)}不由买家承担。")]


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


def handle_repair_warranty(ctx: Ctx) -> List[Option]:
    c = ctx.case
    after = ctx.pack.single("refund_after_shipping")
    options = [option(after, "guidance", after.repair_script,
                      "登记故障并安排维修或保修；维修期限视商品而定，质量问题产生的运费由店铺承担。")]
    code = ctx.pack.single("service_code")
    if code is not None and (c.categories() & set(code.categories) or set(c.service_tags) & set(code.service_tags)):
        options.append(option(code, "guidance", code.script,
                              "送货安装完成且满意后，再把服务确认码告诉师傅；不满意可以不提供。"))
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


def handle_request_compensation(ctx: Ctx) -> List[Option]:
    """Asking for compensation without naming a problem: ask what went wrong (the 004 opening line)."""
    scripts = ctx.pack.single("canned_scripts")
    ctx.need("problem")
    return [option(scripts, "ask_problem", scripts.opening_line,
                   "买家只要求补偿、未说明问题：先问清遇到了什么问题，再按对应规则处理。", needs=("problem",))]


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


# ============================================================================ assembling the resolution

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
