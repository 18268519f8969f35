"""`python -m bot resolve` as a user runs it (subprocess): JSON in, JSON out, clear errors and exit codes."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from test_policy_rules import case

DAMAGED_20 = case(refusals=1, return_shipping_quote="15.00")


def run_cli(stdin: str, *args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "resolve", *args], input=stdin, capture_output=True,
                          text=True, cwd=cwd, timeout=60)


def snapshot(directory: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in directory.rglob("*") if p.is_file()}


def test_prints_the_resolution_as_json_with_integer_fen():
    result = run_cli(json.dumps(DAMAGED_20))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["current_offer"]["kind"] == "raised_compensation"
    assert out["current_offer"]["amount_fen"] == 800 and out["current_offer"]["limit_fen"] == 1000
    assert out["options"][0]["parts"] == [{"kind": "compensation", "amount_fen": 200, "state": "paid"},
                                          {"kind": "review_rebate", "amount_fen": 300, "state": "promised"}]
    assert out["window"]["seven_day_deadline"] == "2024-06-08T10:00:00+08:00"
    assert result.stderr == ""


def test_pretty_prints_a_chinese_table():
    result = run_cli(json.dumps(DAMAGED_20), "--pretty")
    assert result.returncode == 0, result.stderr
    assert "当前方案" in result.stdout and "加赔不退货" in result.stdout and "8元" in result.stdout


def test_case_from_a_file(tmp_path: Path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(DAMAGED_20), encoding="utf-8")
    result = run_cli("", "--case", str(path))
    assert result.returncode == 0 and json.loads(result.stdout)["step"] == 1


@pytest.mark.parametrize("stdin,fragment", [
    ('{"intent": "damaged",', "not valid JSON"),
    ("", "no input"),
    ("[1, 2]", "must be a JSON object"),
    (json.dumps({**DAMAGED_20, "intent": "greet"}), "intent: unknown intent 'greet'"),
    (json.dumps({k: v for k, v in DAMAGED_20.items() if k != "now"}), "case: now: field required"),
    (json.dumps({**DAMAGED_20, "items": [{"sku": "A", "price": 10.5}]}), "items.0.price"),
    (json.dumps({**DAMAGED_20, "refusal": 2}), "refusal: extra fields not permitted"),
])
def test_bad_case_one_message_exit_2(stdin, fragment):
    result = run_cli(stdin)
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_malformed_pack_exit_3_and_nothing_written(tmp_path: Path):
    pack = tmp_path / "policy"
    shutil.copytree(PROJECT_ROOT / "data" / "policy", pack)
    shop = pack / "shop.yml"
    shop.write_text(shop.read_text(encoding="utf-8").replace('compensation: "2.00"', 'compensation: "2,00"', 1),
                    encoding="utf-8")
    before = snapshot(tmp_path)
    result = run_cli(json.dumps(DAMAGED_20), "--pack", str(pack), cwd=tmp_path)
    assert result.returncode == 3
    assert "shop.yml: rule A1: first_offer.compensation: value is not a valid decimal" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert snapshot(tmp_path) == before


def test_resolve_writes_nothing_in_the_project(tmp_path: Path):
    watched = PROJECT_ROOT / "data" / "policy"
    before = snapshot(watched)
    assert run_cli(json.dumps(DAMAGED_20)).returncode == 0
    assert snapshot(watched) == before


def test_main_in_process_returns_exit_codes():
    import io

    from bot.policy.cli import main
    out, err = io.StringIO(), io.StringIO()
    assert main([], stdin=io.StringIO(json.dumps(DAMAGED_20)), stdout=out, stderr=err) == 0
    assert json.loads(out.getvalue())["current_offer"]["rule"] == "A1"
    assert main(["--pack", "/nonexistent"], stdin=io.StringIO("{}"), stdout=out, stderr=err) == 3


def test_the_policy_package_imports_neither_rasa_nor_the_database():
    code = ("import sys, bot.policy, bot.policy.cli; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('rasa', 'rasa_sdk', 'sqlalchemy')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
