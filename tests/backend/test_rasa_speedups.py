"""The action-answer validation installed into Rasa accepts and refuses exactly what Rasa's own does."""

from __future__ import annotations

import pytest
import rasa.core.processor
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

from backend.rasa_ext.patches import copies as rasa_copies
from backend.rasa_ext.patches import dialogue_states as rasa_dialogue_states
from backend.rasa_ext.patches import graph_runner as rasa_graph_runner
from backend.rasa_ext.patches import rule_matching as rasa_rule_matching
from backend.rasa_ext.patches import speedups as rasa_speedups

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "report_place", "value": "和园新村4号楼"}], "responses": [{"text": "好"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "action_listen"}]},
    {},
]
BAD = [
    {"events": "slot"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot"}]},  # a slot event without its name
    {"responses": ["text"]},
    [],
]


@pytest.mark.parametrize("result", GOOD)
def test_what_rasa_accepts_is_accepted(result):
    action = RemoteAction("action_x", None)
    assert RemoteAction._validate_action_result(action, result) is True
    assert rasa_speedups.validate_action_result(action, result) is True


@pytest.mark.parametrize("result", BAD)
def test_what_rasa_refuses_is_refused_with_the_same_message(result):
    action = RemoteAction("action_x", None)
    with pytest.raises(ValidationError) as rasas:
        RemoteAction._validate_action_result(action, result)
    with pytest.raises(ValidationError) as ours:
        rasa_speedups.validate_action_result(action, result)
    assert ours.value.message == rasas.value.message
    assert "Failed to validate Action server response" in ours.value.message


def _rasa_events() -> list[dict]:
    """One event of each kind an action can return, as Rasa itself serialises them."""
    from rasa.shared.core import events as e

    made = [
        e.UserUttered(
            "我家门口路灯坏了",
            {"name": "report_problem", "confidence": 0.9},
            [{"entity": "place", "value": "和园新村", "start": 0, "end": 4}],
        ),
        e.BotUttered("好的", {"buttons": [{"title": "是", "payload": "/affirm"}]}),
        e.SlotSet("report_place", "和园新村4号楼"),
        e.SlotSet("report_urgency", None),
        e.ActionExecuted("action_listen"),
        e.ActiveLoop("report_form"),
        e.ActiveLoop(None),
        e.FollowupAction("action_listen"),
        e.AllSlotsReset(),
        e.Restarted(),
        e.SessionStarted(),
        e.ConversationPaused(),
        e.ConversationResumed(),
        e.UserUtteranceReverted(),
        e.ActionReverted(),
        e.StoryExported(),
        e.ActionExecutionRejected("action_x"),
        e.LoopInterrupted(True),
        e.EntitiesAdded([{"entity": "place", "value": "望江路"}]),
        e.AgentUttered("hi"),
    ]
    return [event.as_dict() for event in made]


def _variants() -> list[dict]:
    """Valid events; each renamed to every other event name; each with one field of the wrong type."""
    valid = _rasa_events()
    others = {"user_featurization", "reminder", "cancel_reminder", "form", "form_validation"}
    names = sorted({event["event"] for event in valid} | others)
    out = [{"events": [event]} for event in valid]
    out += [{"events": [{**event, "event": name}]} for event in valid for name in names if name != event["event"]]
    out += [{"events": [{**event, key: [1]}]} for event in valid for key in event if key != "event"]
    out += [{"events": [{**valid[0], "event": 7}]}, {"events": [{"timestamp": 1.0}]}, {"events": valid}]
    return out


def test_the_quick_check_agrees_with_rasas_schema_on_every_event_kind():
    """For every event kind Rasa writes, and each renamed to every other kind, both say the same."""
    import jsonschema

    schema = RemoteAction.action_response_format_spec()
    checker = rasa_speedups.action_result_checker()
    valid = invalid = 0
    for result in _variants():
        try:
            jsonschema.validate(result, schema)
            rasas = True
        except ValidationError:
            rasas = False
        assert (next(checker.iter_errors(result), None) is None) == rasas, result
        assert rasa_speedups.validate_action_result(RemoteAction("a", None), result) if rasas else True
        valid, invalid = valid + rasas, invalid + (not rasas)
    assert valid > 100 and invalid > 50  # both sides of the schema were exercised


def _restored_after_the_test(monkeypatch):
    """Every method install() replaces, put back when the test ends."""
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.events import Event

    monkeypatch.setattr(DaskGraphRunner, "run", DaskGraphRunner.run)
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys)
    for module in rasa_copies.logging_modules():
        monkeypatch.setattr(module, "copy", module.copy)
    monkeypatch.setattr(Slot, "__copy__", None, raising=False)  # Rasa's slots have none: removed afterwards
    monkeypatch.delattr(Slot, "__copy__")
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    monkeypatch.setattr(DialogueStateTracker, "past_states", DialogueStateTracker.past_states)
    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", MessageProcessor._parse_message_with_graph)


def test_install_replaces_rasas_method(monkeypatch):
    _restored_after_the_test(monkeypatch)  # every replaced method put back afterwards
    rasa_speedups.install()
    assert DialogueStateTracker.past_states is rasa_dialogue_states.past_states
    assert DaskGraphRunner.run is rasa_graph_runner.run
    assert RulePolicy._get_possible_keys is rasa_rule_matching.possible_keys
    assert vars(Slot)["__copy__"] is rasa_copies.slot_copy
    assert isinstance(rasa.core.processor.copy, rasa_copies.LogArgumentCopy)
    assert RemoteAction._validate_action_result is rasa_speedups.validate_action_result
    with pytest.raises(ValidationError):
        RemoteAction("action_x", None)._validate_action_result({"events": "slot"})


def test_every_event_type_resolves_to_the_class_rasa_finds():
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert len(names) > 20
    for name in names:
        assert rasa_speedups.resolve_event_type(name) is Event.resolve_by_type(name)


def test_unknown_and_old_event_types_behave_as_in_rasa():
    from rasa.shared.core.events import Event, SlotSet

    assert rasa_speedups.resolve_event_type("topic") is None
    assert rasa_speedups.resolve_event_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        rasa_speedups.resolve_event_type("no_such_event")
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")


def test_an_event_class_defined_later_is_found():
    from rasa.shared.core.events import Event, SlotSet

    rasa_speedups.resolve_event_type("slot")  # the table is built

    class BenchOnlyEvent(SlotSet):
        type_name = "bench_only_event"

    assert rasa_speedups.resolve_event_type("bench_only_event") is BenchOnlyEvent
    assert Event.resolve_by_type("bench_only_event") is BenchOnlyEvent


def test_install_makes_rasa_read_events_through_the_table(monkeypatch):
    from rasa.shared.core.events import Event, UserUttered

    _restored_after_the_test(monkeypatch)
    rasa_speedups.install()
    assert Event.resolve_by_type("user") is UserUttered
    event = Event.from_parameters({"event": "user", "text": "电梯坏了", "parse_data": {}})
    assert isinstance(event, UserUttered) and event.text == "电梯坏了"


# --- buttons' payloads ------------------------------------------------------------------


def _domain_payloads(domain) -> list[str]:
    """Every button payload the domain's responses offer."""
    payloads = set()
    for variants in domain.responses.values():
        for variant in variants:
            for button in variant.get("buttons") or []:
                payload = str(button["payload"]).replace("{{", "{").replace("}}", "}")  # as Rasa renders it
                if payload.startswith("/{"):
                    # The intent itself is filled in by the action (the two categories of
                    # actions/clarify.py): the resident presses e.g. /public_safety, below.
                    continue
                payloads.add(payload)
    return sorted(payloads)


PAYLOAD_VARIANTS = [
    "/affirm",
    "/public_safety",
    "  /deny  ",
    "/affirm@0.42",
    '/inform_place{"place_scope": "home"}',
    '/inform_place{"place_scope": "home", "place": "和园新村4号楼"}',
    '/inform{"phone": "13912345678"}',
    "/inform_place{not json}",
    "/affirm 好的",
    "/no_such_intent",
    "/",
    "//affirm",
    "/affirm{",
    "/@",
    "／affirm",
    "好的 /affirm",
    "",
    "电梯坏了",
]


async def test_a_payload_parses_without_the_pipeline_exactly_as_through_it(agent, monkeypatch):
    """Every button of the domain and odd payloads: the parse of Rasa's pipeline, which runs only when needed."""
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    _restored_after_the_test(monkeypatch)
    original = rasa_speedups._PARSE_ORIGINAL.get("parse", MessageProcessor._parse_message_with_graph)
    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", original)  # Rasa's own, even if installed
    texts = _domain_payloads(agent.domain) + PAYLOAD_VARIANTS
    assert sum(t.startswith("/") for t in texts) > 15 and any("{" in t for t in _domain_payloads(agent.domain))
    expected = {text: await agent.processor.parse_message(UserMessage(text)) for text in texts}

    rasa_speedups.install()
    graph_runs: list[str] = []

    def counted(self, message, tracker, only_output_properties=True):
        graph_runs.append(message.text)
        return original(self, message, tracker, only_output_properties)

    monkeypatch.setitem(rasa_speedups._PARSE_ORIGINAL, "parse", counted)
    for text in texts:
        assert await agent.processor.parse_message(UserMessage(text)) == expected[text], text
    unpacked = [t for t in texts if t not in graph_runs]
    assert set(_domain_payloads(agent.domain)) - {t for t in texts if not t.startswith("/")} <= set(unpacked)
    assert {"/affirm@0.42", '/inform_place{"place_scope": "home"}', "  /deny  ", "/public_safety"} <= set(unpacked)
    assert {"/no_such_intent", "/", "//affirm", "好的 /affirm", "电梯坏了", "／affirm"} <= set(graph_runs)
    assert expected['/inform_place{"place_scope": "home"}']["entities"][0]["value"] == "home"


async def test_the_loaded_classifier_keeps_its_weights_laid_out_for_scoring(agent):
    """No patch: the project's classifier keeps its weights in Fortran order itself (no copy per message)."""
    from rasa.core.channels.channel import UserMessage

    from backend.rasa_ext.nlu_classifier import CalibratedLogisticRegression

    node = next(
        n._component
        for n in agent.processor.graph_runner._instantiated_nodes.values()
        if isinstance(n._component, CalibratedLogisticRegression)
    )
    assert node.clf.coef_.flags.f_contiguous and not node.clf.coef_.flags.c_contiguous
    parse = await agent.processor.parse_message(UserMessage("学府街东头的路灯有三盏不亮了，晚上黑乎乎的"))
    assert parse["intent"]["name"] == "streetlight"
    assert node.clf.coef_.flags.f_contiguous
