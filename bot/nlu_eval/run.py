"""One evaluation run: the model's predictions and two baselines on one eval set, printed and written.

``actions/eval_nlu.py`` supplies the model as a ``predict(text) -> Prediction`` callable; this module does
the rest and never imports Rasa, so the whole run is testable with a stand-in model.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from bot.labelled_logs import LabelledMessage, read_labelled_logs
from bot.nlu_eval.baselines import KeywordBaseline, TfidfLogRegBaseline
from bot.nlu_eval.confidence import confidence_figures, tradeoff_table
from bot.nlu_eval.crossval import baseline_trainers, cross_validate, format_folded_table
from bot.nlu_eval.product_model import ProductIntentModel, product_settings
from bot.nlu_eval.eval_data import EvalExample, file_sha256, intent_counts, read_eval_jsonl
from bot.nlu_eval.evaluation import Prediction, SystemResult, evaluate_system, predict_with_progress
from bot.nlu_eval.metrics import MACRO_F1_DEFINITION
from bot.nlu_eval.report import (
    format_comparison_table,
    format_system_section,
    plot_confusion_matrix,
    result_as_dict,
    write_json_report,
)
from bot.nlu_eval.training_data import (
    TrainingExample,
    read_training_data,
    training_data_fingerprint,
    training_intent_counts,
)

MODEL, KEYWORD, TFIDF_LR = "model", "keyword", "tfidf+lr"


@dataclass(frozen=True)
class RunSettings:
    """Where things are. ``model_path`` is only recorded in the report."""

    eval_path: Path
    train_path: Path
    out_dir: Path
    model_path: str
    jieba_dictionary: Path | None = None
    logs_path: Path | None = None  # the shop's labelled chat logs the model was trained with (baselines too)
    config_path: Path | None = None  # config.yml: the classifier's settings and threshold for cross-validation
    cv_folds: int = 0  # K-fold over the logs (0: dev only)


def _baseline_predictions(
    settings: RunSettings, training: list[TrainingExample], texts: list[str]
) -> dict[str, list[Prediction]]:
    train_texts = [example.text for example in training]
    train_intents = [example.intent for example in training]
    keyword = KeywordBaseline(user_dictionary=settings.jieba_dictionary).fit(train_texts, train_intents)
    tfidf = TfidfLogRegBaseline().fit(train_texts, train_intents)
    return {
        KEYWORD: [
            Prediction(ranking[0][0], ranking[0][0], ranking) for ranking in keyword.rankings(texts)
        ],
        TFIDF_LR: [Prediction.from_probabilities(row) for row in tfidf.probabilities(texts)],
    }


def _read_logs(settings: RunSettings, known_intents: set[str]) -> list[LabelledMessage]:
    if settings.logs_path is None:
        return []
    return read_labelled_logs(settings.logs_path, known_intents).messages


def _threshold(settings: RunSettings) -> float | None:
    return product_settings(settings.config_path).fallback_threshold if settings.config_path else None


def _confidence_section(
    examples: list[EvalExample], predictions: dict[str, list[Prediction]], threshold: float | None
) -> tuple[str, dict[str, Any]]:
    """recall@3, clarified share and confident-wrong rate per system on the eval set, and the model's
    threshold trade-off."""
    gold = [example.intent for example in examples]
    lines = [f"猜你想问 figures at the model's threshold ({threshold}); systems without confidences always answer:",
             "system     recall@3  clarified  confident-wrong  answered-acc"]
    figures = {}
    for name, preds in predictions.items():
        value = confidence_figures(gold, [p.ranking for p in preds], threshold)
        figures[name] = value.as_dict()
        lines.append(f"{name:<9}  {value.recall_at_3:8.3f}  {value.clarified_share:9.3f}  "
                     f"{value.confident_wrong_rate:15.3f}  {value.answered_accuracy:12.3f}")
    lines.append("\nthe model's trade-off on this set (choose the threshold where confident-wrong is low enough "
                 "and the clarified share acceptable):")
    lines.append(tradeoff_table(gold, [p.ranking for p in predictions[MODEL]], TRADEOFF_THRESHOLDS))
    return "\n".join(lines), figures


TRADEOFF_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def _cross_validation(
    settings: RunSettings, team: list[TrainingExample], logs: list[LabelledMessage], echo: Callable[[str], None]
) -> dict[str, Any]:
    threshold = _threshold(settings)
    product = product_settings(settings.config_path)

    def model(texts, intents, test):
        fitted = ProductIntentModel(product, user_dictionary=settings.jieba_dictionary).fit(texts, intents)
        return [Prediction.from_probabilities(row).ranking for row in fitted.probabilities(test)]

    systems = {MODEL: model, **baseline_trainers(settings.jieba_dictionary)}
    results, rankings, gold = cross_validate(
        team, logs, systems, {MODEL: threshold, TFIDF_LR: threshold}, settings.cv_folds, echo
    )
    echo(format_folded_table(results, f"\n== {settings.cv_folds}-fold cross-validation over {len(gold)} chat-log "
                                      f"messages (each fold: team data + the other folds) =="))
    echo("the model's trade-off over the folds:\n" + tradeoff_table(gold, rankings[MODEL], TRADEOFF_THRESHOLDS))
    return {
        r.name: {"accuracy": r.metrics.accuracy, "macro_f1": r.metrics.macro_f1, **r.confidence.as_dict(),
                 "seconds": round(r.seconds, 1)}
        for r in results
    }


def _file_slug(name: str) -> str:
    """ASCII file-name part for a system name: 'tfidf+lr' -> 'tfidf_lr'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _coverage_notes(examples: list[EvalExample], training: list[TrainingExample]) -> list[str]:
    unknown = sorted({e.intent for e in examples} - {t.intent for t in training})
    if not unknown:
        return []
    return [f"note: eval intents with no training examples (no system can get them right): {', '.join(unknown)}"]


def run_evaluation(
    settings: RunSettings,
    model_predict: Callable[[str], Prediction],
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Evaluate the model and both baselines; print the tables; write the PNGs and JSON report.

    Returns the report (also written to ``<out>/<eval stem>_report.json``).
    """
    examples = read_eval_jsonl(settings.eval_path)
    team = read_training_data(settings.train_path)
    if not team:
        raise ValueError(f"no intent examples found in {settings.train_path}")
    logs = _read_logs(settings, {example.intent for example in team})
    training = team + [TrainingExample(message.text, message.intent) for message in logs]
    echo(f"training data: {len(team)} team examples + {len(logs)} labelled chat-log messages"
         + (f" ({settings.logs_path})" if settings.logs_path else ""))
    texts = [example.text for example in examples]

    started = time.perf_counter()
    model_predictions = predict_with_progress(model_predict, texts, "model")
    model_seconds = time.perf_counter() - started
    started = time.perf_counter()
    baseline_predictions = _baseline_predictions(settings, training, texts)
    baseline_seconds = time.perf_counter() - started

    results = [evaluate_system(MODEL, examples, model_predictions, has_fallback=True)]
    results += [evaluate_system(name, examples, preds) for name, preds in baseline_predictions.items()]

    for line in _coverage_notes(examples, training):
        echo(line)
    for result in results:
        echo(format_system_section(result) + "\n")
    echo(format_comparison_table(results))
    echo(f"({MACRO_F1_DEFINITION})")
    confidence_text, confidence = _confidence_section(
        examples, {MODEL: model_predictions, **baseline_predictions}, _threshold(settings)
    )
    echo("\n" + confidence_text)
    cross_validation = (
        _cross_validation(settings, team, logs, echo) if settings.cv_folds and logs and settings.config_path else None
    )

    pngs = _write_confusion_pngs(settings, results)
    report = _build_report(settings, examples, training, results, pngs, (model_seconds, baseline_seconds))
    report["confidence"] = confidence
    report["cross_validation"] = cross_validation
    report_path = write_json_report(report, settings.out_dir / f"{settings.eval_path.stem}_report.json")
    echo(f"report: {report_path}")
    return report


def _write_confusion_pngs(settings: RunSettings, results: list[SystemResult]) -> dict[str, str]:
    pngs = {}
    for result in results:
        path = settings.out_dir / f"{settings.eval_path.stem}_confusion_{_file_slug(result.name)}.png"
        title = f"{result.name} on {settings.eval_path.name} (accuracy {result.metrics.accuracy:.3f})"
        pngs[result.name] = str(plot_confusion_matrix(result.metrics.confusion, title, path))
    return pngs


def _build_report(
    settings: RunSettings,
    examples: list[EvalExample],
    training: list[TrainingExample],
    results: list[SystemResult],
    pngs: dict[str, str],
    seconds: tuple[float, float],
) -> dict[str, Any]:
    """Everything the run measured, as JSON-ready data: counts, hashes, labels, line numbers; no texts."""
    model_seconds, baseline_seconds = seconds
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "eval_file": {
            "path": str(settings.eval_path),
            "sha256": file_sha256(settings.eval_path),
            "examples": len(examples),
            "intents": intent_counts(examples),
        },
        "training_data": {
            "path": str(settings.train_path),
            "sha256": training_data_fingerprint(settings.train_path),
            "examples": len(training),
            "intents": training_intent_counts(training),
        },
        "model": {"path": settings.model_path, "predict_seconds": round(model_seconds, 2)},
        "baselines_train_and_predict_seconds": round(baseline_seconds, 2),
        "definitions": {
            "macro_f1": MACRO_F1_DEFINITION,
            "errors": "misclassified messages by 1-based eval-file line number; texts are never stored",
            "model": "headline figures count nlu_fallback as wrong; without_fallback replaces each fallback "
            "with the best non-fallback intent of intent_ranking",
        },
        "comparison": {
            result.name: {
                "accuracy": result.metrics.accuracy,
                "macro_f1": result.metrics.macro_f1,
                "weighted_f1": result.metrics.weighted_f1,
            }
            for result in results
        },
        "systems": {result.name: result_as_dict(result, pngs[result.name]) for result in results},
    }
