"""Classification metrics for intent predictions.

Definitions (stated in every report, see MACRO_F1_DEFINITION):
- accuracy: share of messages whose predicted intent equals the gold intent, over ALL messages
  (a fallback or an intent unknown to the eval set counts as wrong).
- per-intent precision/recall/F1/support, macro-F1 and weighted-F1 are computed over the intents that
  occur as gold labels in the eval set (scikit-learn's ``labels=sorted(set(gold))``, ``zero_division=0``).
  Predictions of other labels (e.g. ``nlu_fallback``) still cost recall of the gold intent, but those
  labels get no row of their own and do not enter the averages.
  macro-F1 = unweighted mean of those per-intent F1; weighted-F1 = mean weighted by gold support.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

MACRO_F1_DEFINITION = (
    "macro-F1 = unweighted mean of per-intent F1 over the intents present as gold labels in the eval set "
    "(sklearn labels=sorted(set(gold)), zero_division=0); predictions outside that set (e.g. nlu_fallback) "
    "count as misses for recall but get no F1 of their own. weighted-F1 uses the same labels, weighted by "
    "gold support. accuracy is over all messages."
)


@dataclass(frozen=True)
class IntentScores:
    """Precision, recall and F1 of one intent, and its gold support."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts[i][j] = messages with gold ``rows[i]`` predicted as ``columns[j]``.

    Rows are the eval set's gold intents; columns are those same intents followed by any other predicted
    label (fallback, intents absent from the eval set), so the matrix accounts for every message.
    """

    rows: list[str]
    columns: list[str]
    counts: list[list[int]]


@dataclass(frozen=True)
class ClassificationMetrics:
    """The aggregate and per-intent figures of one system on one eval set."""

    examples: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    per_intent: dict[str, IntentScores]
    confusion: ConfusionMatrix

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def build_confusion_matrix(gold: Sequence[str], predicted: Sequence[str]) -> ConfusionMatrix:
    """Confusion matrix with gold intents as rows and gold-then-extra predicted labels as columns."""
    rows = sorted(set(gold))
    extra_columns = sorted(set(predicted) - set(rows))
    columns = rows + extra_columns
    full = confusion_matrix(list(gold), list(predicted), labels=columns)
    counts = [[int(value) for value in full[index]] for index in range(len(rows))]
    return ConfusionMatrix(rows=rows, columns=columns, counts=counts)


def compute_metrics(gold: Sequence[str], predicted: Sequence[str]) -> ClassificationMetrics:
    """Score ``predicted`` against ``gold`` (same length, same order) as defined in the module doc."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("cannot score an empty eval set")
    gold, predicted = list(gold), list(predicted)
    labels = sorted(set(gold))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, average=None, zero_division=0
    )
    per_intent = {
        label: IntentScores(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
        for i, label in enumerate(labels)
    }
    total_support = sum(score.support for score in per_intent.values())
    return ClassificationMetrics(
        examples=len(gold),
        accuracy=float(accuracy_score(gold, predicted)),
        macro_f1=sum(score.f1 for score in per_intent.values()) / len(per_intent),
        weighted_f1=sum(score.f1 * score.support for score in per_intent.values()) / total_support,
        per_intent=per_intent,
        confusion=build_confusion_matrix(gold, predicted),
    )
