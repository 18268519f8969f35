"""Loading rule packs: the shipped pack is complete, settings change results without code, and every kind of
malformed pack fails with PolicyPackError naming the file, the rule and the field."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from bot.policy import PolicyPackError, load_pack, resolve
from bot.settings import PROJECT_ROOT
from test_policy_rules import case, item

PACK = PROJECT_ROOT / "data" / "policy"
RULES_DOC = Path("/work/shared/design/rules-from-seeds.md")


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policy"
    shutil.copytree(PACK, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text not found: {old!r}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def load_error(directory: Path) -> str:
    with pytest.raises(PolicyPackError) as info:
        load_pack(directory, use_cache=False)
    return str(info.value)


def test_shipped_pack_has_every_rule_of_the_table_a1_to_a11():
    pack = load_pack(PACK)
    assert {f"A{n}" for n in range(1, 12)} <= set(pack.rules)
    assert all(rule.seed for rule in pack.rules.values())


def test_shipped_pack_covers_b_and_c_rules():
    pack = load_pack(PACK)
    for rule_id in ("B-refund-before-shipping", "B-out-of-stock", "B-late-shipping", "B-refund-after-shipping",
                    "B-ship-deadlines", "B-72h", "B-after-sales-window", "B-seven-day", "B-seven-day-shipping",
                    "B-counterfeit", "B-signed-not-received", "B-unresellable-return", "B-penalty-points",
                    "B-response-times", "B-scripts", "C-tmall-fast-refund", "C-pickup", "C-freight-insurance",
                    "C-service-code", "C-jd-lightning-refund", "C-jd-free-pickup", "C-jd-late-delivery",
                    "C-jd-seven-day"):
        assert rule_id in pack.rules, rule_id


def test_load_pack_is_cached_and_reloads_after_an_edit(pack_dir: Path):
    first = load_pack(pack_dir)
    assert load_pack(pack_dir) is first
    shop = pack_dir / "shop.yml"
    edit(shop, 'compensation: "2.00"              # 赔偿2元', 'compensation: "1.00"              # 赔偿1元')
    os.utime(shop, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    second = load_pack(pack_dir)
    assert second is not first and second.rule("A1").first_offer.compensation == 100


def test_a_service_picks_up_an_edit_within_the_recheck_interval_and_not_sooner(pack_dir: Path, monkeypatch):
    from bot.policy import loader
    now = [1000.0]
    monkeypatch.setattr(loader, "_clock", lambda: now[0])
    monkeypatch.delenv(loader.PACK_RECHECK_ENV, raising=False)
    first = loader.load_pack_in_service(pack_dir)
    shop = pack_dir / "shop.yml"
    edit(shop, 'compensation: "2.00"              # 赔偿2元', 'compensation: "1.00"              # 赔偿1元')
    os.utime(shop, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    now[0] += 0.5  # within the second: the files are not looked at
    assert loader.load_pack_in_service(pack_dir) is first
    now[0] += 0.6
    assert loader.load_pack_in_service(pack_dir).rule("A1").first_offer.compensation == 100
    edit(shop, 'compensation: "1.00"              # 赔偿1元', 'compensation: "1.50"              # 赔偿1.5元')
    os.utime(shop, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
    monkeypatch.setenv(loader.PACK_RECHECK_ENV, "0")  # 0: every call looks
    assert loader.load_pack_in_service(pack_dir).rule("A1").first_offer.compensation == 150


def test_a_shop_changes_a_figure_without_code(pack_dir: Path):
    edit(pack_dir / "shop.yml", 'return_shipping_threshold: "13.00"', 'return_shipping_threshold: "16.00"')
    res = resolve(case(refusals=1, return_shipping_quote="15.00"), load_pack(pack_dir, use_cache=False))
    assert res.current_offer.kind == "return_with_shipping_subsidy"


def test_out_of_stock_setting_5pct_of_order_as_red_packets(pack_dir: Path):
    edit(pack_dir / "platform.yml", "model: 30pct_cap_500", "model: 5pct_order")
    pack = load_pack(pack_dir, use_cache=False)
    res = resolve(case(intent="cancel_order", order_status="paid_unshipped", signed_at=None, reason="out_of_stock",
                       items=[item("A", "100.00"), item("B", "60.00")], faulty_items=["A"]), pack)
    parts = {p.kind: p.amount_fen for p in res.current_offer.parts}
    assert parts == {"refund": 10000, "voucher": 800}  # 5% of the whole order (160 yuan)
    assert res.current_offer.details["claim_within_hours"] == 48


def test_seven_day_split_setting_buyer_pays_both(pack_dir: Path):
    edit(pack_dir / "platform.yml", "split: one_leg_each_if_free_shipping", "split: buyer_pays_both")
    res = resolve(case(intent="no_reason_return", free_shipping=True), load_pack(pack_dir, use_cache=False))
    assert res.current_offer.details["legs"]["outbound"] == "buyer"


MALFORMED = [
    # (file, old text, new text, the parts the message must contain)
    ("shop.yml", 'compensation: "2.00"', 'compensation: "two"',
     ["shop.yml: rule A1: first_offer.compensation: value is not a valid decimal"]),
    ("shop.yml", 'compensation: "2.00"', "compensation: 2.5",
     ["shop.yml: rule A1: first_offer.compensation:", "not a float"]),
    ("shop.yml", 'limit: "5.00"', 'limit: "4.00"', ["shop.yml: rule A1: first_offer:", "above the first offer's own limit"]),
    ("shop.yml", "  - id: A4\n", "  - id: A4\n    colour: red\n", ["shop.yml: rule A4: colour: extra fields not permitted"]),
    ("shop.yml", "  - id: A5\n", "  - id: A2\n", ["shop.yml: rule A2: duplicate rule id"]),
    ("shop.yml", "family: missing_item", "family: missing_items", ["shop.yml: rule A5: family: unknown family"]),
    ("shop.yml", 'steps: ["1.00", "2.00"]\n    review_rebate: "0.00"', 'steps: ["2.00", "1.00"]\n    review_rebate: "0.00"',
     ["shop.yml: rule A4: steps: steps must not go down"]),
    ("shop.yml", "script: utter_offer_full_refund", "script: offer full refund", ["shop.yml: rule A2: script:"]),
    ("shop.yml", "    percent: 50", "    percent: 150", ["shop.yml: settings: cash_cap.percent: percent must be between"]),
    ("shop.yml", "  - id: A1\n", "  - id: A1\n    id: A1b\n", ["shop.yml:", "duplicate key 'id'"]),
    ("shop.yml", "version: 1\n", "version: 1\nrulez: []\n", ["shop.yml: unknown top-level key 'rulez'"]),
    ("shop.yml", "    intents: [damaged]\n", "    intents: [damaged\n", ["shop.yml:", "YAML syntax error"]),
    ("platform.yml", "model: 30pct_cap_500", "model: 40pct", ["platform.yml: rule B-out-of-stock: model '40pct' is not one"]),
    ("platform.yml", "ordinary_hours: 72", "ordinary_hours: -72", ["platform.yml: rule B-ship-deadlines: ordinary_hours:"]),
    ("fast_refund.yml", "min_tier: 3", "min_tier: 7", ["fast_refund.yml: rule C-tmall-fast-refund: min_tier:"]),
    ("fast_refund.yml", "min_level: S2", "min_level: 2", ["fast_refund.yml: rule C-jd-lightning-refund: min_level:"]),
    ("fast_refund.yml", 'opens: "09:00"', 'opens: "21:00"', ["fast_refund.yml: rule C-pickup: opens must be earlier"]),
    ("fast_refund.yml", "follows: B-seven-day", "follows: B-eight-day", ["rule C-jd-seven-day: follows: no rule"]),
]


@pytest.mark.parametrize("file,old,new,expected", MALFORMED, ids=[m[3][0][:60] for m in MALFORMED])
def test_malformed_pack_names_file_rule_and_field(pack_dir: Path, file, old, new, expected):
    edit(pack_dir / file, old, new)
    message = load_error(pack_dir)
    for fragment in expected:
        assert fragment in message, message
    assert "Traceback" not in message


def test_yaml_syntax_error_gives_the_line(pack_dir: Path):
    edit(pack_dir / "shop.yml", "    intents: [damaged]\n", "    intents: [damaged\n")
    message = load_error(pack_dir)
    assert message.split(":")[0].endswith("shop.yml") and message.split(":")[1].isdigit()


def test_missing_required_family(pack_dir: Path):
    (pack_dir / "fast_refund.yml").unlink()
    assert "no rule of family fast_refund" in load_error(pack_dir)


def test_empty_or_missing_directory(tmp_path: Path):
    assert "no rule pack files" in load_error(tmp_path)
    assert "not found" in load_error(tmp_path / "nope")


def test_a_bad_edit_never_leaves_a_half_loaded_pack_in_the_cache(pack_dir: Path):
    good = load_pack(pack_dir)
    shop = pack_dir / "shop.yml"
    edit(shop, 'compensation: "2.00"', 'compensation: "x"')
    os.utime(shop, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    with pytest.raises(PolicyPackError):
        load_pack(pack_dir)
    assert good.rule("A1").first_offer.compensation == 200  # the old pack object is untouched
