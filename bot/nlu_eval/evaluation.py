"""From predictions to per-system results, including the Rasa model's fallback.

The pipeline ends with a FallbackClassifier: when unsure, the top intent is ``nlu_fallback``. For the
headline figures that is a wrong answer (the buyer gets a clarifying question, not help). Because the
fallback threshold is a tuning knob, the results also carry the figures obtained by replacing each
fallback with the best non-fallback intent of ``intent_ranking``, and the fallback rate.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from tqdm import tqdm

from bot.nlu_eval.eval_data import EvalExample
from bot.nlu_eval.metrics import ClassificationMetrics, compute_metrics

FALLBACK_INTENT = "nlu_fallback"
NO_INTENT = "(none)"  # the model returned no intent at all (e.g. an empty ranking)


@dataclass(frozen=True)
class Prediction:
    """What a system answered for one message.

    ``intent`` is the answer as given (may be the fallback intent); ``without_fallback`` is the best
    intent other than the fallback (the same as ``intent`` for systems without a fallback).
    """

    intent: str
    without_fallback: str
    # (intent, confidence) best first, the fallback left out; confidence nan for systems without one.
    ranking: tuple = ()

    @classmethod
    def plain(cls, intent: str) -> "Prediction":
        """A prediction of a system that has no fallback and no confidences."""
        return cls(intent=intent, without_fallback=intent, ranking=((intent, float("nan")),))

    @classmethod
    def from_probabilities(cls, probabilities: Mapping[str, float]) -> "Prediction":
        """A system with calibrated probabilities and no fallback of its own."""
        ranking = tuple(sorted(probabilities.items(), key=lambda pair: (-pair[1], pair[0])))
        return cls(intent=ranking[0][0], without_fallback=ranking[0][0], ranking=ranking)

    @property
    def is_fallback(self) -> bool:
        return self.intent == FALLBACK_INTENT


def prediction_from_parse(parse_data: Mapping[str, Any]) -> Prediction:
    """Read a Rasa parse result (``{"intent": {"name": ...}, "intent_ranking": [...]}``) as a Prediction."""
    top = (parse_data.get("intent") or {}).get("name") or NO_INTENT
    ranking = tuple(
        (entry["name"], float(entry.get("confidence") or 0.0))
        for entry in parse_data.get("intent_ranking") or []
        if entry.get("name") not in (None, FALLBACK_INTENT)
    )
    if top != FALLBACK_INTENT:
        return Prediction(intent=top, without_fallback=top, ranking=ranking)
    return Prediction(intent=top, without_fallback=ranking[0][0] if ranking else NO_INTENT, ranking=ranking)


@dataclass(frozen=True)
class ErrorRecord:
    """A misclassified message, identified by its eval-file line only (never by its text)."""

    line: int
    gold: str
    predicted: str


@dataclass(frozen=True)
class SystemResult:
    """Figures of one system; ``without_fallback`` and ``fallback_count`` only for systems with a fallback."""

    name: str
    metrics: ClassificationMetrics
    errors: list[ErrorRecord]
    without_fallback: ClassificationMetrics | None = None
    fallback_count: int = 0

    @property
    def fallback_rate(self) -> float:
        return self.fallback_count / self.metrics.examples


def evaluate_system(
    name: str, examples: Sequence[EvalExample], predictions: Sequence[Prediction], has_fallback: bool = False
) -> SystemResult:
    """Score one system's predictions (aligned with ``examples``)."""
    if len(examples) != len(predictions):
        raise ValueError(f"{name}: {len(examples)} examples but {len(predictions)} predictions")
    gold = [example.intent for example in examples]
    errors = [
        ErrorRecord(line=example.line, gold=example.intent, predicted=prediction.intent)
        for example, prediction in zip(examples, predictions)
        if prediction.intent != example.intent
    ]
    return SystemResult(
        name=name,
        metrics=compute_metrics(gold, [p.intent for p in predictions]),
        errors=errors,
        without_fallback=compute_metrics(gold, [p.without_fallback for p in predictions]) if has_fallback else None,
        fallback_count=sum(p.is_fallback for p in predictions),
    )


PROGRESS_MIN_ITEMS = 50  # below this a bar only adds noise


def predict_with_progress(
    predict: Callable[[str], Prediction], texts: Sequence[str], description: str
) -> list[Prediction]:
    """Apply ``predict`` to every text, with a tqdm bar on stderr when it is a terminal and the run is long."""
    show_bar = sys.stderr.isatty() and len(texts) >= PROGRESS_MIN_ITEMS
    items: Iterable[str] = tqdm(texts, desc=description, unit="msg") if show_bar else texts
    return [predict(text) for text in items]
