"""Work Rasa 3.6 repeats on every message for no result, done once instead (installed by the launcher).

Four of them, found with py-spy while ``make bench`` loaded the stack:

1. Rasa checks each answer of the action server against a JSON schema with
``jsonschema.validate(result, schema)``; that function first validates the
*schema itself* against JSON Schema's meta-schema, every call, and the
events schema is large. ``make bench`` found it was about a quarter of
the Rasa server's CPU time under load (py-spy). Here the same schema is
checked once and its validator kept: every action answer is still
validated against it, and an invalid one raises the same ``ValidationError``
with the same message as before. Even so, each event was tried against all
23 event shapes of the schema's ``oneOf`` (8 % of the server's time); a
valid answer is now recognised by trying only the shape its ``event`` name
selects, and anything that check refuses goes through the full validator.

2. Every event read back from the tracker store finds its class by walking
the whole ``Event`` class tree (``all_subclasses``) and comparing names:
about 7 % of the server's time. Here the names are looked up in a table
built from the same walk, and the walk is repeated when a name is not in
it (an event class imported later), so the answer is always the walk's.

3. TED, the dialogue policy, runs its TensorFlow model for every
prediction (two or three per message): about a quarter of the server's
busy time. Its answer is a function of the dialogue states it featurizes
(the last five turns' intents, entities, slots, actions and active form,
as the policy itself computes them), and those repeat: every resident who
files a report walks the same form. The prediction is kept per states in
a bounded cache and a repeat is answered from it. A prediction that could
depend on more than the states is never cached: a policy trained on text
(end-to-end stories) and one that returns events. The cache belongs to
the loaded policy: a model swapped in (``PUT /model``) starts with none.

4. A button's payload (``/affirm``, ``/inform_place{"place_scope": "home"}``)
went through the whole NLU pipeline (spaCy, both featurizers, the
classifier, the entity extractor: about 7 ms on two shared cores) only for
the pipeline's last step, ``RegexMessageHandler``, to replace the result
with the intent and entities written in the payload. A payload that step
would accept (an intent of the domain, in its grammar) is now unpacked by
the same function the step uses, without the rest; anything else (a text
that merely starts with "/", an unknown intent) still goes through the
whole pipeline. A test compares both for every button of the domain.

A fifth, the dialogue states each policy works out again from the whole
conversation, is in :mod:`backend.rasa_ext.patches.dialogue_states`, a sixth, dask's
scheduling of the model's graph on every parse and prediction, in
:mod:`backend.rasa_ext.patches.graph_runner`, the copies of slots and of debug-log
arguments in :mod:`backend.rasa_ext.patches.copies`, and RulePolicy's rules read again
for every turn in :mod:`backend.rasa_ext.patches.rule_matching`.

Rasa 3.6.21 is the last open-source release, so this cannot be fixed
upstream. Each replacement is a patch of its own in the list of
:mod:`backend.rasa_ext.patches` (with its switch), installed by the launcher
before Rasa starts; tests pin the behaviour each replaces.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
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


TED_CACHE_SIZE = 2048  # dialogue states, about 2 KB each (the probabilities kept as one float64 array)
_TED_ORIGINAL: dict[str, Any] = {}


def _frozen(states: list[dict[str, dict[str, Any]]]) -> tuple[Any, ...]:
    """The featurized turns as a hashable key (each state: sub-state name → its sorted items)."""
    return tuple(tuple(sorted((name, tuple(sorted(sub.items()))) for name, sub in state.items())) for state in states)


class _TedCache:
    """One loaded TED policy's cache, and what never changes for that policy (decided once, not per call)."""

    def __init__(self, policy: Any) -> None:
        from rasa.core.policies.policy import SupportedData
        from rasa.shared.nlu.constants import TEXT

        # A TED trained on text also featurizes the user's text: its predictions are not cached.
        self.cacheable = policy.model is not None and not policy.only_e2e and TEXT not in (policy.fake_features or {})
        self.ml_only = policy.supported_data() == SupportedData.ML_DATA
        self.entries: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()


def _ted_cache(policy: Any) -> _TedCache:
    cache = policy.__dict__.get("_santong_predictions")
    if cache is None:
        cache = policy.__dict__["_santong_predictions"] = _TedCache(policy)
    return cache


def ted_states_key(policy: Any, tracker: Any, domain: Any, rule_only_data: Any) -> tuple[Any, ...] | None:
    """What TED's prediction for ``tracker`` depends on, or None when it may depend on more (the text).

    The states are computed with the same arguments as TED's own
    featurization (``Policy._featurize_for_prediction``).
    """
    cache = _ted_cache(policy)
    if not cache.cacheable:
        return None
    states = policy.featurizer.prediction_states(
        [tracker],
        domain,
        use_text_for_last_user_input=False,
        ignore_rule_only_turns=cache.ml_only,
        rule_only_data=rule_only_data,
        ignore_action_unlikely_intent=cache.ml_only,
    )
    return _frozen(states[0])


def _kept(prediction: Any) -> tuple[Any, Any]:
    """A prediction as the cache holds it: its probabilities as a float64 array (the floats exactly), the rest."""
    import numpy

    template = copy.copy(prediction)
    template.probabilities = []
    return template, numpy.array(prediction.probabilities, dtype=numpy.float64)


def _handed_out(kept: tuple[Any, Any]) -> Any:
    """A copy for the caller: the ensemble may change what it is given, the cached one must not change."""
    template, probabilities = kept
    given = copy.copy(template)
    given.probabilities = probabilities.tolist()
    return given


def ted_predict(
    self: Any,
    tracker: Any,
    domain: Any,
    rule_only_data: Any = None,
    precomputations: Any = None,
    **kwargs: Any,
) -> Any:
    """``TEDPolicy.predict_action_probabilities``, answered from the cache when the states were seen."""

    def original() -> Any:
        return _TED_ORIGINAL["predict"](
            self, tracker, domain, rule_only_data=rule_only_data, precomputations=precomputations, **kwargs
        )

    key = ted_states_key(self, tracker, domain, rule_only_data)
    if key is None:
        return original()
    entries = _ted_cache(self).entries
    found = entries.get(key)
    if found is not None:
        entries.move_to_end(key)
        return _handed_out(found)
    prediction = original()
    if not prediction.events and not prediction.optional_events:
        entries[key] = _kept(prediction)
        while len(entries) > TED_CACHE_SIZE:
            entries.popitem(last=False)
    return prediction


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


def install_ted_cache() -> None:
    """3. TED's prediction is kept per dialogue states and a repeat answered from it."""
    from rasa.core.policies.ted_policy import TEDPolicy

    if TEDPolicy.predict_action_probabilities is not ted_predict:
        _TED_ORIGINAL["predict"] = TEDPolicy.predict_action_probabilities
        TEDPolicy.predict_action_probabilities = ted_predict


def install_payload_parse() -> None:
    """4. A button's payload is unpacked without running the whole NLU pipeline."""
    from rasa.core.processor import MessageProcessor

    if MessageProcessor._parse_message_with_graph is not parse_message_with_graph:
        _PARSE_ORIGINAL["parse"] = MessageProcessor._parse_message_with_graph
        MessageProcessor._parse_message_with_graph = parse_message_with_graph


def install() -> None:
    """Put in place the four replacements above and those of the four companion modules (all of them, as tests do)."""
    install_action_result_check()
    install_event_lookup()
    install_ted_cache()
    install_payload_parse()
    dialogue_states.install()
    graph_runner.install()
    copies.install()
    rule_matching.install()
