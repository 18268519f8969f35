"""`python -m bot.report`: tables, JSON and CSV over the hand-made history; seed-history; bad input."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert

from bot.report.tracker import EVENTS, tracker_metadata
from tests.test_report import hand_made_tracker, seed_app

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.report", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


@pytest.fixture
def env(tmp_path, _sqlite_template):
    """AFTERSALES_DB_URL / AFTERSALES_TRACKER_DB_URL pointing at the hand-made history (SQLite)."""
    import shutil

    app_path = tmp_path / "app.db"
    shutil.copyfile(_sqlite_template, app_path)
    seed_app(f"sqlite:///{app_path}")
    tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(tracker_url, future=True)
    tracker_metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), hand_made_tracker().rows)
    engine.dispose()
    return {"AFTERSALES_DB_URL": f"sqlite:///{app_path}", "AFTERSALES_TRACKER_DB_URL": tracker_url,
            "AFTERSALES_REPORT_REFERENCE": "product=80"}


def test_tables(env):
    result = run(["--since", "2026-11-10", "--until", "2026-11-13"], env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Service report 2026-11-10T00:00:00+08:00 .. 2026-11-13T00:00:00+08:00" in out
    assert "== overview ==" in out and "== service_score ==" in out
    lines = {line.split("  ")[0].strip(): line.split()[-1] for line in out.splitlines() if "  " in line}
    assert lines["conversations"] == "5"
    assert lines["automation rate"] == "20.0%"
    assert lines["compensation granted (fen)"] == "1000"
    assert lines["median time to resolution"] == "0h31m"


def test_json_and_csv(env, tmp_path):
    out_dir = tmp_path / "csv"
    result = run(["--since", "2026-11-10", "--until", "2026-11-13", "--json", "--csv", str(out_dir)], env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["conversations"]["total"] == 5
    assert data["compensation"]["by_kind"] == [
        {"key": "compensation", "entries": 2, "amount_fen": 700, "title": ""},
        {"key": "review_rebate", "entries": 1, "amount_fen": 300, "title": ""}]
    assert data["scenarios"][0]["order_numbers"] == ["100000000004", "100000000001"]
    assert data["score"]["parts"][0]["reference"] == 80.0  # from AFTERSALES_REPORT_REFERENCE
    assert "wrote" in result.stderr

    with (out_dir / "compensation_by_kind.csv").open(encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle)) == [["kind", "entries", "amount_fen", "amount_yuan"],
                                            ["compensation", "2", "700", "7.00"],
                                            ["review_rebate", "1", "300", "3.00"]]
    with (out_dir / "daily.csv").open(encoding="utf-8-sig") as handle:
        assert list(csv.reader(handle))[1:] == [["2026-11-10", "1", "1", "0", "0"], ["2026-11-11", "2", "0", "1", "1"],
                                                ["2026-11-12", "2", "0", "1", "1"]]
    with (out_dir / "scenarios.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][:6] == ["damaged", "A1", "收到商品破损，不影响使用", "GL-BOTTLE", "商品 GL-BOTTLE", "2"]
    assert {p.name for p in out_dir.iterdir()} >= {"overview.csv", "intents.csv", "service_score.csv",
                                                   "repeat_claimers.csv", "promised_unpaid.csv"}


def test_absent_tracker_store(env, tmp_path):
    missing = tmp_path / "none" / "tracker.db"
    result = run(["--since", "2026-11-10", "--until", "2026-11-13", "--json"],
                 {**env, "AFTERSALES_TRACKER_DB_URL": f"sqlite:///{missing}"})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tracker_available"] is False and data["conversations"] is None
    assert data["cases"]["total"] == 3
    assert not missing.parent.exists()


def test_bad_period_is_a_usage_error(env):
    result = run(["--since", "2026-11-13", "--until", "2026-11-10"], env)
    assert result.returncode == 2 and "empty period" in result.stderr
    assert run(["--since", "2026-11-13"], env).returncode == 2


def test_seed_history_command(tmp_path, _sqlite_template):
    import shutil

    app_path = tmp_path / "app.db"
    shutil.copyfile(_sqlite_template, app_path)
    env = {"AFTERSALES_DB_URL": f"sqlite:///{app_path}",
           "AFTERSALES_TRACKER_DB_URL": f"sqlite:///{tmp_path / 'var' / 'tracker.db'}"}
    no_shop = run(["seed-history", "--conversations", "20"], env)
    assert no_shop.returncode == 1 and "bot db seed" in no_shop.stderr
    seeded = subprocess.run([sys.executable, "-m", "bot", "db", "seed"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=120)
    assert seeded.returncode == 0, seeded.stderr
    first = run(["seed-history", "--conversations", "20", "--days", "3"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("history seeded: 20 conversations")
    again = run(["seed-history", "--conversations", "20", "--days", "3"], env)
    assert "already present" in again.stdout
    report = json.loads(run(["--json"], env).stdout)
    assert report["conversations"]["total"] == 20


def test_tracker_index_command(env, tmp_path):
    from sqlalchemy import text

    tracker_url = env["AFTERSALES_TRACKER_DB_URL"]
    engine = create_engine(tracker_url, future=True)
    with engine.begin() as connection:  # a store as Rasa creates it: only its own sender_id index
        connection.execute(text("DROP INDEX ix_events_report_sender"))
        connection.execute(text("DROP INDEX ix_events_report_time"))
    engine.dispose()
    before = json.loads(run(["--since", "2026-11-10", "--until", "2026-11-13", "--json"], env).stdout)
    assert any("tracker-index" in note for note in before["notes"])
    created = run(["tracker-index"], env)
    assert created.returncode == 0 and "ix_events_report_sender" in created.stdout
    assert "already there" in run(["tracker-index"], env).stdout
    after = json.loads(run(["--since", "2026-11-10", "--until", "2026-11-13", "--json"], env).stdout)
    assert after["notes"] == [] and after["conversations"] == before["conversations"]
    missing = run(["tracker-index"], {**env, "AFTERSALES_TRACKER_DB_URL": f"sqlite:///{tmp_path / 'no.db'}"})
    assert missing.returncode == 1 and not (tmp_path / "no.db").exists()
