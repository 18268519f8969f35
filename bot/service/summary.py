"""The short summary an agent sees when a conversation is handed over: intent, order, facts, what was
offered and refused. One line per topic, Chinese, amounts from the resolution."""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.money import fen_to_display
from bot.scripts import describe_parts

if TYPE_CHECKING:  # imported for type hints only (avoids a cycle with aftersales)
    from bot.service.aftersales import Assessment
    from bot.service.casebuild import CaseInputs

INTENT_NAMES = {
    "damaged": "商品破损", "leaking": "漏液/沾污", "minor_defect": "小瑕疵", "quality_issue": "质量问题",
    "wrong_item": "发错货", "missing_item": "少件", "not_received": "没收到货", "delivery_status": "物流查询",
    "late_shipment": "发货慢", "counterfeit": "疑似假货", "not_as_described": "与描述不符",
    "no_reason_return": "七天无理由", "cancel_order": "取消订单", "refund_status": "退款进度", "invoice": "发票",
    "price_protection": "价保", "repair_warranty": "维修保修", "shipping_fee": "运费问题",
    "request_compensation": "要求补偿",
}


def handoff_summary(assessment: "Assessment", inputs: "CaseInputs", reason: str) -> str:
    order, resolution = assessment.order, assessment.resolution
    lines = [
        f"原因：{reason}；问题：{INTENT_NAMES.get(inputs.intent, inputs.intent)}（{inputs.intent}）",
        f"订单：{order.order_number}（{order.item_title}，实付{fen_to_display(order.paid_total_fen)}元，状态{order.status}）",
    ]
    facts = []
    if inputs.usable is False:
        facts.append("买家称无法使用")
    if inputs.photo_refs:
        facts.append(f"已收到照片{len(inputs.photo_refs)}张")
    if inputs.return_shipping_quote_fen is not None:
        facts.append(f"退货运费报价{fen_to_display(inputs.return_shipping_quote_fen)}元")
    if resolution.flags:
        facts.append("标记：" + "、".join(resolution.flags))
    if facts:
        lines.append("事实：" + "；".join(facts))
    offered = resolution.options[: assessment.refusals + 1]
    for index, option in enumerate(offered):
        verdict = "买家拒绝" if index < assessment.refusals else "当前方案"
        parts = describe_parts(option.parts, with_state=False) or "无金额"
        lines.append(f"第{index + 1}步（{option.rule}）{verdict}：{parts}；{option.explanation}")
    for note in resolution.notes:
        lines.append(f"提示（{note.rule}）：{note.text}")
    return "\n".join(lines)
