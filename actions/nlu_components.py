"""Rasa NLU components wrapping bot/'s Chinese normalisation and entity extraction.

In config.yml (default.v1 recipe)::

    pipeline:
      - name: actions.nlu_components.ChineseTextNormalizer   # first: before the tokenizer
      - name: JiebaTokenizer
      ...
      - name: DIETClassifier
      - name: actions.nlu_components.ShopEntityExtractor     # after the classifier
      - name: FallbackClassifier

Why the normaliser is registered as a MESSAGE_FEATURIZER: the default recipe chains tokenizer and featurizer
nodes in config order and runs them on both the training data (``process_training_data``) and every parsed
message (``process``), so a component of that type listed first sees the raw text before JiebaTokenizer.
It does not subclass rasa's ``Tokenizer`` (the recipe allows only one tokenizer) nor ``Featurizer`` (it
makes no features). Intent classifiers and entity extractors, by contrast, run only after all of those.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
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
from bot.text import normalize
from bot.text import warm_up as warm_up_text

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
