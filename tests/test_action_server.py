"""actions/server.py (the action server: threads, timings), the selective-domain fallback of the form
validators, and the no-op floor's call key (bench/noop_actions.py). No model needed."""
from __future__ import annotations

import asyncio
import json
import threading

import pytest
from rasa_sdk import Action

from actions.forms import ValidateOrderForm, file_domain
from actions.server import Profile, ThreadedExecutor, build_app
from tests.test_actions import BOTTLE_20, DOMAIN_FORMS, db_url, run, slot_values, tracker  # noqa: F401


class WhereAmI(Action):
    """Says which thread ran it."""

    def name(self):
        return "action_where_am_i"

    async def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text=threading.current_thread().name)
        return []


def call(action: str, events: list | None = None) -> dict:
    return {"next_action": action, "sender_id": "s1", "version": "3.6.21",
            "tracker": {"sender_id": "s1", "slots": {}, "latest_message": {}, "events": events or [],
                        "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": "action_listen"}}


def test_an_action_runs_on_a_pool_thread_not_the_event_loop_and_is_timed():
    from concurrent.futures import ThreadPoolExecutor

    profile = Profile()
    executor = ThreadedExecutor(ThreadPoolExecutor(2, thread_name_prefix="action"), profile)
    executor.register_action(WhereAmI())
    result = asyncio.run(executor.run(call("action_where_am_i")))
    assert result["responses"][0]["text"].startswith("action")  # not MainThread
    summary = profile.summary()["action_where_am_i"]
    assert summary["count"] == 1 and summary["p95_ms"] >= summary["p50_ms"] > 0


def test_the_server_keeps_rasa_sdks_webhook_and_answers_timings():
    import urllib.error
    import urllib.request

    from tests.inprocess_web import serving

    app = build_app("actions", threads=2)
    assert {("webhook",), ("health",), ("actions",), ("timings",)} <= set(app.router.routes_all)
    with serving(app) as url:
        request = urllib.request.Request(url + "/webhook", json.dumps(call("action_no_such_thing")).encode(),
                                         {"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as unknown:
            urllib.request.urlopen(request, timeout=20)
        assert unknown.value.code == 404  # rasa_sdk's own answer for an unknown action
        with urllib.request.urlopen(url + "/timings", timeout=20) as response:
            body = json.loads(response.read())
    assert "pid" in body and body["threads"] == 2


def test_a_form_validator_without_a_domain_reads_the_forms_from_domain_yml(db_url):  # noqa: F811
    assert file_domain()["forms"]["order_form"]["required_slots"] == ["order_number"]
    track = lambda: tracker(text=BOTTLE_20, intent="provide_order_number", active_loop="order_form",  # noqa: E731
                            slots={"requested_slot": "order_number"})
    with_domain, _ = run(ValidateOrderForm(), track())
    dispatcher_events = asyncio.run(ValidateOrderForm().run(__import__("rasa_sdk").executor.CollectingDispatcher(),
                                                            track(), {}))
    assert slot_values(dispatcher_events) == slot_values(with_domain)
    assert slot_values(with_domain)["order_number"] == BOTTLE_20


def test_the_noop_floor_keys_a_call_by_action_turn_and_repeat():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("noop_actions", Path(__file__).parent.parent / "bench" / "noop_actions.py")
    noop = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(noop)
    events = [{"event": "user"}, {"event": "action", "name": "a"}, {"event": "user"},
              {"event": "action", "name": "a"}, {"event": "action", "name": "b"}, {"event": "action", "name": "a"}]
    assert noop.call_key(call("a", events)) == ("a", 2, 2)
    assert noop.call_key(call("b", events)) == ("b", 2, 1)
    assert noop.call_key(call("a", [])) == ("a", 0, 0)
