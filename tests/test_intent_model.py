"""bot.intent_model: canonical text, the linear model, blending, and persistence without pickle."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.intent_model import (
    AMOUNT_MARK,
    ORDER_NUMBER_MARK,
    IntentModel,
    IntentModelSettings,
    blend,
    canonical_text,
    load_intent_model,
    save_intent_model,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
JIEBA_DIR = PROJECT_ROOT / "data" / "jieba"

TEXTS = [
    "杯子碎了", "收到就是碎的", "瓶子摔裂了一道缝", "外箱压扁里面碎了",
    "洗发水漏了一半", "瓶盖没拧紧洒了一箱", "牛奶盒漏了", "漏液了整个箱子湿了",
    "你好", "在吗", "您好亲", "有人吗",
]
INTENTS = ["damaged"] * 4 + ["leaking"] * 4 + ["greet"] * 4


@pytest.fixture(scope="module")
def fitted() -> IntentModel:
    return IntentModel(user_dictionary=JIEBA_DIR).fit(TEXTS, INTENTS)


def test_canonical_text_folds_script_width_case_and_numbers() -> None:
    assert canonical_text("訂單ＡＢ") == "订单ab"
    assert canonical_text("单号886600010001到哪了") == f"单号{ORDER_NUMBER_MARK}到哪了"
    # A masked log reads like a live chat: the mask becomes the placeholder of what it hides.
    assert canonical_text("[订单x]到哪了") == canonical_text("886600010001到哪了")
    assert canonical_text("退了[金额3]") == f"退了{AMOUNT_MARK}"
    # Short numbers (quantities, prices) stay: they carry meaning.
    assert canonical_text("少了2个") == "少了2个"


@given(st.text(max_size=60))
def test_canonical_text_is_idempotent(text: str) -> None:
    once = canonical_text(text)
    assert canonical_text(once) == once


def test_model_learns_the_training_intents(fitted: IntentModel) -> None:
    assert fitted.predict(["快递到了杯子碎了两个", "洗发水漏了", "你好在吗"]) == ["damaged", "leaking", "greet"]
    for row in fitted.predict_proba(["杯子碎了"]):
        assert set(row) == set(INTENTS)
        assert sum(row.values()) == pytest.approx(1.0)


def test_model_needs_two_intents() -> None:
    with pytest.raises(ValueError, match="two intents"):
        IntentModel().fit(["a", "b"], ["greet", "greet"])


def test_saved_model_predicts_exactly_like_the_original(fitted: IntentModel, tmp_path: Path) -> None:
    save_intent_model(fitted, tmp_path / "m")
    loaded = load_intent_model(tmp_path / "m")
    probe = ["杯子碎了 單號１２３４５６７８", "漏了", "hello 在吗", "完全没见过的话"]
    assert loaded.intents == fitted.intents
    for original, restored in zip(fitted.predict_proba(probe), loaded.predict_proba(probe)):
        assert restored == pytest.approx(original, abs=1e-12)


def test_saved_model_without_words_round_trips(tmp_path: Path) -> None:
    model = IntentModel(IntentModelSettings(words=False, class_weight=None)).fit(TEXTS, INTENTS)
    save_intent_model(model, tmp_path)
    assert load_intent_model(tmp_path).predict(["漏液"]) == model.predict(["漏液"])


def test_loading_a_folder_that_holds_no_model_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no readable intent model"):
        load_intent_model(tmp_path)
    (tmp_path / "intent_model.json").write_text(json.dumps({"format": 99}), encoding="utf-8")
    (tmp_path / "intent_model_arrays.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError):
        load_intent_model(tmp_path)


def test_blend_weights_the_two_rankings() -> None:
    linear = {"damaged": 0.6, "leaking": 0.4}
    diet = {"leaking": 0.9, "greet": 0.1}
    assert blend(linear, diet, 1.0)[0] == ("damaged", pytest.approx(0.6))
    assert blend(linear, diet, 0.0)[0] == ("leaking", pytest.approx(0.9))
    mixed = dict(blend(linear, diet, 0.5))
    assert mixed == pytest.approx({"damaged": 0.3, "leaking": 0.65, "greet": 0.05})


def test_blend_rejects_a_weight_outside_zero_to_one() -> None:
    with pytest.raises(ValueError):
        blend({"a": 1.0}, {"a": 1.0}, 1.5)


confidences = st.dictionaries(
    st.sampled_from(["damaged", "leaking", "greet", "thank"]), st.floats(0.0, 1.0), min_size=1
)


@given(confidences, confidences, st.floats(0.0, 1.0))
def test_blend_is_a_sorted_distribution(linear: dict, other: dict, weight: float) -> None:
    ranking = blend(linear, other, weight)
    scores = [score for _, score in ranking]
    assert scores == sorted(scores, reverse=True)
    assert all(score >= 0 for score in scores)
    if sum(scores) > 0:
        assert sum(scores) == pytest.approx(1.0)
    assert {name for name, _ in ranking} == set(linear) | set(other)


# ---- sentence vectors beside the n-grams, and the calibrated SVM

def _dense_for(texts: list[str]) -> "np.ndarray":
    """A stand-in sentence vector: one direction per intent family, from a keyword (what e5 would know)."""
    import numpy as np

    rows = []
    for text in texts:
        row = np.zeros(3)
        row[0 if ("碎" in text or "破" in text) else 1 if ("漏" in text or "洒" in text) else 2] = 1.0
        rows.append(row)
    return np.array(rows)


@pytest.mark.parametrize("classifier", ["svm", "logreg"])
def test_dense_vectors_decide_when_the_ngrams_cannot(classifier: str) -> None:
    settings = IntentModelSettings(dense_weight=3.0, classifier=classifier, c=1.0)
    model = IntentModel(settings).fit(TEXTS, INTENTS, _dense_for(TEXTS))
    # No character of these texts occurs in the training texts of its intent; the vector carries it.
    unseen = ["盘子破", "洒"]
    assert model.predict(unseen, _dense_for(unseen)) == ["damaged", "leaking"]
    probabilities = model.predict_proba(unseen, _dense_for(unseen))
    assert all(sum(row.values()) == pytest.approx(1.0) for row in probabilities)


def test_dense_model_refuses_missing_or_misshapen_vectors() -> None:
    model = IntentModel(IntentModelSettings(dense_weight=1.0)).fit(TEXTS, INTENTS, _dense_for(TEXTS))
    with pytest.raises(ValueError, match="sentence vectors"):
        model.predict(["碎了"])
    with pytest.raises(ValueError, match="dimensions"):
        model.predict(["碎了"], _dense_for(["碎了"])[:, :2])


def test_svm_temperature_is_fitted_and_persisted(tmp_path: Path) -> None:
    texts, intents = TEXTS * 3, INTENTS * 3
    model = IntentModel(IntentModelSettings(classifier="svm", dense_weight=1.0)).fit(texts, intents, _dense_for(texts))
    assert model.temperature != 1.0
    save_intent_model(model, tmp_path)
    loaded = load_intent_model(tmp_path)
    probe = ["杯子摔碎", "洗发水洒了", "在吗"]
    assert loaded.temperature == model.temperature
    assert loaded.predict_proba(probe, _dense_for(probe)) == model.predict_proba(probe, _dense_for(probe))


def test_fit_temperature_recovers_a_known_temperature() -> None:
    import numpy as np

    from bot.intent_model import fit_temperature, softmax

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(4000, 5))
    truth = 2.5
    gold = np.array([rng.choice(5, p=row) for row in softmax(scores, truth)])
    assert fit_temperature(scores, gold) == pytest.approx(truth, rel=0.15)
