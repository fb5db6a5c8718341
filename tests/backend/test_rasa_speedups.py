"""The action-answer validation installed into Rasa accepts and refuses exactly what Rasa's own does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from backend import rasa_speedups

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


def test_install_replaces_rasas_method(monkeypatch):
    from rasa.shared.core.events import Event

    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])  # restored afterwards
    rasa_speedups.install()
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

    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    rasa_speedups.install()
    assert Event.resolve_by_type("user") is UserUttered
    event = Event.from_parameters({"event": "user", "text": "电梯坏了", "parse_data": {}})
    assert isinstance(event, UserUttered) and event.text == "电梯坏了"
