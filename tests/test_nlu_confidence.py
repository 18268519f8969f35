"""bot.nlu_eval.confidence and crossval: recall@3, clarified share, confident-wrong, K-fold over logs."""
from __future__ import annotations

import math

import pytest

from bot.labelled_logs import LabelledMessage
from bot.nlu_eval.confidence import confidence_figures, smallest_threshold_within, tradeoff_table
from bot.nlu_eval.crossval import baseline_trainers, cross_validate
from bot.nlu_eval.training_data import TrainingExample

NAN = float("nan")
GOLD = ["damaged", "leaking", "greet", "invoice"]
RANKINGS = [
    (("damaged", 0.9), ("leaking", 0.1)),  # right, confident
    (("damaged", 0.5), ("leaking", 0.4)),  # wrong top, right in top 3, unsure
    (("thank", 0.8), ("greet", 0.2)),  # wrong, confident: the buyer gets the wrong script
    (("damaged", 0.3), ("leaking", 0.3), ("greet", 0.2), ("invoice", 0.2)),  # right only at rank 4
]


def test_figures_at_a_threshold() -> None:
    figures = confidence_figures(GOLD, RANKINGS, threshold=0.6)
    assert figures.recall_at_3 == pytest.approx(3 / 4)
    assert figures.clarified_share == pytest.approx(2 / 4)
    assert figures.confident_wrong_rate == pytest.approx(1 / 4)
    assert figures.answered_accuracy == pytest.approx(1 / 2)


def test_a_system_without_confidences_always_answers() -> None:
    rankings = [((intent, NAN),) for intent in ["damaged", "damaged", "greet", "invoice"]]
    figures = confidence_figures(GOLD, rankings, threshold=0.6)
    assert figures.clarified_share == 0 and figures.confident_wrong_rate == pytest.approx(1 / 4)


def test_a_higher_threshold_never_raises_confident_wrong() -> None:
    rates = [confidence_figures(GOLD, RANKINGS, t).confident_wrong_rate for t in (0.1, 0.4, 0.6, 0.85, 0.95)]
    assert rates == sorted(rates, reverse=True)
    assert smallest_threshold_within(GOLD, RANKINGS, 0.0, [0.1, 0.5, 0.85]) == 0.85
    assert "threshold" in tradeoff_table(GOLD, RANKINGS, [0.5])


def test_cross_validation_scores_every_splittable_log_message_once() -> None:
    team = [TrainingExample(t, i) for t, i in [("杯子碎了", "damaged"), ("漏液了", "leaking"), ("你好", "greet")]]
    logs = [LabelledMessage(n, text, intent) for n, (text, intent) in enumerate(
        [("碗碎了", "damaged"), ("盘子碎了", "damaged"), ("瓶子碎了", "damaged"),
         ("洒了一地", "leaking"), ("漏了好多", "leaking"), ("漏水了", "leaking"),
         ("在吗", "greet"), ("您好", "greet"), ("哈喽你好", "greet"), ("发票", "invoice")], start=1)]
    results, rankings, gold = cross_validate(team, logs, baseline_trainers(), {}, folds=3, echo=lambda _: None)
    assert len(gold) == 9  # the one invoice message cannot be stratified: always in training, never scored
    assert {r.name for r in results} == {"keyword", "tfidf+lr"}
    tfidf = next(r for r in results if r.name == "tfidf+lr")
    assert 0.0 <= tfidf.metrics.accuracy <= 1.0 and not math.isnan(tfidf.confidence.recall_at_3)
    assert all(len(ranking) >= 1 for ranking in rankings["tfidf+lr"])
