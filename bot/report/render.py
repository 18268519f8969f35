"""The report as text tables (the CLI), CSV files (one per table) and JSON (Report.to_dict)."""
from __future__ import annotations

import csv
from pathlib import Path

from bot.money import fen_to_yuan
from bot.report.figures import Report

Table = tuple[tuple[str, ...], list[tuple]]  # (column names, rows)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(round(seconds / 60))
    return f"{minutes // 60}h{minutes % 60:02d}m"


def tables(report: Report) -> dict[str, Table]:
    """Every figure as a named table. Money columns are in fen (exact); the text view adds yuan."""
    result: dict[str, Table] = {}
    conv = report.conversations
    overview = [("conversations", conv.total if conv else "-"),
                ("automated (resolved by the bot)", conv.automated if conv else "-"),
                ("automation rate", _pct(conv.automation_rate) if conv else "-"),
                ("handed off", conv.handed_off if conv else "-"),
                ("abandoned", conv.abandoned if conv else "-"),
                ("escalated (complaint)", conv.escalated if conv else "-"),
                ("cases opened", report.cases.total),
                ("cases resolved by the bot", report.cases.resolved_by_bot),
                ("cases resolved with an agent", report.cases.resolved_by_agent),
                ("median time to resolution", _duration(report.cases.median_resolution_s)),
                ("median time to resolution (bot alone)", _duration(report.cases.median_bot_resolution_s)),
                ("compensation granted (fen)", report.compensation_total_fen),
                ("review rebates promised, not paid (fen)", report.rebates_unpaid_fen),
                ("repeat claimers", len(report.repeat_claimers))]
    result["overview"] = (("figure", "value"), overview)
    if conv:
        result["daily"] = (("day", "conversations", "automated", "handed_off", "abandoned"),
                           [(d.day.isoformat(), d.conversations, d.automated, d.handed_off, d.abandoned)
                            for d in conv.daily])
    result["intents"] = (("intent", "messages"), list(report.intents))
    result["cases_by_status"] = (("status", "cases"), sorted(report.cases.by_status.items()))
    money = ("entries", "amount_fen", "amount_yuan")
    result["compensation_by_kind"] = (("kind",) + money, [
        (r.key, r.entries, r.amount_fen, fen_to_yuan(r.amount_fen)) for r in report.compensation_by_kind])
    result["compensation_by_rule"] = (("rule_id", "title") + money, [
        (r.key, r.title, r.entries, r.amount_fen, fen_to_yuan(r.amount_fen)) for r in report.compensation_by_rule])
    result["compensation_by_approver"] = (("approver",) + money, [
        (r.key, r.entries, r.amount_fen, fen_to_yuan(r.amount_fen)) for r in report.compensation_by_approver])
    result["promised_unpaid"] = (("kind",) + money, [
        (r.key, r.entries, r.amount_fen, fen_to_yuan(r.amount_fen)) for r in report.promised_unpaid])
    result["repeat_claimers"] = (("buyer_id", "claims", "amount_fen", "amount_yuan"), [
        (r.buyer_id, r.claims, r.amount_fen, fen_to_yuan(r.amount_fen)) for r in report.repeat_claimers])
    result["scenarios"] = (("intent", "rule_id", "rule_title", "sku", "product", "cases", "order_numbers"), [
        (s.intent, s.rule_id, s.rule_title, s.sku, s.product, s.cases, " ".join(s.order_numbers))
        for s in report.scenarios])
    result["deadlines"] = (("kind", "handoffs", "in_time", "late", "waiting_not_due", "share"), [
        (r.kind, r.handoffs, r.in_time, r.late, r.waiting_not_due, _pct(r.share)) for r in report.deadlines])
    if report.satisfaction is not None:
        sat = report.satisfaction
        columns = ("asked", "answered", "satisfied", "neutral", "unsatisfied", "satisfied_share")

        def rating_rows(rows):
            return [(r.key, r.asked, r.answered, r.satisfied, r.neutral, r.unsatisfied, _pct(r.satisfied_share))
                    for r in rows]

        result["satisfaction_by_intent"] = (("intent",) + columns, rating_rows((sat.total,) + sat.by_intent))
        result["satisfaction_by_resolution"] = (("resolution_kind",) + columns, rating_rows(sat.by_resolution_kind))
        result["satisfaction_by_resolver"] = (("resolver",) + columns, rating_rows(sat.by_resolver))
        result["satisfaction_daily"] = (("day",) + columns, rating_rows(sat.daily))
        result["unsatisfied_cases"] = (("case_id", "order_number", "intent", "resolution_kind", "resolved_by",
                                        "comment", "answered_at", "transcript"), [
            (u.case_id, u.order_number or "", u.intent, u.resolution_kind, u.resolved_by, u.comment or "",
             u.answered_at.isoformat(), u.transcript_url) for u in sat.unsatisfied])
    score = report.score.to_dict()
    rows = [(p["part"], p["title"], p["problems"], p["orders"], "-" if p["rate"] is None else p["rate"],
             _num(p["score"]), _num(p["reference"]), _num(p["versus_reference"])) for p in score["parts"]]
    rows.append(("total", "服务体验总分", "", "", "", _num(score["total"]), _num(score["reference_total"]),
                 _num(score["versus_reference"])))
    result["service_score"] = (("part", "title", "problems", "orders", "rate", "score", "reference",
                                "versus_reference"), rows)
    return result


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def text(report: Report, *, max_rows: int = 25) -> str:
    """Aligned plain-text tables (wide characters count double, so Chinese titles line up)."""
    lines = [f"Service report {report.period.label()}"]
    lines += [f"note: {note}" for note in report.notes]
    for name, (columns, rows) in tables(report).items():
        lines += ["", f"== {name} ==", *_format(columns, rows[:max_rows])]
        if len(rows) > max_rows:
            lines.append(f"... {len(rows) - max_rows} more rows (see --csv)")
    return "\n".join(lines) + "\n"


def _width(value: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in value)


def _format(columns: tuple[str, ...], rows: list[tuple]) -> list[str]:
    cells = [list(columns)] + [[str(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(columns))]
    return ["  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)).rstrip()
            for row in cells]


def write_csv(report: Report, directory: Path) -> list[Path]:
    """One UTF-8 CSV per table (with a BOM, so spreadsheet programs read the Chinese correctly)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (columns, rows) in tables(report).items():
        path = directory / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows)
        written.append(path)
    return written
