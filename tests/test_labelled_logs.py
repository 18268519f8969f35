"""bot.labelled_logs: a shop's labelled chat logs, bad rows reported with their line numbers."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from bot import labelled_logs
from bot.labelled_logs import LOGS_ENV, choose_logs_path, read_labelled_logs, write_labelled_logs


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_good_rows_are_read_and_bad_ones_reported_with_line_and_reason(tmp_path: Path) -> None:
    path = _write(tmp_path / "logs.jsonl", [
        json.dumps({"text": "杯子碎了", "intent": "damaged", "source": "shop"}, ensure_ascii=False),
        "",
        json.dumps({"text": "  ", "intent": "damaged"}),
        json.dumps({"text": "你好", "intent": "no_such_intent"}, ensure_ascii=False),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"text": "漏了", "intent": " leaking "}, ensure_ascii=False),
        json.dumps({"text": "x" * 5000, "intent": "damaged"}),
    ])
    logs = read_labelled_logs(path, known_intents={"damaged", "leaking"})
    assert [(m.line, m.text, m.intent) for m in logs.messages] == [(1, "杯子碎了", "damaged"), (7, "漏了", "leaking")]
    reasons = {r.line: r.reason for r in logs.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 8]
    assert "empty" in reasons[3] and "no_such_intent" in reasons[4] and "JSON" in reasons[5]
    assert "2 labelled messages" in logs.summary() and "5 rows skipped" in logs.summary()


def test_a_missing_file_that_was_asked_for_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        read_labelled_logs(tmp_path / "absent.jsonl")


def test_path_choice_explicit_then_environment_then_default(tmp_path: Path, monkeypatch) -> None:
    assert choose_logs_path("x.jsonl", environ={LOGS_ENV: "/y.jsonl"}).path.name == "x.jsonl"
    assert choose_logs_path(None, environ={LOGS_ENV: "/y.jsonl"}).path == Path("/y.jsonl")
    empty = choose_logs_path(None, environ={LOGS_ENV: ""})
    assert empty.path is None and "empty" in empty.reason
    monkeypatch.setattr(labelled_logs, "DEFAULT_LOGS_PATH", tmp_path / "none.jsonl")
    assert choose_logs_path(None, environ={}).path is None
    _write(tmp_path / "none.jsonl", [])
    assert choose_logs_path(None, environ={}).path == tmp_path / "none.jsonl"


def test_written_logs_read_back_the_same(tmp_path: Path) -> None:
    path = tmp_path / "out" / "corrections.jsonl"
    assert write_labelled_logs([("瓶口磕掉一块", "damaged", {"source": "console"})], path) == 1
    logs = read_labelled_logs(path)
    assert [(m.text, m.intent) for m in logs.messages] == [("瓶口磕掉一块", "damaged")]


def _model_named_by_inputs(logs_env: str) -> subprocess.CompletedProcess:
    from bot.settings import PROJECT_ROOT

    env = {**os.environ, LOGS_ENV: logs_env}
    return subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "train_if_stale.sh"), "--path-only"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_model_hash_covers_the_logs_and_no_logs_is_a_normal_case(tmp_path: Path) -> None:
    """With no logs the hash step once ended on a failed `[ -n "" ]` and pipefail stopped `make test` (the
    clean-clone CI without ../shared/train)."""
    logs = tmp_path / "shop.jsonl"
    logs.write_text(json.dumps({"text": "杯子碎了", "intent": "damaged"}, ensure_ascii=False) + "\n", encoding="utf-8")
    without = _model_named_by_inputs("")
    assert without.returncode == 0, without.stderr
    with_logs = _model_named_by_inputs(str(logs))
    assert with_logs.returncode == 0, with_logs.stderr
    logs.write_text(logs.read_text(encoding="utf-8") + json.dumps({"text": "好的", "intent": "affirm"}) + "\n",
                    encoding="utf-8")
    changed = _model_named_by_inputs(str(logs))
    names = {without.stdout.strip(), with_logs.stdout.strip(), changed.stdout.strip()}
    assert len(names) == 3 and all(n.startswith("models/aftersales-") for n in names)
