"""Presenting results: text tables for the terminal, a JSON report and confusion-matrix PNGs.

Nothing here receives message texts: results carry eval-file line numbers and labels only, so the
held-out set cannot leak into a report.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.nlu_eval.evaluation import SystemResult
from bot.nlu_eval.metrics import ClassificationMetrics, ConfusionMatrix


def format_per_intent_table(metrics: ClassificationMetrics) -> str:
    """Per-intent precision/recall/F1/support, then the aggregate lines."""
    width = max([len("intent")] + [len(name) for name in metrics.per_intent])
    lines = [f"{'intent':<{width}}  precision  recall     f1  support"]
    for name, score in metrics.per_intent.items():
        lines.append(
            f"{name:<{width}}  {score.precision:9.3f}  {score.recall:6.3f}  {score.f1:5.3f}  {score.support:7d}"
        )
    lines.append(f"{'accuracy':<{width}}  {metrics.accuracy:.3f}   ({metrics.examples} messages)")
    lines.append(f"{'macro-F1':<{width}}  {metrics.macro_f1:.3f}")
    lines.append(f"{'weighted-F1':<{width}}  {metrics.weighted_f1:.3f}")
    return "\n".join(lines)


def format_system_section(result: SystemResult) -> str:
    """A system's heading, per-intent table and, for the model, its fallback figures."""
    parts = [f"== {result.name} ==", format_per_intent_table(result.metrics)]
    if result.without_fallback is not None:
        other = result.without_fallback
        parts.append(
            f"fallback rate {result.fallback_rate:.3f} ({result.fallback_count}/{result.metrics.examples}); "
            f"with each fallback replaced by the best non-fallback intent: accuracy {other.accuracy:.3f}, "
            f"macro-F1 {other.macro_f1:.3f}, weighted-F1 {other.weighted_f1:.3f}"
        )
    return "\n".join(parts)


def format_comparison_table(results: Sequence[SystemResult]) -> str:
    """One row per system; the no-fallback columns are filled for systems with a fallback only."""
    width = max([len("system")] + [len(result.name) for result in results])
    header = f"{'system':<{width}}  accuracy  macro-F1  weighted-F1  fallback  acc(no-fb)  macro-F1(no-fb)"
    lines = [header, "-" * len(header)]
    for result in results:
        row = f"{result.name:<{width}}  {result.metrics.accuracy:8.3f}  {result.metrics.macro_f1:8.3f}  "
        row += f"{result.metrics.weighted_f1:11.3f}  "
        if result.without_fallback is None:
            row += f"{'-':>8}  {'-':>10}  {'-':>15}"
        else:
            row += f"{result.fallback_rate:8.3f}  {result.without_fallback.accuracy:10.3f}  "
            row += f"{result.without_fallback.macro_f1:15.3f}"
        lines.append(row)
    return "\n".join(lines)


def result_as_dict(result: SystemResult, confusion_png: str | None) -> dict[str, Any]:
    """JSON-ready figures of one system (labels and line numbers only, never texts)."""
    data: dict[str, Any] = {
        "metrics": result.metrics.as_dict(),
        "errors": [{"line": e.line, "gold": e.gold, "predicted": e.predicted} for e in result.errors],
        "confusion_png": confusion_png,
    }
    if result.without_fallback is not None:
        data["fallback"] = {"count": result.fallback_count, "rate": result.fallback_rate}
        data["without_fallback"] = result.without_fallback.as_dict()
    return data


def write_json_report(report: dict[str, Any], path: str | Path) -> Path:
    """Write the report (UTF-8, indented, keys in insertion order) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def plot_confusion_matrix(confusion: ConfusionMatrix, title: str, path: str | Path) -> Path:
    """Save a confusion-matrix heat map with counts in the cells.

    Uses matplotlib's Agg canvas directly (no pyplot), so it works headless and leaves the global
    backend alone.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = max(6.0, 0.38 * len(confusion.columns) + 2.5)
    figure = Figure(figsize=(size, max(5.0, 0.38 * len(confusion.rows) + 2.0)), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(confusion.counts, cmap="Blues", aspect="auto")
    figure.colorbar(image, ax=axes, fraction=0.04)
    axes.set_xticks(range(len(confusion.columns)), labels=confusion.columns, rotation=60, ha="right", fontsize=8)
    axes.set_yticks(range(len(confusion.rows)), labels=confusion.rows, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(title)
    peak = max((max(row) for row in confusion.counts), default=0)
    for row_index, row in enumerate(confusion.counts):
        for column_index, count in enumerate(row):
            if count:
                colour = "white" if count > peak / 2 else "black"
                axes.text(column_index, row_index, str(count), ha="center", va="center", fontsize=7, color=colour)
    figure.tight_layout()
    figure.savefig(path)
    return path
