"""Honest failure (issue 19): a rule pack broken mid-edit keeps the last good one in service and says so; a
locked database or an action error gives the buyer the "system busy" reply and, where it can be written, a
hand-off; a re-sent 不行 (same client message id) moves nothing; 100 KB on Rasa's channels gets a clear reply."""
from __future__ import annotations

import asyncio
import shutil
import sqlite3

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import dialogue
from actions.actions import ActionAcceptOffer, ActionHandleProblem, ActionRefuseOffer
from actions.channels import CappedRestInput, CappedSocketIOInput, capped
from bot.copilot import Copilot, ConversationContext
from bot.db.cases import record_upload
from bot.db.migrate import upgrade
from bot.db.models import AfterSalesCase, Handoff
from bot.db.seed import seed_demo_shop
from bot.db.session import dispose_engines, session_scope
from bot.policy import loader
from bot.service import AfterSalesService
from bot.settings import PROJECT_ROOT
from bot.web.limits import TOO_LONG_REPLY

BUYER, BOTTLE = "b_demo_1", "886600010001"


@pytest.fixture()
def db_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'aftersales.db'}"
    monkeypatch.setenv("AFTERSALES_DB_URL", url)
    upgrade(url)
    with session_scope(url) as session:
        seed_demo_shop(session)
        record_upload(session, "upload/abc.jpg", BUYER)
    dialogue.set_service(AfterSalesService(url))
    yield url
    dialogue.set_service(None)
    dispose_engines()


def tracker(*, intent="damaged", slots=None, metadata=None, text="") -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": [], "metadata": metadata or {}}
    base = {"problem": "damaged", "order_number": BOTTLE, "case_id": None, "photo": None, "refusals": 0,
            "order_failures": 0, "usable": None, "pending_need": None, "offer_pending": False, "ladder_offer": False}
    base.update(slots or {})
    return Tracker(BUYER, base, latest, [{"event": "user", "text": text, "parse_data": latest,
                                          "metadata": metadata or {}}], False, None, {}, "action_listen")


def run(action, track):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, {}))
    return events, [m.get("response") or m.get("text") for m in dispatcher.messages]


def offered_case(url) -> int:
    events, _ = run(ActionHandleProblem(), tracker(slots={"photo": "upload/abc.jpg"},
                                                   metadata={"attachments": [{"type": "photo", "ref": "upload/abc.jpg"}]}))
    return next(e["value"] for e in events if e.get("name") == "case_id")


def test_a_resent_refusal_with_the_same_client_id_changes_nothing(db_url):
    case_id = offered_case(db_url)
    resent = tracker(intent="deny", slots={"case_id": case_id}, metadata={"client_message_id": "m-7"})
    _, first = run(ActionRefuseOffer(), resent)
    _, second = run(ActionRefuseOffer(), resent)
    assert first == second
    with session_scope(db_url) as session:
        assert session.get(AfterSalesCase, case_id).refusals == 1


def test_a_resent_acceptance_with_the_same_client_id_gets_the_first_reply(db_url):
    case_id = offered_case(db_url)
    resent = tracker(intent="affirm", slots={"case_id": case_id}, metadata={"client_message_id": "ok-3"})
    _, first = run(ActionAcceptOffer(), resent)
    _, second = run(ActionAcceptOffer(), resent)
    _, another = run(ActionAcceptOffer(), tracker(intent="affirm", slots={"case_id": case_id},
                                                  metadata={"client_message_id": "ok-4"}))
    # the first acceptance also asks for satisfaction (issue 18); the re-send repeats the reply, never the survey
    assert first == ["utter_offer_accepted", "utter_ask_satisfaction"]
    assert second == ["utter_offer_accepted"]
    assert another == ["utter_offer_already_accepted"]


def test_a_locked_database_gets_the_busy_reply_not_silence(db_url, monkeypatch):
    case_id = offered_case(db_url)
    monkeypatch.setenv("AFTERSALES_SQLITE_BUSY_TIMEOUT_S", "0.2")
    dispose_engines()
    dialogue.set_service(AfterSalesService(db_url))
    locker = sqlite3.connect(db_url.replace("sqlite:///", ""), timeout=0.1)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        _, replies = run(ActionAcceptOffer(), tracker(intent="affirm", slots={"case_id": case_id}))
    finally:
        locker.rollback()
        locker.close()
    assert replies and replies[0] in ("utter_db_unavailable", "utter_system_busy")


def test_an_action_error_gets_the_busy_reply_and_a_handoff(db_url, monkeypatch):
    case_id = offered_case(db_url)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr(AfterSalesService, "accept", broken)
    events, replies = run(ActionAcceptOffer(), tracker(intent="affirm", slots={"case_id": case_id}))
    assert replies == ["utter_system_busy"]
    with session_scope(db_url) as session:
        assert [h.reason for h in session.execute(select(Handoff)).scalars()] == ["system_error"]


def test_a_second_claim_on_a_paid_order_goes_to_an_agent_with_the_history(db_url):
    first = offered_case(db_url)
    run(ActionAcceptOffer(), tracker(intent="affirm", slots={"case_id": first}))
    second = AfterSalesService(db_url).assess(dialogue.case_inputs(tracker(slots={"photo": "upload/abc.jpg"}))).case_id
    _, replies = run(ActionAcceptOffer(), tracker(intent="affirm", slots={"case_id": second}))
    assert replies == ["utter_order_already_compensated"]
    with session_scope(db_url) as session:
        handoff = session.execute(select(Handoff)).scalars().one()
        assert handoff.reason == "order_already_compensated" and f"案件{first}" in handoff.summary


def test_a_pack_broken_mid_edit_keeps_the_last_good_pack_and_says_why(tmp_path, db_url, monkeypatch):
    pack_dir = tmp_path / "policy"
    shutil.copytree(PROJECT_ROOT / "data" / "policy", pack_dir)
    monkeypatch.setenv("AFTERSALES_POLICY_DIR", str(pack_dir))
    service = AfterSalesService(db_url)
    before = service.assess(dialogue.case_inputs(tracker()), record=False)
    shop = pack_dir / "shop.yml"
    shop.write_text(shop.read_text(encoding="utf-8") + "\n  broken: [unclosed\n", encoding="utf-8")
    with pytest.raises(loader.PolicyPackError):
        loader.load_pack(pack_dir)
    after = service.assess(dialogue.case_inputs(tracker()), record=False)
    assert after.resolution.to_dict() == before.resolution.to_dict()
    message = loader.rejected_pack_message(pack_dir)
    assert "shop.yml" in message
    suggestion = Copilot(db_url).suggest(ConversationContext(buyer_messages=("瓶子碎了",), buyer_id=BUYER,
                                                             problem="damaged", order_number=BOTTLE))
    assert suggestion["pack_rejected"] == message


@pytest.mark.parametrize("channel", [CappedRestInput, CappedSocketIOInput])
def test_a_100_kb_message_on_rasas_channels_gets_a_reply_and_no_processing(channel):
    assert channel.name() in ("rest", "socketio")  # same URLs as Rasa's own channels
    handled = []

    async def on_new_message(message):
        handled.append(message.text)
    output = CollectingOutputChannel()
    asyncio.run(capped(on_new_message)(UserMessage("碎" * 100_000, output, "b_x")))
    asyncio.run(capped(on_new_message)(UserMessage("瓶子碎了", output, "b_x")))
    assert handled == ["瓶子碎了"]
    assert [m["text"] for m in output.messages] == [TOO_LONG_REPLY]


def test_every_custom_action_the_action_server_serves_is_guarded():
    # An unguarded action answers a failure with silence (the action server's 500). Rasa SDK serves every
    # Action subclass it imports, so every one of ours must have gone through dialogue.guarded.
    import inspect

    import actions.actions
    import actions.forms
    from rasa_sdk import Action

    ours = {cls for module in (actions.actions, actions.forms) for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Action) and cls.__module__.startswith("actions.") and not inspect.isabstract(cls)}
    assert len(ours) >= 15
    unguarded = sorted(cls.__name__ for cls in ours if not hasattr(cls.run, "__wrapped__"))
    assert unguarded == []
