"""Questions that are guidance, not money: invoices, repair and installation, "what do I get?".
"""
from __future__ import annotations

from typing import List

from bot.policy.context import Ctx, option
from bot.policy.resolution import Option

def handle_invoice(ctx: Ctx) -> List[Option]:
    rule = ctx.pack.single("invoice")
    ctx.note(rule, f"拒绝开票或让买家承担{'、'.join(rule.buyer_never_pays)}属违背承诺，扣{rule.penalty_points}分")
    return [option(rule, "guidance", rule.script,
                   f"店铺负责开具发票，{'、'.join(rule.buyer_never_pays)}不由买家承担。")]


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


def handle_request_compensation(ctx: Ctx) -> List[Option]:
    """Asking for compensation without naming a problem: ask what went wrong (the 004 opening line)."""
    scripts = ctx.pack.single("canned_scripts")
    ctx.need("problem")
    return [option(scripts, "ask_problem", scripts.opening_line,
                   "买家只要求补偿、未说明问题：先问清遇到了什么问题，再按对应规则处理。", needs=("problem",))]
