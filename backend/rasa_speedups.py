"""Work Rasa 3.6 repeats on every message for no result, done once instead (installed by the launcher).

Two of them, found with py-spy while ``make bench`` loaded the stack:

1. Rasa checks each answer of the action server against a JSON schema with
``jsonschema.validate(result, schema)``; that function first validates the
*schema itself* against JSON Schema's meta-schema, every call, and the
events schema is large. ``make bench`` found it was about a quarter of
the Rasa server's CPU time under load (py-spy). Here the same schema is
checked once and its validator kept: every action answer is still
validated against it, and an invalid one raises the same ``ValidationError``
with the same message as before.

2. Every event read back from the tracker store finds its class by walking
the whole ``Event`` class tree (``all_subclasses``) and comparing names:
about 7 % of the server's time. Here the names are looked up in a table
built from the same walk, and the walk is repeated when a name is not in
it (an event class imported later), so the answer is always the walk's.

Rasa 3.6.21 is the last open-source release, so this cannot be fixed
upstream; :func:`install` is called by :mod:`backend.run_masked` before
Rasa starts, and a test pins the behaviour it replaces.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for


@lru_cache(maxsize=1)
def action_result_validator() -> Validator:
    """The validator for the action server's answers, its schema checked once."""
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the validator built once."""
    from rasa.core.actions.action import DOCS_BASE_URL

    error = best_match(action_result_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


_EVENT_CLASSES: dict[str, Any] = {}


def _event_classes() -> dict[str, Any]:
    """Event type name → the first class of that name in Rasa's own walk of the class tree."""
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    table: dict[str, Any] = {}
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    return table


def resolve_event_type(type_name: str, default: Any = None) -> Any:
    """``Event.resolve_by_type`` from a table instead of a walk of the class tree per event."""
    cls = _EVENT_CLASSES.get(type_name)
    if cls is None:
        _EVENT_CLASSES.clear()
        _EVENT_CLASSES.update(_event_classes())  # a class imported since, or truly unknown
        cls = _EVENT_CLASSES.get(type_name)
    if cls is not None:
        return cls
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def install() -> None:
    """Replace the per-call schema check in Rasa's remote actions and the per-event class walk."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event

    RemoteAction._validate_action_result = validate_action_result
    Event.resolve_by_type = staticmethod(resolve_event_type)
