"""The cached check of action-server responses (actions/rasa_speedups.py) accepts and refuses exactly what Rasa's
one-shot check does, and is what Rasa runs once our channels are loaded."""
import asyncio

import jsonschema
import pytest
from hypothesis import given, settings, strategies as st
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import actions.channels  # noqa: F401  (installs the faster check, as `rasa run` does through credentials.yml)
from actions import rasa_speedups

VALID = {"events": [{"event": "slot", "name": "order_number", "value": "886600010001", "timestamp": None}],
         "responses": [{"text": "亲，请提供订单号"}]}


def remote_action() -> RemoteAction:
    return RemoteAction("action_handle_problem", EndpointConfig("http://127.0.0.1:1/webhook"))


def one_shot_ok(result) -> bool:
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        return True
    except jsonschema.ValidationError:
        return False


def test_loading_our_channels_installs_the_cached_check():
    assert RemoteAction._validate_action_result is rasa_speedups.validate_action_result


def test_a_valid_response_passes():
    assert remote_action()._validate_action_result(VALID) is True


@pytest.mark.parametrize("bad", [
    {"events": "not a list"},
    {"events": [{"event": "slot"}]},            # a slot event without a name
    {"events": [{"no_event_key": 1}]},
    {"responses": ["plain string"]},
])
def test_an_invalid_response_is_refused_with_rasas_hint(bad):
    assert not one_shot_ok(bad)
    with pytest.raises(jsonschema.ValidationError) as caught:
        remote_action()._validate_action_result(bad)
    assert "Failed to validate Action server response" in caught.value.message


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)
EVENT_NAMES = ["slot", "bot", "action", "user", "followup", "entities", "active_loop", "session_started", "rewind",
               "reset_slots", "x", ""]
event_like = st.fixed_dictionaries({"event": st.sampled_from(EVENT_NAMES) | json_values},
                                   optional={"name": json_values, "value": json_values, "text": json_values,
                                             "timestamp": json_values, "metadata": json_values,
                                             "entities": json_values, "policy": json_values,
                                             "confidence": json_values,
                                             "parse_data": st.fixed_dictionaries({}, optional={
                                                 "intent": json_values, "entities": json_values,
                                                 "text": json_values})})


@settings(max_examples=600, deadline=None)
@given(st.fixed_dictionaries({}, optional={"events": st.lists(event_like | json_values, max_size=3) | json_values,
                                           "responses": st.lists(st.dictionaries(st.text(max_size=5), json_values,
                                                                                 max_size=2) | json_values, max_size=2)}))
def test_same_verdict_as_the_one_shot_check(result):
    try:
        cached = remote_action()._validate_action_result(result)
    except jsonschema.ValidationError:
        cached = False
    assert cached == one_shot_ok(result)


def test_the_schema_itself_is_checked_once_not_per_response(monkeypatch):
    action = remote_action()
    action._validate_action_result(VALID)          # builds the validator (and checks the schema) if not yet done
    validator_class = type(rasa_speedups.response_validator())
    calls = []
    monkeypatch.setattr(validator_class, "check_schema", classmethod(lambda cls, schema, **kw: calls.append(1)))
    for _ in range(5):
        action._validate_action_result(VALID)
    assert calls == []
    jsonschema.validate(VALID, RemoteAction.action_response_format_spec())   # Rasa's one-shot call: checks every time
    assert calls == [1]


# ------------------------------------------------------------------ event type names -> classes

def _every_event_class():
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses
    return all_subclasses(Event)


def test_loading_our_channels_installs_the_remembered_event_lookup():
    from rasa.shared.core.events import Event
    assert Event.resolve_by_type is rasa_speedups.resolve_event_type


@pytest.mark.parametrize("twice", [1, 2])  # the second round answers from what the first remembered
def test_every_event_type_name_resolves_to_the_class_rasas_lookup_finds(twice):
    for cls in _every_event_class():
        assert rasa_speedups.resolve_event_type(cls.type_name) is rasa_speedups._resolve_by_type(cls.type_name)


def test_an_unknown_event_name_still_gets_rasas_default_or_error_and_is_not_remembered():
    from rasa.shared.core.events import SlotSet
    assert rasa_speedups.resolve_event_type("no_such_event", SlotSet) is SlotSet
    assert rasa_speedups.resolve_event_type("topic") is None
    with pytest.raises(ValueError, match="no_such_event"):
        rasa_speedups.resolve_event_type("no_such_event")
    assert "no_such_event" not in rasa_speedups._event_classes


def test_stored_events_read_back_equal_through_the_remembered_lookup():
    from rasa.shared.core.events import (ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered,
                                         deserialise_events)
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
              UserUttered("瓶子碎了", {"name": "damaged", "confidence": 0.9}), SlotSet("problem", "damaged"),
              BotUttered("麻烦拍张照片"), ActionExecuted("action_listen")]
    for _ in range(2):  # the second read answers from what the first remembered
        assert deserialise_events([event.as_dict() for event in events]) == events
    assert all(type(Event.from_parameters(event.as_dict())) is type(event) for event in events)


@settings(max_examples=600, deadline=None)
@given(st.lists(event_like, max_size=4))
def test_the_quick_path_never_passes_what_the_full_check_refuses(events):
    result = {"events": events}
    if rasa_speedups.certainly_valid(result):
        assert one_shot_ok(result)


def test_the_quick_path_passes_what_the_actions_send():
    # what our actions return (slots, bot messages, an active loop) is decided without the full check
    result = {"events": [{"event": "slot", "name": "case_id", "value": 12, "timestamp": None},
                         {"event": "active_loop", "name": None, "timestamp": None},
                         {"event": "followup", "name": "action_listen", "timestamp": None}],
              "responses": [{"response": "utter_offer", "text": None, "buttons": []}]}
    assert rasa_speedups.certainly_valid(result) and one_shot_ok(result)


# ---- kept connections to the action server

def test_loading_our_channels_keeps_rasas_client_sessions():
    assert EndpointConfig.session is rasa_speedups.kept_session


async def _serve(port: int, peers: list):
    from aiohttp import web

    async def webhook(request):
        peers.append(request.transport.get_extra_info("peername")[1])  # the client's port: one per connection
        return web.json_response({"events": [], "responses": []})
    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def test_action_calls_reuse_one_connection_and_survive_a_server_restart():
    from bot.convtest.stack import free_port

    async def scenario():
        port, peers = free_port(), []
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        runner = await _serve(port, peers)
        for _ in range(3):
            assert await endpoint.request(method="post", json={"next_action": "x"}) == {"events": [], "responses": []}
        await runner.cleanup()  # the action server restarts: its connections are gone
        runner = await _serve(port, peers)
        assert await endpoint.request(method="post", json={"next_action": "x"}) == {"events": [], "responses": []}
        await runner.cleanup()
        await rasa_speedups.close_kept_sessions()
        return peers

    peers = asyncio.run(scenario())
    assert len(peers) == 4
    assert len(set(peers[:3])) == 1  # Rasa's own session opened a connection per call
    assert peers[3] != peers[0]      # after the restart: a new connection, and the call went through
