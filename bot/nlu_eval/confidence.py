"""What a ranking with confidences is worth to a buyer: recall@3, clarified share, confident-wrong rate.

With 猜你想问, a message whose top confidence is below the threshold is *clarified* (the buyer picks among
the top intents), not answered. So three figures matter beside accuracy:
- recall@3: the right intent is among the top three (what the clarification buttons can offer);
- clarified share: messages below the threshold;
- confident-wrong rate: top intent wrong *and* at or above the threshold, over all messages: the buyer gets
  the wrong script without being asked. A system without confidences always answers, so its
  confident-wrong rate is its error rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

Ranking = Sequence[tuple[str, float]]  # best first; confidence may be nan for systems without one


@dataclass(frozen=True)
class ConfidenceFigures:
    examples: int
    recall_at_3: float
    clarified_share: float
    confident_wrong_rate: float
    answered_accuracy: float  # accuracy over the messages that were not clarified

    def as_dict(self) -> dict[str, float]:
        return {
            "examples": self.examples,
            "recall_at_3": self.recall_at_3,
            "clarified_share": self.clarified_share,
            "confident_wrong_rate": self.confident_wrong_rate,
            "answered_accuracy": self.answered_accuracy,
        }


def _is_clarified(ranking: Ranking, threshold: float | None) -> bool:
    if threshold is None or not ranking:
        return not ranking
    confidence = ranking[0][1]
    return confidence == confidence and confidence < threshold  # nan (no confidence) never clarifies


def confidence_figures(gold: Sequence[str], rankings: Sequence[Ranking], threshold: float | None) -> ConfidenceFigures:
    if len(gold) != len(rankings):
        raise ValueError(f"{len(gold)} labels but {len(rankings)} rankings")
    total = len(gold) or 1
    in_top3 = sum(label in [intent for intent, _ in ranking[:3]] for label, ranking in zip(gold, rankings))
    clarified = [_is_clarified(ranking, threshold) for ranking in rankings]
    answered = [(label, ranking) for label, ranking, asked in zip(gold, rankings, clarified) if not asked]
    wrong_answered = sum(ranking[0][0] != label for label, ranking in answered)
    return ConfidenceFigures(
        examples=len(gold),
        recall_at_3=in_top3 / total,
        clarified_share=sum(clarified) / total,
        confident_wrong_rate=wrong_answered / total,
        answered_accuracy=(len(answered) - wrong_answered) / len(answered) if answered else 0.0,
    )


def tradeoff_table(gold: Sequence[str], rankings: Sequence[Ranking], thresholds: Sequence[float]) -> str:
    """One row per threshold: clarified share, confident-wrong rate, accuracy of what is answered."""
    lines = ["threshold  clarified  confident-wrong  answered-accuracy"]
    for threshold in thresholds:
        figures = confidence_figures(gold, rankings, threshold)
        lines.append(
            f"{threshold:9.2f}  {figures.clarified_share:9.3f}  {figures.confident_wrong_rate:15.3f}  "
            f"{figures.answered_accuracy:17.3f}"
        )
    return "\n".join(lines)


def smallest_threshold_within(
    gold: Sequence[str], rankings: Sequence[Ranking], max_confident_wrong: float, thresholds: Sequence[float]
) -> float | None:
    """The lowest threshold whose confident-wrong rate is at most ``max_confident_wrong`` (fewest questions)."""
    for threshold in sorted(thresholds):
        if confidence_figures(gold, rankings, threshold).confident_wrong_rate <= max_confident_wrong:
            return threshold
    return None
