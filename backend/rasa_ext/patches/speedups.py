"""Work Rasa 3.6 repeats on every message for no result, done once instead (installed by the launcher).

1. Rasa checks each answer of the action server with ``jsonschema.validate(result, schema)``,
which first validates the large events schema itself against JSON Schema's meta-schema, every
call. Here the schema is checked once and its validator kept; a valid answer is recognised by
trying only the event shape its ``event`` name selects, and anything that check refuses goes
through the full validator, so an invalid answer raises the same ``ValidationError`` as before.

2. Every event read back from the tracker store finds its class by walking the whole ``Event``
class tree. Here the names are looked up in a table built from the same walk, and the walk is
repeated for a name not in it (a class imported later), so the answer is always the walk's.

3. A button's payload (``/affirm``, ``/inform_place{"place_scope": "home"}``) went through the
whole NLU pipeline only for its last step, ``RegexMessageHandler``, to replace the result with
what the payload says. A payload that step would accept is now unpacked by the same function,
without the rest; anything else still goes through the whole pipeline. A test compares both
for every button of the domain.

The companion modules hold the others: :mod:`~backend.rasa_ext.patches.dialogue_states` (the
dialogue states worked out once per turn), :mod:`~backend.rasa_ext.patches.graph_runner`
(the model's graph without dask), :mod:`~backend.rasa_ext.patches.copies` (slots and debug
arguments not deep-copied) and :mod:`~backend.rasa_ext.patches.rule_matching` (RulePolicy's
rules prepared once). What each saved is in docs/benchmark.md. Rasa 3.6.21 is the last
open-source release, so this cannot be fixed upstream; each replacement is a patch of its own
in :mod:`backend.rasa_ext.patches` (with its switch), and tests pin the behaviour it replaces.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError, _validators
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for

from backend.rasa_ext.patches import copies, dialogue_states, graph_runner, rule_matching


@lru_cache(maxsize=1)
def action_result_validator() -> Validator:
    """The validator for the action server's answers, its schema checked once."""
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _event_const(subschema: Any) -> Any:
    """The ``event`` name a ``oneOf`` branch requires (``properties.event.const``), or None."""
    if not isinstance(subschema, dict):
        return None
    event = subschema.get("properties", {}).get("event")
    return event.get("const") if isinstance(event, dict) else None


_BRANCHES: dict[int, tuple[Any, dict[str, list[Any]] | None]] = {}  # id(oneOf list) → (the list, name → branches)


def _branches_by_name(one_of: Any) -> dict[str, list[Any]] | None:
    """The ``oneOf`` branches by the ``event`` name each pins, worked out once per list (None: not all pin one)."""
    known = _BRANCHES.get(id(one_of))
    if known is not None and known[0] is one_of:
        return known[1]
    names = [_event_const(s) for s in one_of]
    index: dict[str, list[Any]] | None = None
    if all(isinstance(n, str) for n in names):
        index = {}
        for branch, name in zip(one_of, names, strict=True):
            index.setdefault(name, []).append(branch)
    _BRANCHES[id(one_of)] = (one_of, index)
    return index


def _one_of_by_event_name(validator: Any, one_of: Any, instance: Any, schema: Any) -> Any:
    """JSON Schema's ``oneOf``, trying only the branches whose ``event`` name the instance carries.

    Every branch of the events schema pins ``event`` to one name, so for an
    event ``{"event": "slot", ...}`` the other 22 branches fail on that
    name alone; skipping them leaves the outcome as it was (exactly one
    branch must match) at a twentieth of the work.
    """
    index = _branches_by_name(one_of)
    name = instance.get("event") if isinstance(instance, dict) else None
    if index is not None and isinstance(name, str):
        one_of = index.get(name, [])
    yield from _validators.oneOf(validator, one_of, instance, schema)


@lru_cache(maxsize=1)
def action_result_checker() -> Validator:
    """A validator that says only *whether* an answer is valid, quickly (see :func:`validate_action_result`)."""
    base = action_result_validator()
    fast = extend(type(base), {"oneOf": _one_of_by_event_name})
    return fast(base.schema)


def validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the validator built once.

    A valid answer (nearly all of them) is recognised by the quick checker;
    only an answer it refuses is checked by the full validator, so the
    error raised is the one Rasa's own check raises, message and all.
    """
    from rasa.core.actions.action import DOCS_BASE_URL

    if next(action_result_checker().iter_errors(result), None) is None:
        return True
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


_PARSE_ORIGINAL: dict[str, Any] = {}


def payload_parse(message_text: Any, domain: Any) -> dict[str, Any] | None:
    """What ``RegexMessageHandler`` makes of a button's payload, or None for a text it would leave to the pipeline.

    The parse the processor builds from the graph's last message (its
    output properties over a default of no intent and no entities), from
    the same ``unpack_regex_message`` call, with the same extractor name.
    """
    from rasa.shared.constants import INTENT_MESSAGE_PREFIX
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
    from rasa.shared.nlu.training_data.message import Message

    if not isinstance(message_text, str) or not message_text.strip().startswith(INTENT_MESSAGE_PREFIX):
        return None
    match = YAMLStoryReader._regex_message_pattern().match(message_text.strip())
    if match is None or domain is None or match.group(INTENT_NAME_KEY).strip() not in domain.intents:
        return None  # the pipeline's turn (and RegexMessageHandler's warning, said once)
    message = Message(data={TEXT: message_text})
    unpacked = YAMLStoryReader.unpack_regex_message(message, domain, entity_extractor_name="RegexMessageHandler")
    parse: dict[str, Any] = {TEXT: "", INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, ENTITIES: []}
    parse.update(unpacked.as_dict(only_output_properties=True))
    return parse


def parse_message_with_graph(
    self: Any, message: Any, tracker: Any, only_output_properties: bool = True
) -> dict[str, Any]:
    """``MessageProcessor._parse_message_with_graph``, with a button's payload unpacked without the pipeline."""
    if only_output_properties:
        parse = payload_parse(message.text, self.domain)
        if parse is not None:
            return parse
    return _PARSE_ORIGINAL["parse"](self, message, tracker, only_output_properties)


def install_action_result_check() -> None:
    """1. The action server's answers are checked with a validator built once (see the module docstring)."""
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result


def install_event_lookup() -> None:
    """2. Event classes are found by name in a table instead of walking the class tree per event."""
    from rasa.shared.core.events import Event

    Event.resolve_by_type = staticmethod(resolve_event_type)


def install_payload_parse() -> None:
    """3. A button's payload is unpacked without running the whole NLU pipeline."""
    from rasa.core.processor import MessageProcessor

    if MessageProcessor._parse_message_with_graph is not parse_message_with_graph:
        _PARSE_ORIGINAL["parse"] = MessageProcessor._parse_message_with_graph
        MessageProcessor._parse_message_with_graph = parse_message_with_graph


def install() -> None:
    """Put in place the three replacements above and those of the four companion modules (all of them, as tests do)."""
    install_action_result_check()
    install_event_lookup()
    install_payload_parse()
    dialogue_states.install()
    graph_runner.install()
    copies.install()
    rule_matching.install()
