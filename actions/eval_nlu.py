"""Evaluate the trained NLU model on labelled messages, beside two baselines.

    python -m actions.eval_nlu PATH.jsonl [--model models/X.tar.gz] [--out reports/nlu] [--train-data data/nlu]
                               [--logs LOGS.jsonl | --logs ''] [--cv 5] [--config config.yml]

PATH.jsonl holds one ``{"text": ..., "intent": ...}`` object a line. The Rasa model (default: the newest
``models/*.tar.gz``) is loaded once and parses every message in-process; a keyword matcher and TF-IDF +
logistic regression are trained on the same training data in the same run (the team's examples plus the
labelled chat logs training used: ``bot.labelled_logs`` picks the same file). With ``--cv K`` the model's
classifier (its config.yml settings, outside Rasa) and both baselines are also cross-validated over the logs. Figures are printed and written
to ``--out`` (JSON report + one confusion-matrix PNG per system). The scoring lives in ``bot.nlu_eval``;
this module only adapts the Rasa model to it, which is why it sits in ``actions/`` (the only Rasa importer).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

from bot.labelled_logs import choose_logs_path
from bot.nlu_eval.eval_data import EvalDataError, read_eval_jsonl
from bot.nlu_eval.evaluation import Prediction, prediction_from_parse
from bot.nlu_eval.run import RunSettings, run_evaluation
from bot.nlu_eval.training_data import training_files

DEFAULT_MODELS_DIR = Path("models")
DEFAULT_TRAIN_DATA = Path("data/nlu")
DEFAULT_OUT = Path("reports/nlu")
DEFAULT_JIEBA_DICTIONARY = Path("data/jieba")  # the same user dictionary config.yml gives JiebaTokenizer


def newest_model(models_dir: Path = DEFAULT_MODELS_DIR) -> Path:
    """The most recently written ``*.tar.gz`` in ``models_dir`` (what ``rasa train`` just produced)."""
    candidates = sorted(models_dir.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    if not candidates:
        raise FileNotFoundError(f"no trained model (*.tar.gz) in {models_dir}/: run `rasa train` or pass --model")
    return candidates[-1]


def warn_if_model_older_than_training_data(model_path: Path, train_path: Path) -> None:
    """The baselines always learn from the current data; say so when the model learnt from older data."""
    model_time = model_path.stat().st_mtime
    newer = [file.name for file in training_files(train_path) if file.stat().st_mtime > model_time]
    if newer:
        print(
            f"warning: training data changed after {model_path.name} was trained ({', '.join(newer)}); "
            "the baselines use the current data, so retrain for a fair comparison",
            file=sys.stderr,
        )


def _quiet_rasa_logging() -> None:
    """Keep Rasa/TensorFlow to warnings on stderr, so stdout carries only the figures."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


class RasaModelPredictor:
    """Loads a trained model once and parses messages with it, synchronously.

    ``Agent.parse_message`` is a coroutine; one private event loop serves all calls, which is much
    cheaper than ``asyncio.run`` per message.
    """

    def __init__(self, model_path: Path) -> None:
        from rasa.core.agent import Agent

        self._agent = Agent.load(str(model_path))
        self._loop = asyncio.new_event_loop()

    def parse(self, text: str) -> dict[str, Any]:
        return self._loop.run_until_complete(self._agent.parse_message(text))

    def __call__(self, text: str) -> Prediction:
        return prediction_from_parse(self.parse(text))

    def close(self) -> None:
        self._loop.close()


def _logs_path(argument: str | None) -> Path | None:
    if argument is not None:
        return Path(argument) if argument.strip() else None
    return choose_logs_path().path


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m actions.eval_nlu", description=__doc__.split("\n\n")[0].strip()
    )
    parser.add_argument("eval_file", type=Path, help="JSONL of {\"text\": ..., \"intent\": ...}")
    parser.add_argument("--model", type=Path, help="trained model .tar.gz (default: newest in models/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report folder (default {DEFAULT_OUT})")
    parser.add_argument(
        "--train-data", type=Path, default=DEFAULT_TRAIN_DATA, help=f"NLU YAML for the baselines ({DEFAULT_TRAIN_DATA})"
    )
    parser.add_argument(
        "--jieba-dict",
        type=Path,
        default=DEFAULT_JIEBA_DICTIONARY,
        help="jieba user dictionary file/folder for the keyword baseline (ignored if missing)",
    )
    parser.add_argument("--logs", help="labelled chat logs (default: the file training uses; '' for none)")
    parser.add_argument("--cv", type=int, default=5, help="K-fold cross-validation over the logs (0: skip)")
    parser.add_argument("--config", type=Path, default=Path("config.yml"), help="the pipeline config (config.yml)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        model_path = arguments.model or newest_model()
        if not model_path.is_file():
            raise FileNotFoundError(f"model not found: {model_path}")
        if not arguments.eval_file.is_file():
            raise FileNotFoundError(f"eval file not found: {arguments.eval_file}")
        read_eval_jsonl(arguments.eval_file)  # fail on a bad line now, not after the slow model load
        warn_if_model_older_than_training_data(model_path, arguments.train_data)
        _quiet_rasa_logging()
        print(f"loading model {model_path} ...", file=sys.stderr)
        predictor = RasaModelPredictor(model_path)
        settings = RunSettings(
            eval_path=arguments.eval_file,
            train_path=arguments.train_data,
            out_dir=arguments.out,
            model_path=str(model_path),
            jieba_dictionary=arguments.jieba_dict if arguments.jieba_dict.exists() else None,
            logs_path=_logs_path(arguments.logs),
            config_path=arguments.config if arguments.config.is_file() else None,
            cv_folds=max(0, arguments.cv),
        )
        try:
            run_evaluation(settings, predictor)
        finally:
            predictor.close()
    except (EvalDataError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
