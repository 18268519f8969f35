"""K-fold cross-validation over a shop's labelled chat logs: the model and both baselines, same folds.

Each fold is scored by systems trained on the team's examples plus the other K-1 folds of the logs, the way
the assistant is trained (team data + logs). Folds are stratified by intent with a fixed seed, so two runs
on the same data use the same split. Only aggregates are printed: the log texts never leave the file.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

from sklearn.model_selection import StratifiedKFold

from bot.labelled_logs import LabelledMessage
from bot.nlu_eval.baselines import KeywordBaseline, TfidfLogRegBaseline
from bot.nlu_eval.confidence import ConfidenceFigures, Ranking, confidence_figures
from bot.nlu_eval.evaluation import Prediction
from bot.nlu_eval.metrics import ClassificationMetrics, compute_metrics
from bot.nlu_eval.training_data import TrainingExample

# A system: trained on (texts, intents), returns one ranking per test text.
SystemTrainer = Callable[[list[str], list[str], list[str]], list[Ranking]]


@dataclass(frozen=True)
class FoldedResult:
    name: str
    metrics: ClassificationMetrics
    confidence: ConfidenceFigures
    seconds: float


def baseline_trainers(jieba_dictionary=None) -> dict[str, SystemTrainer]:
    def keyword(texts, intents, test):
        return KeywordBaseline(user_dictionary=jieba_dictionary).fit(texts, intents).rankings(test)

    def tfidf(texts, intents, test):
        model = TfidfLogRegBaseline().fit(texts, intents)
        return [Prediction.from_probabilities(row).ranking for row in model.probabilities(test)]

    return {"keyword": keyword, "tfidf+lr": tfidf}


def cross_validate(
    team: Sequence[TrainingExample],
    logs: Sequence[LabelledMessage],
    systems: dict[str, SystemTrainer],
    thresholds: dict[str, float | None],
    folds: int = 5,
    echo: Callable[[str], None] = print,
) -> tuple[list[FoldedResult], dict[str, list[Ranking]], list[str]]:
    """Figures per system, plus every system's out-of-fold rankings (aligned with ``logs``) and gold."""
    gold = [message.intent for message in logs]
    texts = [message.text for message in logs]
    # Intents with fewer messages than folds cannot be stratified: they go into training every time.
    counts = {intent: gold.count(intent) for intent in set(gold)}
    splittable = [index for index, intent in enumerate(gold) if counts[intent] >= folds]
    always_train = [index for index, intent in enumerate(gold) if counts[intent] < folds]
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    rankings: dict[str, list[Ranking | None]] = {name: [None] * len(logs) for name in systems}
    seconds = {name: 0.0 for name in systems}
    team_texts, team_intents = [e.text for e in team], [e.intent for e in team]
    split = splitter.split([texts[i] for i in splittable], [gold[i] for i in splittable])
    for fold, (train_part, test_part) in enumerate(split, start=1):
        train_rows = [splittable[i] for i in train_part] + always_train
        test_rows = [splittable[i] for i in test_part]
        train_texts = team_texts + [texts[i] for i in train_rows]
        train_intents = team_intents + [gold[i] for i in train_rows]
        for name, trainer in systems.items():
            started = time.perf_counter()
            for row, ranking in zip(test_rows, trainer(train_texts, train_intents, [texts[i] for i in test_rows])):
                rankings[name][row] = ranking
            seconds[name] += time.perf_counter() - started
        echo(f"cross-validation: fold {fold}/{folds} done")
    scored = [index for index in range(len(logs)) if rankings[next(iter(systems))][index] is not None]
    scored_gold = [gold[i] for i in scored]
    results, out = [], {}
    for name in systems:
        system_rankings = [rankings[name][i] for i in scored]
        out[name] = system_rankings
        top = [ranking[0][0] for ranking in system_rankings]
        results.append(FoldedResult(
            name=name,
            metrics=compute_metrics(scored_gold, top),
            confidence=confidence_figures(scored_gold, system_rankings, thresholds.get(name)),
            seconds=seconds[name],
        ))
    return results, out, scored_gold


def format_folded_table(results: Sequence[FoldedResult], title: str) -> str:
    width = max([len("system")] + [len(r.name) for r in results])
    header = (f"{'system':<{width}}  accuracy  macro-F1  recall@3  clarified  confident-wrong  "
              f"answered-acc  seconds")
    lines = [title, header, "-" * len(header)]
    for r in results:
        c = r.confidence
        lines.append(
            f"{r.name:<{width}}  {r.metrics.accuracy:8.3f}  {r.metrics.macro_f1:8.3f}  {c.recall_at_3:8.3f}  "
            f"{c.clarified_share:9.3f}  {c.confident_wrong_rate:15.3f}  {c.answered_accuracy:12.3f}  "
            f"{r.seconds:7.1f}"
        )
    return "\n".join(lines)
