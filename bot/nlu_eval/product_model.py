"""The assistant's intent classifier outside Rasa, for cross-validation: same settings, same features.

config.yml's pipeline runs ChineseTextNormalizer -> SentenceEncoderFeaturizer -> LinearIntentClassifier ->
FallbackClassifier. ``ProductIntentModel`` does the same on plain lists (normalise, embed through the
shared cache, ``bot.intent_model.IntentModel``), so K-fold figures over the chat logs measure the product's
own classifier without training Rasa K times. ``product_settings`` reads the knobs from config.yml, so the
two cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml

from bot.intent_model import IntentModel, IntentModelSettings
from bot.sentence_encoder import CachedEncoder, build_encoder
from bot.text import normalize

CLASSIFIER_COMPONENT = "actions.nlu_components.LinearIntentClassifier"
FEATURIZER_COMPONENT = "actions.nlu_components.SentenceEncoderFeaturizer"


@dataclass(frozen=True)
class ProductSettings:
    model: IntentModelSettings
    fallback_threshold: float | None
    encoder_model_path: str | None = None


def product_settings(config_path: str | Path) -> ProductSettings:
    """The classifier's settings and the fallback threshold of config.yml's pipeline."""
    pipeline = (yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}).get("pipeline") or []
    by_name = {step.get("name"): step for step in pipeline if isinstance(step, dict)}
    classifier = by_name.get(CLASSIFIER_COMPONENT)
    if classifier is None:
        raise ValueError(f"{config_path}: no {CLASSIFIER_COMPONENT} in the pipeline")
    model = IntentModelSettings.from_component_config(classifier)
    fallback = by_name.get("FallbackClassifier")
    featurizer = by_name.get(FEATURIZER_COMPONENT) or {}
    return ProductSettings(
        model=model,
        fallback_threshold=float(fallback.get("threshold", 0.3)) if fallback else None,
        encoder_model_path=featurizer.get("model_path"),
    )


class ProductIntentModel:
    def __init__(self, settings: ProductSettings, encoder: CachedEncoder | None = None,
                 user_dictionary: str | Path | None = None) -> None:
        self.settings = settings
        self._user_dictionary = user_dictionary
        self._encoder = encoder if encoder is not None or not settings.model.dense_weight else build_encoder(
            settings.encoder_model_path
        )
        self._model: IntentModel | None = None

    def _vectors(self, texts: Sequence[str]):
        return self._encoder.embed(list(texts)) if self._encoder is not None else None

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> "ProductIntentModel":
        normalized = [normalize(text) for text in texts]
        self._model = IntentModel(self.settings.model, self._user_dictionary).fit(
            normalized, list(intents), self._vectors(normalized)
        )
        return self

    def probabilities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if self._model is None:
            raise ValueError("fit the model first")
        normalized = [normalize(text) for text in texts]
        return self._model.predict_proba(normalized, self._vectors(normalized))
