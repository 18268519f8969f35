"""A linear intent model over character and word n-grams, and how to blend it with another classifier.

Why it exists beside DIET: with a few thousand examples and messages that range from "好的" to a
90-character review, a regularised linear model over TF-IDF n-grams generalises better than DIET alone;
DIET still sees interactions the linear model cannot. ``blend`` mixes their probability rankings.

Text goes through the same canonical form for training and prediction (``canonical_text``):
- ``bot.text.normalize`` (traditional -> simplified, full-width -> half-width) and lower case;
- long digit strings (order and waybill numbers) become one placeholder character, so the model learns
  "a message that is mostly a number" instead of memorising numbers;
- the masks of anonymised chat logs (``[订单x]``, ``[金额x]`` ...) become the placeholder of what they hide,
  so a log where the number was masked reads like a live chat where it was typed.

Rasa-free on purpose: ``actions/nlu_components.py`` wraps it as a pipeline component, and the evaluation
and tests use it directly.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from bot.nlu_eval.baselines import JiebaWords
from bot.text import normalize

# Placeholders: private-use characters that never occur in buyers' text.
ORDER_NUMBER_MARK = "\ue000"  # an order/waybill/ticket number
NUMBER_MARK = "\ue001"  # a shorter number (quantity, days, price without a unit)
AMOUNT_MARK = "\ue002"  # a money amount
NAME_MARK = "\ue003"
LINK_MARK = "\ue004"
DATE_MARK = "\ue005"

# Masks used by anonymised customer-service logs, e.g. "[订单x]", "[金额3]".
_MASKS = {
    "订单": ORDER_NUMBER_MARK,
    "数字": NUMBER_MARK,
    "金额": AMOUNT_MARK,
    "姓名": NAME_MARK,
    "链接": LINK_MARK,
    "日期": DATE_MARK,
}
_MASK_RE = re.compile(r"\[(" + "|".join(_MASKS) + r")[^\]]{0,4}\]")
_LONG_DIGITS_RE = re.compile(r"\d{6,}")
_URL_RE = re.compile(r"https?://\S+")


def canonical_text(text: str) -> str:
    """The form both training and prediction see (see the module docstring)."""
    text = normalize(text).lower()
    text = _MASK_RE.sub(lambda match: _MASKS[match.group(1)], text)
    text = _URL_RE.sub(LINK_MARK, text)
    return _LONG_DIGITS_RE.sub(ORDER_NUMBER_MARK, text)


@dataclass(frozen=True)
class IntentModelSettings:
    """The model's knobs.

    char_ngrams: character n-gram range; words: add jieba word unigrams; c: inverse regularisation;
    class_weight: None or "balanced"; dense_weight: scale of the sentence-vector block beside the n-grams
    (0 = n-grams only; the vectors are L2-normalised, so this sets how much they weigh against the TF-IDF
    rows, which are too); classifier: "svm" (linear SVM, scores turned into probabilities by a softmax
    whose temperature is fitted on held-out folds of the training data) or "logreg" (multinomial
    logistic regression, its own probabilities).
    """

    char_ngrams: tuple[int, int] = (1, 3)
    words: bool = False
    c: float = 10.0
    class_weight: str | None = None
    dense_weight: float = 0.0
    classifier: str = "logreg"

    @classmethod
    def from_component_config(cls, config: dict) -> "IntentModelSettings":
        """The settings of a LinearIntentClassifier entry of config.yml (missing keys take the defaults; no
        dense_featurizers means n-grams only). The Rasa component and the cross-validation both read it here."""
        defaults = cls()
        uses_dense = bool(config.get("dense_featurizers"))
        return cls(
            char_ngrams=tuple(config.get("char_ngrams", defaults.char_ngrams)),
            words=bool(config.get("words", defaults.words)),
            c=float(config.get("c", defaults.c)),
            class_weight=config.get("class_weight", defaults.class_weight),
            dense_weight=float(config.get("dense_weight", 1.0)) if uses_dense else 0.0,
            classifier=config.get("classifier", defaults.classifier),
        )

    def __post_init__(self) -> None:
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"classifier must be one of {sorted(CLASSIFIERS)}, got {self.classifier!r}")
        if self.dense_weight < 0:
            raise ValueError(f"dense_weight must be >= 0, got {self.dense_weight}")


CLASSIFIERS = {"logreg", "svm"}
_CALIBRATION_FOLDS = 3


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = np.asarray(scores, dtype=np.float64) * temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def fit_temperature(scores: np.ndarray, gold_columns: np.ndarray) -> float:
    """The softmax temperature that minimises the negative log-likelihood of held-out scores.

    A 1-D search over a log grid then a local refinement: the NLL is smooth and unimodal in the
    temperature, and a few hundred evaluations on a few thousand rows cost milliseconds.
    """
    rows = np.arange(len(gold_columns))

    def nll(temperature: float) -> float:
        return float(-np.log(softmax(scores, temperature)[rows, gold_columns] + 1e-12).mean())

    grid = np.exp(np.linspace(np.log(0.05), np.log(200.0), 60))
    best = min(grid, key=nll)
    fine = np.linspace(best / 1.2, best * 1.2, 41)
    return float(min(fine, key=nll))


class IntentModel:
    """TF-IDF (sublinear) character n-grams [+ jieba words] [+ a sentence vector] -> a linear classifier.

    Probabilities are ``softmax(temperature * (X @ coef.T + intercept))`` for both classifiers (for
    multinomial logistic regression, temperature 1 is exactly its predict_proba), so one persisted form
    serves both.
    """

    def __init__(self, settings: IntentModelSettings | None = None, user_dictionary: str | Path | None = None):
        self.settings = settings or IntentModelSettings()
        self._user_dictionary = str(user_dictionary) if user_dictionary else None
        self._chars = TfidfVectorizer(
            analyzer="char", ngram_range=self.settings.char_ngrams, sublinear_tf=True, lowercase=False
        )
        self._words = (
            TfidfVectorizer(
                analyzer=JiebaWords(user_dictionary), ngram_range=(1, 1), sublinear_tf=True, lowercase=False
            )
            if self.settings.words
            else None
        )
        self.intents: list[str] = []
        self.coef: np.ndarray | None = None
        self.intercept: np.ndarray | None = None
        self.temperature = 1.0
        self.dense_dimension = 0

    @property
    def uses_dense(self) -> bool:
        return self.settings.dense_weight > 0

    def _new_classifier(self):
        if self.settings.classifier == "svm":
            return LinearSVC(C=self.settings.c, class_weight=self.settings.class_weight, random_state=0)
        return LogisticRegression(
            C=self.settings.c, solver="saga", max_iter=3000, random_state=0, class_weight=self.settings.class_weight
        )

    def _features(self, texts: Sequence[str], dense: np.ndarray | None, fit: bool = False):
        canonical = [canonical_text(text) for text in texts]
        vectorizers = [self._chars] + ([self._words] if self._words is not None else [])
        blocks = [(v.fit_transform(canonical) if fit else v.transform(canonical)) for v in vectorizers]
        if self.uses_dense:
            blocks.append(csr_matrix(self._checked_dense(dense, len(texts), fit) * self.settings.dense_weight))
        return hstack(blocks).tocsr()

    def _checked_dense(self, dense: np.ndarray | None, rows: int, fit: bool) -> np.ndarray:
        if dense is None:
            raise ValueError("this intent model uses sentence vectors: pass dense= with one vector per text")
        dense = np.asarray(dense, dtype=np.float64)
        if dense.ndim != 2 or dense.shape[0] != rows:
            raise ValueError(f"dense must be a ({rows}, d) matrix, got shape {dense.shape}")
        if fit:
            self.dense_dimension = dense.shape[1]
        elif dense.shape[1] != self.dense_dimension:
            raise ValueError(f"dense vectors have {dense.shape[1]} dimensions, the model was trained on "
                             f"{self.dense_dimension}")
        return dense

    def fit(self, texts: Sequence[str], intents: Sequence[str], dense: np.ndarray | None = None) -> "IntentModel":
        if len(set(intents)) < 2:
            raise ValueError("the intent model needs at least two intents in the training data")
        features = self._features(texts, dense, fit=True)
        labels = np.asarray(list(intents))
        classifier = self._new_classifier().fit(features, labels)
        self.intents = [str(label) for label in classifier.classes_]
        self.coef = np.asarray(classifier.coef_, dtype=np.float64)
        self.intercept = np.asarray(classifier.intercept_, dtype=np.float64)
        if len(self.intents) == 2:  # sklearn keeps one row for two classes: make it a two-column model
            self.coef = np.vstack([-self.coef[0] / 2, self.coef[0] / 2])
            self.intercept = np.array([-self.intercept[0] / 2, self.intercept[0] / 2])
        self.temperature = 1.0 if self.settings.classifier == "logreg" else self._calibrate(features, labels)
        return self

    def _calibrate(self, features, labels: np.ndarray) -> float:
        """Temperature from out-of-fold scores (the SVM's margins on training rows are overconfident)."""
        counts = Counter(labels.tolist())
        folds = min(_CALIBRATION_FOLDS, min(counts.values()))
        if folds < 2:
            return 1.0
        index = {intent: column for column, intent in enumerate(self.intents)}
        held_out_scores, held_out_gold = [], []
        for train_rows, test_rows in StratifiedKFold(folds, shuffle=True, random_state=0).split(features, labels):
            if len(set(labels[train_rows])) < len(self.intents):
                continue
            classifier = self._new_classifier().fit(features[train_rows], labels[train_rows])
            scores = np.asarray(classifier.decision_function(features[test_rows]))
            if scores.ndim == 1:  # two intents: one margin, as two columns like the fitted model's
                scores = np.column_stack([-scores / 2, scores / 2])
            held_out_scores.append(scores)
            held_out_gold.append(np.array([index[label] for label in labels[test_rows]]))
        if not held_out_scores:
            return 1.0
        return fit_temperature(np.vstack(held_out_scores), np.concatenate(held_out_gold))

    def scores(self, texts: Sequence[str], dense: np.ndarray | None = None) -> np.ndarray:
        if self.coef is None:
            raise ValueError("the intent model is not trained")
        features = self._features(texts, dense)
        return np.asarray(features @ self.coef.T) + self.intercept

    def predict_proba(self, texts: Sequence[str], dense: np.ndarray | None = None) -> list[dict[str, float]]:
        """One {intent: probability} per text, probabilities summing to 1."""
        probabilities = softmax(self.scores(texts, dense), self.temperature)
        return [dict(zip(self.intents, row.tolist())) for row in probabilities]

    def predict(self, texts: Sequence[str], dense: np.ndarray | None = None) -> list[str]:
        return [max(row, key=row.get) for row in self.predict_proba(texts, dense)]


def blend(linear: Mapping[str, float], other: Mapping[str, float], linear_weight: float) -> list[tuple[str, float]]:
    """Weighted mean of two {intent: confidence} rankings, best first.

    An intent missing from one ranking counts 0 there (DIET reports only its top few). The result is
    renormalised so confidences sum to 1 over the union, which keeps the fallback threshold meaningful.
    """
    if not 0.0 <= linear_weight <= 1.0:
        raise ValueError(f"linear_weight must be in [0, 1], got {linear_weight}")
    intents = set(linear) | set(other)
    mixed = {
        intent: linear_weight * linear.get(intent, 0.0) + (1.0 - linear_weight) * other.get(intent, 0.0)
        for intent in intents
    }
    total = sum(mixed.values()) or 1.0
    return sorted(((intent, score / total) for intent, score in mixed.items()), key=lambda pair: (-pair[1], pair[0]))


# ---------------------------------------------------------------------------------------------------------
# Persistence without pickle: JSON vocabularies and plain numpy arrays (np.load with allow_pickle=False),
# so loading a model file can never execute code, the same reason Rasa moved its own classifiers to skops.

_SETTINGS_FILE = "intent_model.json"
_ARRAYS_FILE = "intent_model_arrays.npz"


def save_intent_model(model: IntentModel, directory: str | Path) -> None:
    """Write a fitted model into ``directory`` (created if missing)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    settings = model.settings
    document = {
        "format": 2,
        "settings": {
            "char_ngrams": list(settings.char_ngrams),
            "words": settings.words,
            "c": settings.c,
            "class_weight": settings.class_weight,
            "dense_weight": settings.dense_weight,
            "classifier": settings.classifier,
        },
        "intents": model.intents,
        "temperature": model.temperature,
        "dense_dimension": model.dense_dimension,
        "char_vocabulary": {term: int(index) for term, index in model._chars.vocabulary_.items()},
        "word_vocabulary": (
            {term: int(index) for term, index in model._words.vocabulary_.items()} if model._words else None
        ),
        "dictionary_texts": model._words.analyzer.dictionary_texts if model._words else [],
    }
    (directory / _SETTINGS_FILE).write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    arrays = {"char_idf": model._chars.idf_, "coef": model.coef, "intercept": model.intercept}
    if model._words is not None:
        arrays["word_idf"] = model._words.idf_
    np.savez_compressed(directory / _ARRAYS_FILE, **arrays)


def load_intent_model(directory: str | Path) -> IntentModel:
    """Read a model written by ``save_intent_model``; raises ValueError when the files are not one."""
    directory = Path(directory)
    try:
        document = json.loads((directory / _SETTINGS_FILE).read_text(encoding="utf-8"))
        with np.load(directory / _ARRAYS_FILE, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError) as error:
        raise ValueError(f"no readable intent model in {directory}: {error}") from error
    if document.get("format") != 2:
        raise ValueError(f"unknown intent model format {document.get('format')!r} in {directory}")
    raw = document["settings"]
    settings = IntentModelSettings(
        char_ngrams=tuple(raw["char_ngrams"]), words=raw["words"], c=raw["c"], class_weight=raw["class_weight"],
        dense_weight=raw["dense_weight"], classifier=raw["classifier"],
    )
    model = IntentModel(settings)
    _restore_vectorizer(model._chars, document["char_vocabulary"], arrays["char_idf"])
    if model._words is not None:
        model._words.analyzer = JiebaWords.from_dictionary_texts(document["dictionary_texts"])
        _restore_vectorizer(model._words, document["word_vocabulary"], arrays["word_idf"])
    model.intents = list(document["intents"])
    model.temperature = float(document["temperature"])
    model.dense_dimension = int(document["dense_dimension"])
    model.coef, model.intercept = arrays["coef"], arrays["intercept"]
    return model


def _restore_vectorizer(vectorizer: TfidfVectorizer, vocabulary: dict[str, int], idf: np.ndarray) -> None:
    vectorizer.vocabulary_ = vocabulary
    vectorizer.fixed_vocabulary_ = True
    vectorizer.idf_ = idf
