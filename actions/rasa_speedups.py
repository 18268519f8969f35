"""A faster check of the action server's responses inside Rasa, with the same outcome.

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

``install()`` is called when Rasa imports our channels (credentials.yml), so every `rasa run` of the project
gets it; it is idempotent.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Optional

from jsonschema import ValidationError, validators
from jsonschema.exceptions import best_match
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def response_validator():
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
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


def install() -> None:
    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_event_type)


__all__ = ["install", "resolve_event_type", "response_validator", "validate_action_result", "ValidationError"]
