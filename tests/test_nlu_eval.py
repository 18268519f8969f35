"""Tests of the NLU evaluation: reader, training-data parser, metrics, baselines, reports, command.

None of them needs a trained model except the one marked ``model`` (skipped when models/ is empty).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.nlu_eval.baselines import KeywordBaseline, TfidfLogRegBaseline, normalize_text
from bot.nlu_eval.eval_data import EvalDataError, EvalExample, file_sha256, read_eval_jsonl
from bot.nlu_eval.evaluation import FALLBACK_INTENT, NO_INTENT, Prediction, evaluate_system, prediction_from_parse
from bot.nlu_eval.metrics import compute_metrics
from bot.nlu_eval.report import format_comparison_table, format_per_intent_table
from bot.nlu_eval.run import RunSettings, run_evaluation
from bot.nlu_eval.training_data import read_training_data, strip_entity_markup

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# A tiny synthetic training set (written for these tests; not eval data).
TRAINING_YAML = """\
version: "3.1"
nlu:
- intent: damaged
  examples: |
    - 杯子碎了
    - 收到的盘子碎了
    - 箱子压坏了，里面的碗碎了
    - 快递摔坏了
    - 东西到手就是坏的，摔坏了
- intent: invoice
  examples: |
    - 怎么开发票
    - 发票抬头写错了
    - 我要开电子发票
    - 发票什么时候寄
    - 能开专票吗 发票
- intent: greet
  examples: |
    - 你好
    - 您好
    - 在吗 你好
    - 哈喽
    - 你好呀
- intent: provide_order_number
  examples: |
    - 订单号[4728103956213847](order_number)
    - 单号是[20231108556712]{"entity": "order_number"}
    - [556712009981](order_number:556712009981) 这个单
    - 我的订单 [88812345678]["entity": "order_number"]
    - 订单号 [99988877766]{"entity": "order_number", "value": "99988877766"}
- synonym: 顺丰
  examples: |
    - SF
- regex: order_number
  examples: |
    - \\d{10,20}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


@pytest.fixture
def training_dir(tmp_path: Path) -> Path:
    write(tmp_path / "nlu" / "intents.yml", TRAINING_YAML)
    return tmp_path / "nlu"


# ---------------------------------------------------------------- eval JSONL reader


def test_reader_keeps_line_numbers_and_ignores_extra_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path / "eval.jsonl",
        '{"text": "杯子碎了", "intent": "damaged", "source": "x"}\n\n{"text": "你好", "intent": "greet"}\n',
    )
    assert read_eval_jsonl(path) == [EvalExample(1, "杯子碎了", "damaged"), EvalExample(3, "你好", "greet")]


@pytest.mark.parametrize(
    "bad_line, reason",
    [
        ('{"text": "你好", "intent": "greet"', "not valid JSON"),
        ('["你好", "greet"]', "expected a JSON object"),
        ('{"text": "你好"}', "'intent' must be a non-empty string"),
        ('{"text": "", "intent": "greet"}', "'text' must be a non-empty string"),
        ('{"text": 12, "intent": "greet"}', "'text' must be a non-empty string"),
    ],
)
def test_reader_rejects_bad_line_with_its_number(tmp_path: Path, bad_line: str, reason: str) -> None:
    path = write(tmp_path / "eval.jsonl", '{"text": "a", "intent": "greet"}\n{"text": "b", "intent": "thank"}\n' + bad_line + "\n")
    with pytest.raises(EvalDataError, match=rf"eval\.jsonl:3: {reason}"):
        read_eval_jsonl(path)


def test_reader_rejects_empty_file(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="no examples"):
        read_eval_jsonl(write(tmp_path / "eval.jsonl", "\n"))


# ---------------------------------------------------------------- training data reader


@pytest.mark.parametrize(
    "marked, plain",
    [
        ("订单号[4728103956213847](order_number)", "订单号4728103956213847"),
        ("[两块钱](amount:200)就行", "两块钱就行"),
        ('寄[顺丰]{"entity": "courier", "value": "顺丰速运"}吧', "寄顺丰吧"),
        ('少了[两个][{"entity": "quantity"}, {"entity": "number"}]', "少了两个"),
        ("[13元](amount)和[3件](quantity)", "13元和3件"),
        ("没有标注 [不是实体]", "没有标注 [不是实体]"),
    ],
)
def test_strip_entity_markup(marked: str, plain: str) -> None:
    assert strip_entity_markup(marked) == plain


def test_training_reader_parses_rasa_yaml_and_skips_non_intents(training_dir: Path) -> None:
    examples = read_training_data(training_dir)
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.text)
    assert sorted(by_intent) == ["damaged", "greet", "invoice", "provide_order_number"]
    assert len(examples) == 20
    assert by_intent["provide_order_number"] == [
        "订单号4728103956213847",
        "单号是20231108556712",
        "556712009981 这个单",
        "我的订单 88812345678",
        "订单号 99988877766",
    ]


def test_training_reader_accepts_list_form_and_ignores_other_files(tmp_path: Path) -> None:
    write(
        tmp_path / "a.yml",
        'nlu:\n- intent: thank\n  examples:\n  - text: "谢谢"\n  - text: |\n      多谢[老板](person)\n',
    )
    write(tmp_path / "rules.yml", "rules:\n- rule: x\n  steps: []\n")
    write(tmp_path / "notes.txt", "nlu: not yaml data")
    texts = [(e.text, e.intent) for e in read_training_data(tmp_path)]
    assert texts == [("谢谢", "thank"), ("多谢老板", "thank")]


# ---------------------------------------------------------------- metrics


def test_metrics_on_hand_made_predictions() -> None:
    gold = ["a", "a", "a", "b", "b", "c"]
    predicted = ["a", "a", "b", "b", "nlu_fallback", "a"]
    metrics = compute_metrics(gold, predicted)
    # a: tp=2, fp=1 (the c), fn=1 -> p=2/3 r=2/3 f1=2/3; b: tp=1 fp=1 fn=1 -> 1/2; c: 0.
    assert metrics.accuracy == pytest.approx(3 / 6)
    assert metrics.per_intent["a"].precision == pytest.approx(2 / 3)
    assert metrics.per_intent["a"].recall == pytest.approx(2 / 3)
    assert metrics.per_intent["b"].f1 == pytest.approx(0.5)
    assert metrics.per_intent["c"].f1 == 0.0
    assert [s.support for s in metrics.per_intent.values()] == [3, 2, 1]
    # macro over gold intents only (nlu_fallback has no row): (2/3 + 1/2 + 0) / 3
    assert metrics.macro_f1 == pytest.approx((2 / 3 + 1 / 2) / 3)
    assert metrics.weighted_f1 == pytest.approx((3 * 2 / 3 + 2 * 1 / 2) / 6)
    assert metrics.confusion.rows == ["a", "b", "c"]
    assert metrics.confusion.columns == ["a", "b", "c", "nlu_fallback"]
    assert metrics.confusion.counts == [[2, 1, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0]]


def test_metrics_reject_misaligned_input() -> None:
    with pytest.raises(ValueError):
        compute_metrics(["a"], ["a", "b"])


def test_prediction_from_rasa_parse_uses_best_non_fallback_intent() -> None:
    parse = {
        "intent": {"name": FALLBACK_INTENT, "confidence": 0.4},
        "intent_ranking": [
            {"name": FALLBACK_INTENT, "confidence": 0.4},
            {"name": "damaged", "confidence": 0.35},
            {"name": "leaking", "confidence": 0.3},
        ],
    }
    prediction = prediction_from_parse(parse)
    assert (prediction.intent, prediction.without_fallback) == (FALLBACK_INTENT, "damaged")
    assert prediction.ranking == (("damaged", 0.35), ("leaking", 0.3))  # the fallback is not an option
    greet = prediction_from_parse({"intent": {"name": "greet"}})
    assert (greet.intent, greet.without_fallback, greet.ranking) == ("greet", "greet", ())
    assert prediction_from_parse({"intent": {"name": None}}).intent == NO_INTENT


def test_fallback_counts_as_wrong_but_is_reported_separately() -> None:
    examples = [EvalExample(1, "x", "damaged"), EvalExample(2, "y", "greet"), EvalExample(5, "z", "greet")]
    predictions = [Prediction(FALLBACK_INTENT, "damaged"), Prediction.plain("greet"), Prediction.plain("thank")]
    result = evaluate_system("model", examples, predictions, has_fallback=True)
    assert result.metrics.accuracy == pytest.approx(1 / 3)
    assert result.without_fallback is not None and result.without_fallback.accuracy == pytest.approx(2 / 3)
    assert result.fallback_count == 1 and result.fallback_rate == pytest.approx(1 / 3)
    assert [(e.line, e.gold, e.predicted) for e in result.errors] == [(1, "damaged", FALLBACK_INTENT), (5, "greet", "thank")]
    table = format_per_intent_table(result.metrics)
    assert "damaged" in table and "macro-F1" in table
    comparison = format_comparison_table([result, evaluate_system("keyword", examples, predictions)])
    assert comparison.count("\n") == 3  # header, rule, two rows


# ---------------------------------------------------------------- baselines


def test_normalize_text_folds_full_width() -> None:
    assert normalize_text("ＯＫ１２３") == "ok123"


def test_keyword_baseline_learns_and_predicts_training_back(training_dir: Path) -> None:
    examples = read_training_data(training_dir)
    texts, intents = [e.text for e in examples], [e.intent for e in examples]
    keyword = KeywordBaseline().fit(texts, intents)
    assert "发票" in keyword.keywords and set(keyword.keywords["发票"]) == {"invoice"}
    assert keyword.predict(texts) == intents
    assert keyword.predict_one("盘子碎了怎么办") == "damaged"
    assert keyword.predict_one("明天下雨") == "out_of_scope"  # nothing matches


def test_tfidf_baseline_learns_and_predicts_training_back(training_dir: Path) -> None:
    examples = read_training_data(training_dir)
    texts, intents = [e.text for e in examples], [e.intent for e in examples]
    first = TfidfLogRegBaseline().fit(texts, intents)
    assert first.predict(texts) == intents
    assert first.predict(["电子发票开一下"]) == ["invoice"]
    second = TfidfLogRegBaseline().fit(texts, intents)
    probe = ["碗碎了", "你好 在吗", "订单号 123456"]
    assert first.predict(probe) == second.predict(probe)  # deterministic


# ---------------------------------------------------------------- whole run with a stand-in model


def test_run_writes_report_and_pngs_without_texts(tmp_path: Path, training_dir: Path) -> None:
    eval_rows = [
        {"text": "我家的碗摔坏了", "intent": "damaged", "source": "t"},
        {"text": "发票抬头能改吗", "intent": "invoice"},
        {"text": "你好你好", "intent": "greet"},
        {"text": "随便说点什么", "intent": "greet"},
    ]
    eval_path = write(tmp_path / "mini.jsonl", jsonl(eval_rows))
    answers = {"我家的碗摔坏了": Prediction.plain("damaged"), "发票抬头能改吗": Prediction(FALLBACK_INTENT, "invoice")}
    settings = RunSettings(eval_path, training_dir, tmp_path / "out", model_path="stand-in")
    printed: list[str] = []
    report = run_evaluation(settings, lambda text: answers.get(text, Prediction.plain("greet")), printed.append)

    written = json.loads((tmp_path / "out" / "mini_report.json").read_text(encoding="utf-8"))
    assert written == report
    assert report["eval_file"]["sha256"] == file_sha256(eval_path)
    assert report["eval_file"]["examples"] == 4
    assert report["eval_file"]["intents"] == {"damaged": 1, "greet": 2, "invoice": 1}
    model = report["systems"]["model"]
    assert model["metrics"]["accuracy"] == pytest.approx(0.75)
    assert model["without_fallback"]["accuracy"] == pytest.approx(1.0)
    assert model["fallback"] == {"count": 1, "rate": 0.25}
    assert model["errors"] == [{"line": 2, "gold": "invoice", "predicted": FALLBACK_INTENT}]
    assert set(report["comparison"]) == {"model", "keyword", "tfidf+lr"}
    for system in report["systems"].values():
        png = Path(system["confusion_png"])
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    serialized = json.dumps(report, ensure_ascii=False)
    assert not any(row["text"] in serialized for row in eval_rows)  # held-out texts never stored
    assert any("tfidf+lr" in line for line in printed)


# ---------------------------------------------------------------- the command, end to end


def _newest_model() -> Path | None:
    models = sorted((PROJECT_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def test_command_reports_bad_line_without_loading_a_model(tmp_path: Path) -> None:
    eval_path = write(tmp_path / "bad.jsonl", '{"text": "你好", "intent": "greet"}\nnot json\n')
    model = write(tmp_path / "fake.tar.gz", "")  # never loaded: the eval file is checked first
    completed = subprocess.run(
        [sys.executable, "-m", "actions.eval_nlu", str(eval_path), "--model", str(model)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 2
    assert "bad.jsonl:2: not valid JSON" in completed.stderr


@pytest.mark.model
def test_command_end_to_end_with_trained_model(tmp_path: Path) -> None:
    model = _newest_model()
    if model is None:
        pytest.skip("no trained model in models/")
    rows = [
        {"text": "你好", "intent": "greet"},
        {"text": "谢谢你", "intent": "thank"},
        {"text": "收到的杯子碎了", "intent": "damaged"},
        {"text": "我要开发票", "intent": "invoice"},
        {"text": "转人工", "intent": "request_human"},
    ]
    eval_path = write(tmp_path / "tiny.jsonl", jsonl(rows))
    completed = subprocess.run(
        # no chat logs and no cross-validation: the baselines train on the team data alone, in seconds
        [sys.executable, "-m", "actions.eval_nlu", str(eval_path), "--model", str(model), "--out", str(tmp_path / "r"),
         "--logs", "", "--cv", "0"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads((tmp_path / "r" / "tiny_report.json").read_text(encoding="utf-8"))
    assert report["model"]["path"] == str(model)
    assert report["eval_file"]["examples"] == 5
    assert set(report["comparison"]) == {"model", "keyword", "tfidf+lr"}
    assert 0.0 <= report["comparison"]["model"]["accuracy"] <= 1.0
    assert "macro-F1" in completed.stdout and "tfidf+lr" in completed.stdout
    # 猜你想问 figures: recall@3, clarified share and confident-wrong rate for every system
    assert set(report["confidence"]) == {"model", "keyword", "tfidf+lr"}
    assert 0.0 <= report["confidence"]["model"]["confident_wrong_rate"] <= 1.0
    assert report["cross_validation"] is None and "threshold  clarified" in completed.stdout
