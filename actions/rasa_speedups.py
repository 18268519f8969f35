"""Rasa's round trips to the action server made cheaper, with the same outcomes.

Rasa checks every custom-action response (forms' validation calls included) with the one-shot
``jsonschema.validate(response, schema)``. That function first checks the schema itself against JSON Schema's
draft 2020-12 meta-schema, on every call, although Rasa's response schema is a constant. Profiled with py-spy
on 2026-12-07 (one buyer, the damaged-bottle conversation, 4 turns and 8 action calls), that meta-schema check
was a third of the Rasa process's CPU time. Here the validator is built (and its schema checked) once; each
response is validated against the same schema and, as the one-shot function does, the best-matching error is
raised with Rasa's own hint appended.

Reading a stored tracker turns each event's type name into its class with ``Event.resolve_by_type``, which
walks every subclass of Event (recursively, checking each for abstract methods) for every event: with the
tracker read once a message, 3 % of Rasa's CPU in the same profile. Here each name is looked up once and
remembered; a name not found yet goes to Rasa's own function every time (its default / error handling).

Checking a response's events was still most of that check's cost (each event against Rasa's oneOf of 23 event
schemas, 7 % of Rasa's CPU in the py-spy profile of 2026-12-07 late evening): a valid response now passes
by checking each event against the one alternative its `event` name selects (`certainly_valid`); anything
else goes through the full check, so the verdict and the error are Rasa's own.

Rasa opened a new aiohttp session, and with it a new TCP connection, for every action call (eight a
conversation): ``EndpointConfig.session`` now hands out one kept session per event loop, whose idle
connections are reused and let go after KEEPALIVE_S, before the action server (Sanic, 5 s) would close them.

``install()`` is called when Rasa imports our channels (credentials.yml), so every `rasa run` of the project
gets it; it is idempotent.
"""
from __future__ import annotations

import asyncio
import weakref
from functools import lru_cache
from typing import Any, Dict, Optional, Tuple

import aiohttp
from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.utils.endpoints import EndpointConfig
from rasa.shared.core.events import Event
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def response_validator():
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@lru_cache(maxsize=1)
def _event_checks() -> Optional[Tuple[Any, Any, Dict[str, Any]]]:
    """(the response schema without its per-event oneOf, the event schema without it, one validator per event
    name) — or None when Rasa's schema is not shaped as expected (then every response takes the full check).

    Each of the oneOf's alternatives pins `event` to its own constant, so an event whose `event` is the string X
    matches the oneOf exactly when it matches alternative X: one alternative is checked instead of 23."""
    schema = RemoteAction.action_response_format_spec()
    try:
        events = schema["properties"]["events"]
        item = events["items"]
        alternatives = item["oneOf"]
        by_name = {alternative["properties"]["event"]["const"]: alternative for alternative in alternatives}
    except (KeyError, TypeError):
        return None
    if len(by_name) != len(alternatives) or "event" not in item.get("required", ()):
        return None
    validator_class = type(response_validator())
    base_item = {key: value for key, value in item.items() if key != "oneOf"}
    outer = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
    return (validator_class(outer), validator_class(base_item),
            {name: validator_class(alternative) for name, alternative in by_name.items()})


def certainly_valid(result: Any) -> bool:
    """True only when the response passes Rasa's schema; False means "ask the full check" (which then
    raises the same error as before)."""
    checks = _event_checks()
    if checks is None:
        return False
    outer, base_item, by_name = checks
    if not outer.is_valid(result):
        return False
    for event in result.get("events") or ():
        name = event.get("event") if isinstance(event, dict) else None
        alternative = by_name.get(name) if isinstance(name, str) else None
        if alternative is None or not base_item.is_valid(event) or not alternative.is_valid(event):
            return False
    return True


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
    if certainly_valid(result):
        return True
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action "
        f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


_resolve_by_type = Event.resolve_by_type  # Rasa's own (a staticmethod, so a plain function here)
_event_classes: Dict[str, type] = {}


def resolve_event_type(type_name: str, default: Optional[type] = None) -> Optional[type]:
    known = _event_classes.get(type_name)
    if known is not None:
        return known
    found = _resolve_by_type(type_name, default)
    if found is not None and found is not default:
        _event_classes[type_name] = found
    return found


# ---------------------------------------------------------------------- kept connections to the action server

# Below Sanic's 5 s keep-alive (the action server's): the client lets an idle connection go first, so it never
# sends a request on a connection the server is closing at that moment.
KEEPALIVE_S = 2.0


class _KeptSession:
    """What `async with endpoint.session() as session:` gets: the shared session, left open at the end."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *_exc: Any) -> bool:
        return False


_kept: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Dict[tuple, aiohttp.ClientSession]]" = \
    weakref.WeakKeyDictionary()


def kept_session(self: EndpointConfig) -> _KeptSession:
    """EndpointConfig.session, but one client session (and its connection pool) per event loop and settings,
    kept open: Rasa made a new session, and so a new TCP connection, for every call to the action server."""
    loop = asyncio.get_running_loop()
    auth = (self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
    key = (tuple(sorted((self.headers or {}).items())), auth)
    sessions = _kept.setdefault(loop, {})
    session = sessions.get(key)
    if session is None or session.closed:
        session = sessions[key] = aiohttp.ClientSession(
            headers=self.headers, auth=aiohttp.BasicAuth(*auth) if auth else None,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S))
    return _KeptSession(session)


async def close_kept_sessions() -> None:
    """Close this event loop's kept sessions (tests; a Rasa process keeps them for its life)."""
    for session in _kept.pop(asyncio.get_running_loop(), {}).values():
        await session.close()


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_event_type)
    EndpointConfig.session = kept_session


__all__ = ["close_kept_sessions", "install", "kept_session", "resolve_event_type", "response_validator",
           "validate_action_result", "ValidationError"]
