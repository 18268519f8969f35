"""actions.nlu_components: direct component tests, and a tiny NLU model trained and parsed end to end."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from actions.nlu_components import ORIGINAL_TEXT, ChineseTextNormalizer, ShopEntityExtractor
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _normalizer() -> ChineseTextNormalizer:
    return ChineseTextNormalizer.create({}, None, None, None)  # type: ignore[arg-type]


def _extractor(**config: Any) -> ShopEntityExtractor:
    return ShopEntityExtractor.create(config, None, None, None)  # type: ignore[arg-type]


def test_components_are_registered_with_the_types_that_place_them() -> None:
    normalizer = DefaultV1Recipe._from_registry(ChineseTextNormalizer.__name__)
    extractor = DefaultV1Recipe._from_registry(ShopEntityExtractor.__name__)
    assert normalizer.types == {DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER}
    assert extractor.types == {DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR}
    assert not normalizer.is_trainable and not extractor.is_trainable


def test_normalizer_rewrites_text_and_keeps_the_original() -> None:
    message = Message(data={TEXT: "訂單號：１２３４５６７８９０１２３"})
    _normalizer().process([message])
    assert message.get(TEXT) == "订单号:1234567890123"
    assert message.get(ORIGINAL_TEXT) == "訂單號：１２３４５６７８９０１２３"


def test_normalizer_twice_keeps_the_first_original() -> None:
    message = Message(data={TEXT: "退貨"})
    normalizer = _normalizer()
    normalizer.process([message])
    normalizer.process([message])
    assert message.get(TEXT) == "退货"
    assert message.get(ORIGINAL_TEXT) == "退貨"


def test_normalizer_leaves_messages_without_text_alone() -> None:
    message = Message(data={INTENT: "greet"})
    _normalizer().process([message])
    assert message.get(TEXT) is None and message.get(ORIGINAL_TEXT) is None


def test_normalizer_processes_training_examples() -> None:
    examples = [Message(data={TEXT: "收到的杯子碎了兩個", INTENT: "damaged"}),
                Message(data={TEXT: "包裹還沒到", INTENT: "not_received"})]
    training_data = _normalizer().process_training_data(TrainingData(training_examples=examples))
    assert [m.get(TEXT) for m in training_data.training_examples] == ["收到的杯子碎了两个", "包裹还没到"]
    assert training_data.training_examples[0].get(INTENT) == "damaged"


def test_extractor_adds_rasa_entities_with_normalised_values() -> None:
    text = "訂單號１２３４５６７８９０１２３，少了兩個，退我十三塊錢，順豐送的"
    message = Message(data={TEXT: text})
    _extractor().process([message])
    entities = message.get(ENTITIES)
    assert [(e["entity"], e["value"]) for e in entities] == [
        ("order_number", "1234567890123"), ("quantity", 2), ("amount", 1300), ("courier", "顺丰"),
    ]
    for entity in entities:
        assert entity["extractor"] == "ShopEntityExtractor"
        assert entity["confidence"] == 1.0
        assert text[entity["start"]:entity["end"]] == entity["text"]
    assert entities[1]["unit"] == "个"
    assert message.as_dict(only_output_properties=True)[ENTITIES] == entities


def test_extractor_reports_the_text_as_typed_after_the_normalizer() -> None:
    message = Message(data={TEXT: "退我十三塊錢"})
    _normalizer().process([message])
    _extractor().process([message])
    (entity,) = message.get(ENTITIES)
    assert entity["text"] == "十三塊錢" and entity["value"] == 1300
    assert message.get(TEXT)[entity["start"]:entity["end"]] == "十三块钱"


def test_extractor_keeps_entities_found_by_earlier_extractors() -> None:
    earlier = {"entity": "product", "value": "杯子", "start": 0, "end": 2, "extractor": "DIETClassifier"}
    message = Message(data={TEXT: "杯子13元", ENTITIES: [earlier]})
    _extractor().process([message])
    assert message.get(ENTITIES)[0] == earlier
    assert message.get(ENTITIES)[1]["value"] == 1300


def test_extractor_config_restricts_entities() -> None:
    message = Message(data={TEXT: "顺丰 13元"})
    _extractor(entities=["amount"]).process([message])
    assert [e["entity"] for e in message.get(ENTITIES)] == ["amount"]
    with pytest.raises(ValueError):
        _extractor(entities=["colour"])


def test_extractor_without_entities_adds_no_attribute() -> None:
    message = Message(data={TEXT: "你好"})
    _extractor().process([message])
    assert message.get(ENTITIES) is None


TINY_CONFIG = """\
recipe: default.v1
language: zh
pipeline:
  - name: actions.nlu_components.ChineseTextNormalizer
  - name: JiebaTokenizer
    dictionary_path: {jieba_dir}
  - name: actions.nlu_components.SentenceEncoderFeaturizer
    alias: sentence_encoder
    cache_path: {cache}
  - name: actions.nlu_components.LinearIntentClassifier
    dense_featurizers: [sentence_encoder]
    classifier: svm
    c: 0.5
    dictionary_path: {jieba_dir}
  - name: actions.nlu_components.ShopEntityExtractor
"""

TINY_NLU = """\
version: "3.1"
nlu:
- intent: damaged
  examples: |
    - 收到的杯子碎了
    - 东西摔坏了
    - 杯子破了一个
    - 盘子裂了
    - 到手就是碎的
- intent: greet
  examples: |
    - 你好
    - 在吗
    - 您好
    - 哈喽
    - 有人吗
"""


@pytest.mark.slow
def test_tiny_model_trains_and_parses_with_normalised_entities(tmp_path: Path, monkeypatch) -> None:
    """Train config + data in a tmp dir, then parse a traditional, full-width message through the model."""
    import asyncio

    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    monkeypatch.chdir(PROJECT_ROOT)  # so 'actions.nlu_components' imports as in `rasa train`
    config = tmp_path / "config.yml"
    config.write_text(TINY_CONFIG.format(jieba_dir=PROJECT_ROOT / "data" / "jieba", cache=tmp_path / "vectors.db"),
                      encoding="utf-8")
    nlu = tmp_path / "nlu.yml"
    nlu.write_text(TINY_NLU, encoding="utf-8")

    model_path = train_nlu(str(config), str(nlu), str(tmp_path / "models"))
    assert model_path and Path(model_path).exists()

    agent = Agent.load(model_path)
    text = "杯子碎了兩個，訂單號１２３４５６７８９０１２３，賠我十三塊錢"
    result = asyncio.run(agent.parse_message(text))

    assert result["intent"]["name"] == "damaged"
    # The linear classifier over n-grams + the sentence vector ranks both intents, calibrated to sum to 1.
    ranking = result["intent_ranking"]
    assert [entry["name"] for entry in ranking] == ["damaged", "greet"]
    assert sum(entry["confidence"] for entry in ranking) == pytest.approx(1.0)
    assert result["intent"]["confidence"] == ranking[0]["confidence"]
    assert result["text"] == "杯子碎了两个,订单号1234567890123,赔我十三块钱"  # what the tokenizer saw
    found = [(e["entity"], e["value"], e["extractor"]) for e in result["entities"]]
    assert found == [
        ("quantity", 2, "ShopEntityExtractor"),
        ("order_number", "1234567890123", "ShopEntityExtractor"),
        ("amount", 1300, "ShopEntityExtractor"),
    ]
    for entity in result["entities"]:
        assert text[entity["start"]:entity["end"]] == entity["text"]  # what the buyer typed, at valid offsets
