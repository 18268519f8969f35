"""The intent contract in bot.intents matches what domain.yml declares (button-only intents aside)."""
from __future__ import annotations

from pathlib import Path

import yaml

from bot.intents import ALL_INTENTS

DOMAIN = Path(__file__).resolve().parent.parent / "domain.yml"


def test_every_contract_intent_is_in_the_domain() -> None:
    declared = {next(iter(i)) if isinstance(i, dict) else i for i in yaml.safe_load(DOMAIN.read_text("utf-8"))["intents"]}
    assert ALL_INTENTS <= declared, sorted(ALL_INTENTS - declared)
