"""Authentication fails closed (issue 19): production start without secrets, forged, expired, over-long-lived,
revoked and non-ASCII tokens."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bot.db.migrate import upgrade
from bot.db.session import dispose_engines
from bot.settings import PROJECT_ROOT
from bot.web import auth

SECRET = "s" * 40


@pytest.fixture()
def production(monkeypatch):
    monkeypatch.setenv("AFTERSALES_DEMO", "0")
    monkeypatch.delenv("AFTERSALES_AGENT_TOKENS", raising=False)
    monkeypatch.delenv("AFTERSALES_WIDGET_SECRET", raising=False)


def test_production_start_without_secrets_refuses_and_says_what_to_set(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "AFTERSALES_DEMO": "0", "AFTERSALES_DB_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = subprocess.run([sys.executable, "-m", "bot.web", "--port", "1"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "AFTERSALES_AGENT_TOKENS" in result.stderr and "AFTERSALES_WIDGET_SECRET" in result.stderr


def test_production_has_no_demo_agent_token_and_no_public_widget_secret(production):
    assert auth.agent_for_token(auth.DEMO_AGENT_TOKEN) is None
    with pytest.raises(auth.InsecureSettings):
        auth.sign_buyer_token("b_1")
    assert auth.verify_buyer_token("b_1.9999999999.00") is None
    with pytest.raises(auth.InsecureSettings):
        auth.check_production_settings()


def test_a_token_minted_with_the_demo_secret_is_refused_in_production(production, monkeypatch):
    monkeypatch.setenv("AFTERSALES_DEMO", "1")
    forged = auth.sign_buyer_token("b_victim")  # anyone can do this with the public demo secret
    monkeypatch.setenv("AFTERSALES_DEMO", "0")
    monkeypatch.setenv("AFTERSALES_WIDGET_SECRET", SECRET)
    assert auth.verify_buyer_token(forged) is None
    assert auth.verify_buyer_token(auth.sign_buyer_token("b_victim")).buyer_id == "b_victim"


def test_expired_and_too_long_lived_buyer_tokens_are_refused(production, monkeypatch):
    monkeypatch.setenv("AFTERSALES_WIDGET_SECRET", SECRET)
    expired = auth.sign_buyer_token("b_1", ttl_s=60, now=time.time() - 3600)
    assert auth.verify_buyer_token(expired) is None
    payload = f"b_1.{int(time.time()) + 400 * 86400}"
    forever = f"{payload}.{auth._signature(payload)}"  # validly signed, a year away: more than the maximum
    assert auth.verify_buyer_token(forever) is None
    with pytest.raises(ValueError):
        auth.sign_buyer_token("b_1", ttl_s=400 * 86400)


def test_non_ascii_tokens_are_just_invalid(production, monkeypatch):
    monkeypatch.setenv("AFTERSALES_WIDGET_SECRET", SECRET)
    monkeypatch.setenv("AFTERSALES_AGENT_TOKENS", "tok-abcdefghijklmnop:alice")
    assert auth.verify_buyer_token("买家.123.签名") is None
    assert auth.verify_buyer_token("b_1.123.é" * 3) is None
    assert auth.agent_for_token("坐席令牌") is None


def test_agent_tokens_expire_and_can_be_revoked(production, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    upgrade(url)
    monkeypatch.setenv("AFTERSALES_DB_URL", url)
    monkeypatch.setenv("AFTERSALES_AGENT_TOKENS", "old-token-1234567890:alice:2020-01-31,live-token-1234567890:bob")
    try:
        assert auth.agent_for_token("old-token-1234567890") is None  # expired
        assert auth.agent_for_token("live-token-1234567890") == "bob"
        from bot.web.__main__ import agent_token_command
        assert agent_token_command(["revoke", "live-token-1234567890"]) == 0
        assert auth.agent_for_token("live-token-1234567890") is None
    finally:
        dispose_engines()


def test_issued_agent_tokens_work_until_revoked(production, monkeypatch, tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    upgrade(url)
    monkeypatch.setenv("AFTERSALES_DB_URL", url)
    try:
        from bot.web.__main__ import agent_token_command
        agent_token_command(["issue", "carol", "--days", "1"])
        token = capsys.readouterr().out.strip()
        assert auth.agent_for_token(token) == "carol"
        agent_token_command(["revoke", token])
        assert auth.agent_for_token(token) is None
    finally:
        dispose_engines()
