"""How far can the linear intent model go on real buyer messages, even with real buyer data to learn from?

    .venv/bin/python bench/bench_nlu_ceiling.py [EVAL.jsonl] [--folds 10] [--seed 0]

A diagnostic, not part of the product: it never writes a model and nothing it fits is used by the assistant.
It answers one question with figures printed side by side from the same run: is the NLU short of its target
(accuracy >= 0.90 on the eval set) because the team's training data reads unlike real buyers, or because
a bag-of-n-grams model cannot generalise between real buyers' messages at all?

Rows (all the linear model of bot/intent_model.py, TF-IDF char 1-3-grams + logistic regression):
  team data only          trained on data/nlu, scored on the whole eval set (the baseline of this run)
  team data + eval folds  K-fold over the eval set: trained on data/nlu plus the other K-1 folds of real
                          messages, scored on the held-out fold; every eval message is scored exactly once
                          by a model that never saw it
  ... x5                  the same with the real messages repeated five times (weighted up)
  eval folds only         the real messages of the other folds alone, no team data
If adding hundreds of real, labelled buyer messages barely moves the figure, more data of any kind will not
close the gap for this model class; a representation that knows Chinese (a pretrained encoder) would.
Only aggregates are printed, never a message.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.intent_model import IntentModel  # noqa: E402
from bot.nlu_eval.eval_data import read_eval_jsonl  # noqa: E402
from bot.nlu_eval.metrics import compute_metrics  # noqa: E402
from bot.nlu_eval.training_data import read_training_data  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def fit_predict(train_texts: Sequence[str], train_intents: Sequence[str], texts: Sequence[str]) -> List[str]:
    return IntentModel().fit(train_texts, train_intents).predict(texts)


def cross_fitted(team_texts, team_intents, eval_texts, eval_intents, folds: int, seed: int, weight: int) -> List[str]:
    """Each eval message predicted by a model trained on the team data plus the eval messages of the other folds."""
    order = list(range(len(eval_texts)))
    random.Random(seed).shuffle(order)
    predicted: List[str] = [""] * len(eval_texts)
    for fold in range(folds):
        held_out = set(order[fold::folds])
        others = [i for i in range(len(eval_texts)) if i not in held_out]
        texts = list(team_texts) + [eval_texts[i] for i in others] * weight
        intents = list(team_intents) + [eval_intents[i] for i in others] * weight
        held = sorted(held_out)
        for index, intent in zip(held, fit_predict(texts, intents, [eval_texts[i] for i in held])):
            predicted[index] = intent
    return predicted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval", nargs="?", default=str(ROOT.parent / "shared" / "eval" / "dev.jsonl"))
    parser.add_argument("--data", default=str(ROOT / "data" / "nlu"))
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    team = read_training_data(args.data)
    team_texts, team_intents = [e.text for e in team], [e.intent for e in team]
    examples = read_eval_jsonl(args.eval)
    eval_texts, eval_intents = [e.text for e in examples], [e.intent for e in examples]
    print(f"team examples {len(team)}, eval messages {len(examples)} ({args.eval}), {args.folds} folds")

    rows = [("team data only", lambda: fit_predict(team_texts, team_intents, eval_texts))]
    for weight in (1, 5):
        label = "team data + eval folds" + ("" if weight == 1 else f" x{weight}")
        rows.append((label, lambda weight=weight: cross_fitted(
            team_texts, team_intents, eval_texts, eval_intents, args.folds, args.seed, weight)))
    rows.append(("eval folds only", lambda: cross_fitted([], [], eval_texts, eval_intents, args.folds, args.seed, 1)))
    baseline = None
    print(f"{'system':28s} {'accuracy':>8s} {'macro-F1':>8s} {'vs team-only':>12s} {'seconds':>8s}")
    for label, run in rows:
        started = time.perf_counter()
        metrics = compute_metrics(eval_intents, run())
        baseline = metrics.accuracy if baseline is None else baseline
        print(f"{label:28s} {metrics.accuracy:8.3f} {metrics.macro_f1:8.3f} "
              f"{metrics.accuracy - baseline:+12.3f} {time.perf_counter() - started:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
