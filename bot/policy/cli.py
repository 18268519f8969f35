"""`python -m bot resolve [--pack DIR] [--pretty] [--case FILE]`: a case as JSON in, its resolution out.

Exit codes: 0 resolved; 2 bad input (not JSON, unknown intent, missing or malformed field);
3 the rule pack cannot be loaded. Errors are one clear message on stderr, never a stack trace, and
nothing is written anywhere but stdout/stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from typing import List, Optional, TextIO

from bot.money import fen_to_display
from bot.policy.errors import CaseError, PolicyPackError
from bot.policy.resolution import Resolution

EXIT_BAD_CASE = 2
EXIT_BAD_PACK = 3

KIND_NAMES = {
    "compensation_with_rebate": "赔偿+好评返现", "ask_return_quote": "询问退货运费", "return_with_shipping_subsidy":
    "退货+补运费差价", "raised_compensation": "加赔不退货", "half_price_compensation": "半价赔偿（最后一步）",
    "full_refund": "全额赔付", "small_compensation": "小额补偿", "exchange": "换货", "return_refund": "退货退款",
    "reship": "补发", "refund_missing": "退缺件货款", "reship_gift_and_compensation": "补赠品+补偿",
    "gift_and_voucher": "小礼品+优惠券", "counterfeit_claim": "假一赔十（人工）", "verify_signing": "核实签收",
    "soothe_and_wait": "安抚催派送", "return_and_refund": "拒收退款", "late_shipping_compensation": "延迟发货赔付",
    "refund_with_late_compensation": "退款+延迟发货赔付", "refund_with_out_of_stock_compensation": "退款+缺货赔付",
    "refund": "退款", "refund_change_reason": "改原因后退款", "seven_day_return": "七天无理由退货",
    "not_eligible": "不符合条件", "price_difference_refund": "退差价", "not_covered": "无价保",
    "refund_status_info": "退款进度", "fast_refund_info": "极速退款", "ship_by_deadline": "发货时限",
    "guidance": "说明", "ask_problem": "询问问题", "request_info": "补充信息", "handoff": "转人工",
}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _money(fen: int) -> str:
    return fen_to_display(fen) + "元"


def format_pretty(res: Resolution) -> str:
    """A readable Chinese summary: the current offer first, then the ladder as a table."""
    lines = [f"问题：{res.intent}" + (f"（按 {res.resolved_as} 处理）" if res.resolved_as != res.intent else "")]
    cur = res.current_offer
    if cur is not None:
        lines.append(f"当前方案（第{res.step + 1}步{'，最后一步' if res.last_step else ''}）："
                     f"{KIND_NAMES.get(cur.kind, cur.kind)} {_money(cur.amount_fen)} [{cur.rule}] 话术 {cur.script}")
        lines.append(f"  {cur.explanation}")
    if res.needs:
        lines.append("还需要：" + "、".join(res.needs))
    if res.flags:
        lines.append("标记：" + "、".join(res.flags))
    rows = [("步", "方案", "金额", "上限", "规则", "说明")]
    for index, opt in enumerate(res.options, start=1):
        marker = "→" if index - 1 == res.step else " "
        rows.append((f"{marker}{index}", KIND_NAMES.get(opt.kind, opt.kind), _money(opt.amount_fen),
                     _money(opt.limit_fen), opt.rule, opt.explanation))
    widths = [max(_width(row[col]) for row in rows) for col in range(5)]
    for row in rows:
        lines.append("  ".join(_pad(cell, widths[col]) for col, cell in enumerate(row[:5])) + "  " + row[5])
    for key, value in res.to_dict()["window"].items():
        lines.append(f"时限 {key}: {value}")
    for note in res.notes:
        lines.append(f"提示 [{note.rule}] {note.text}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot resolve",
                                     description="Resolve an after-sales case (JSON on stdin) with the rule pack.")
    parser.add_argument("--pack", metavar="DIR", help="rule pack directory (default: data/policy or "
                                                      "$AFTERSALES_POLICY_DIR)")
    parser.add_argument("--pretty", action="store_true", help="print a readable Chinese table instead of JSON")
    parser.add_argument("--case", metavar="FILE", help="read the case from FILE instead of stdin")
    return parser


def _read_case(path: Optional[str], stdin: TextIO) -> object:
    try:
        text = open(path, encoding="utf-8").read() if path else stdin.read()
    except OSError as exc:
        raise CaseError(f"case: cannot read {path}: {exc.strerror}") from None
    if not text.strip():
        raise CaseError("case: no input (expected a JSON object on stdin)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CaseError(f"case: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def main(argv: Optional[List[str]] = None, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
         stderr: TextIO = sys.stderr) -> int:
    from bot.policy.engine import resolve
    from bot.policy.loader import load_pack

    args = _parser().parse_args(argv)
    try:
        pack = load_pack(args.pack)
    except PolicyPackError as exc:
        print(f"error: rule pack: {exc}", file=stderr)
        return EXIT_BAD_PACK
    try:
        resolution = resolve(_read_case(args.case, stdin), pack)
    except CaseError as exc:
        print(f"error: {exc}", file=stderr)
        return EXIT_BAD_CASE
    if args.pretty:
        print(format_pretty(resolution), file=stdout)
    else:
        print(json.dumps(resolution.to_dict(), ensure_ascii=False, indent=2), file=stdout)
    return 0
