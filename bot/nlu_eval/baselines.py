"""Two reference classifiers trained on the same training data as the Rasa model.

They answer "is the model worth its complexity?": a trained pipeline should clearly beat
- KeywordBaseline: keywords learned from the training data (jieba words and character bigrams that mostly
  occur in one intent); the intent with the highest keyword score wins, ``out_of_scope`` when none matches;
- TfidfLogRegBaseline: TF-IDF over character 1-3-grams + logistic regression (deterministic).
Both normalise text the same way (NFKC: full-width -> half-width, traditional characters stay as written;
lower-case), and both predict a whole list at once.
"""
from __future__ import annotations

import io
import logging
import math
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import jieba
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

OUT_OF_SCOPE = "out_of_scope"

logging.getLogger("jieba").setLevel(logging.WARNING)  # silence "Building prefix dict ..." chatter


def normalize_text(text: str) -> str:
    """NFKC (full-width letters/digits/punctuation -> ASCII) and lower-case, so ＯＫ == ok."""
    return unicodedata.normalize("NFKC", text).lower().strip()


def _is_content(token: str) -> bool:
    """False for tokens made only of whitespace, punctuation or symbols (emoji, ！，~)."""
    return any(unicodedata.category(char)[0] in "LN" for char in token)


class JiebaWords:
    """A private jieba tokenizer (global jieba state untouched), optionally with user dictionaries.

    Picklable: it keeps the dictionaries' text (not their paths), so a model that pickles it loads the same
    words wherever it is unpickled; the jieba tokenizer itself (it holds a lock) is rebuilt on unpickling.
    """

    def __init__(self, user_dictionary: str | Path | None = None) -> None:
        self._dictionary_texts = [file.read_text(encoding="utf-8") for file in self._dictionary_files(user_dictionary)]
        self._tokenizer = self._build_tokenizer(self._dictionary_texts)

    @classmethod
    def from_dictionary_texts(cls, dictionary_texts: list[str]) -> "JiebaWords":
        """A tokenizer with these user dictionaries (each the text of one jieba dictionary file)."""
        words = cls.__new__(cls)
        words.__setstate__({"dictionary_texts": list(dictionary_texts)})
        return words

    @property
    def dictionary_texts(self) -> list[str]:
        return list(self._dictionary_texts)

    @staticmethod
    def _build_tokenizer(dictionary_texts: list[str]) -> jieba.Tokenizer:
        tokenizer = jieba.Tokenizer()
        for text in dictionary_texts:
            tokenizer.load_userdict(io.BytesIO(text.encode("utf-8")))
        return tokenizer

    def __getstate__(self) -> dict:
        return {"dictionary_texts": self._dictionary_texts}

    def __setstate__(self, state: dict) -> None:
        self._dictionary_texts = state["dictionary_texts"]
        self._tokenizer = self._build_tokenizer(self._dictionary_texts)

    @staticmethod
    def _dictionary_files(user_dictionary: str | Path | None) -> list[Path]:
        # Rasa's JiebaTokenizer loads every file of its dictionary_path directory; do the same.
        if user_dictionary is None:
            return []
        path = Path(user_dictionary)
        if path.is_dir():
            return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        return [path] if path.is_file() else []

    def __call__(self, text: str) -> list[str]:
        return [token for token in self._tokenizer.lcut(text) if _is_content(token)]


@dataclass(frozen=True)
class KeywordSettings:
    """How discriminative a feature must be to become a keyword.

    min_examples: training examples of the intent that must contain it;
    min_precision: share of all training examples containing it that belong to the intent.
    Defaults picked by 5-fold cross-validation on the training data (never on eval data): requiring 2+
    examples lost more recall than it removed noise, since the log1p weight already discounts rare keywords.
    """

    min_examples: int = 1
    min_precision: float = 0.5


class KeywordBaseline:
    """Keyword matcher whose keywords and weights are learned from labelled examples.

    Features of a message: its jieba words plus its character bigrams (bigrams catch words jieba splits
    differently, and typos). A feature is a keyword of intent I when at least ``min_examples`` training
    examples of I contain it and at least ``min_precision`` of the examples containing it are I.
    Its weight is precision * log(1 + examples of I containing it): specific and frequent keywords count
    most. A message scores each intent by the sum of its matched keywords' weights.
    """

    def __init__(self, settings: KeywordSettings | None = None, user_dictionary: str | Path | None = None):
        self.settings = settings or KeywordSettings()
        self._words = JiebaWords(user_dictionary)
        self.keywords: dict[str, dict[str, float]] = {}  # feature -> {intent: weight}

    def features(self, text: str) -> set[str]:
        """The set of words and character bigrams of a message (after normalisation)."""
        normalized = normalize_text(text)
        words = set(self._words(normalized))
        bigrams = {normalized[i : i + 2] for i in range(len(normalized) - 1)}
        return words | {bigram for bigram in bigrams if _is_content(bigram)}

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> "KeywordBaseline":
        """Learn keywords: count, per feature, the training examples of each intent containing it."""
        examples_with: dict[str, Counter[str]] = defaultdict(Counter)
        for text, intent in zip(texts, intents, strict=True):
            for feature in self.features(text):
                examples_with[feature][intent] += 1
        self.keywords = {}
        for feature, per_intent in examples_with.items():
            total = sum(per_intent.values())
            for intent, count in per_intent.items():
                precision = count / total
                if count >= self.settings.min_examples and precision >= self.settings.min_precision:
                    self.keywords.setdefault(feature, {})[intent] = precision * math.log1p(count)
        return self

    def scores(self, text: str) -> dict[str, float]:
        """Keyword score per intent (intents without any matched keyword are absent)."""
        totals: dict[str, float] = defaultdict(float)
        for feature in self.features(text):
            for intent, weight in self.keywords.get(feature, {}).items():
                totals[intent] += weight
        return dict(totals)

    def predict_one(self, text: str) -> str:
        """Highest-scoring intent; ties go to the alphabetically first (deterministic)."""
        scores = self.scores(text)
        if not scores:
            return OUT_OF_SCOPE
        return min(scores, key=lambda intent: (-scores[intent], intent))

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.predict_one(text) for text in texts]

    def rankings(self, texts: Sequence[str]) -> list[tuple[tuple[str, float], ...]]:
        """Intents by keyword score, best first; no confidence (nan): keyword scores are not probabilities."""
        rankings = []
        for text in texts:
            scores = self.scores(text)
            ordered = sorted(scores, key=lambda intent: (-scores[intent], intent)) or [OUT_OF_SCOPE]
            rankings.append(tuple((intent, float("nan")) for intent in ordered))
        return rankings


class TfidfLogRegBaseline:
    """TF-IDF over character 1-3-grams (sublinear tf) + multinomial logistic regression.

    C=10 because with a few dozen short examples per intent the default C=1 over-regularises (checked by
    cross-validation on the training data, never on the eval set). Solver saga: the same multinomial
    model as lbfgs, but ~10x faster on these wide sparse features (lbfgs took 20-30 s for 2,200
    examples); its shuffling is fixed by random_state, so runs are reproducible.
    """

    def __init__(self, regularization_c: float = 10.0, random_state: int = 0) -> None:
        self.pipeline = Pipeline(
            [
                (
                    "tfidf",
                    TfidfVectorizer(
                        analyzer="char", ngram_range=(1, 3), sublinear_tf=True, preprocessor=normalize_text
                    ),
                ),
                (
                    "logreg",
                    LogisticRegression(C=regularization_c, solver="saga", max_iter=5000, random_state=random_state),
                ),
            ]
        )

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> "TfidfLogRegBaseline":
        if len(set(intents)) < 2:
            raise ValueError("logistic regression needs at least two intents in the training data")
        self.pipeline.fit(list(texts), list(intents))
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(label) for label in self.pipeline.predict(list(texts))]

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        labels = [str(label) for label in self.pipeline.classes_]
        return [dict(zip(labels, row.tolist())) for row in self.pipeline.predict_proba(list(texts))]
