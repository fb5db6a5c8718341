"""Slot copies equal the pickle protocol's; the processor's log-argument copies are skipped only when unread."""

from __future__ import annotations

import ast
import copy
import inspect
import logging

import pytest
import rasa.core.processor
import structlog
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.slots import Slot, TextSlot
from rasa.shared.core.trackers import DialogueStateTracker

from backend.rasa_ext.patches import copies as rasa_copies


def _pickle_way(obj):
    """What copy.copy does for an object without a __copy__ of its own."""
    return copy._reconstruct(obj, None, *obj.__reduce_ex__(4))


@pytest.fixture(scope="module")
def domain():
    return Domain.load("domain")


@pytest.fixture
def installed(monkeypatch):
    monkeypatch.setattr(Slot, "__copy__", rasa_copies.slot_copy, raising=False)
    for module in rasa_copies.logging_modules():
        monkeypatch.setattr(module, "copy", rasa_copies.LogArgumentCopy(module))


def test_every_slot_of_the_domain_copies_as_the_pickle_protocol_copies_it(domain, installed):
    filled = DialogueStateTracker.from_events(
        "copies", [SlotSet("report_place", "和园新村5号楼"), SlotSet("report_phone", "13800138000")], domain.slots
    )
    slots = list(domain.slots) + list(filled.slots.values())
    assert len({type(s) for s in slots}) >= 4
    for slot in slots:
        ours, theirs = copy.copy(slot), _pickle_way(slot)
        assert type(ours) is type(slot) and ours is not slot and ours.__dict__ is not slot.__dict__
        assert ours.__dict__ == theirs.__dict__ == slot.__dict__
        assert all(ours.__dict__[k] is slot.__dict__[k] for k in slot.__dict__)  # shallow, as copy.copy is
    ours = copy.copy(filled.slots["report_place"])
    ours.value = "别处"
    assert filled.slots["report_place"].value == "和园新村5号楼"


class _PickyTextSlot(TextSlot):
    """A slot class that customises pickling: copied the pickle way, its __setstate__ called."""

    def __getstate__(self):
        return {**self.__dict__, "restored": False}

    def __setstate__(self, state):
        self.__dict__.update(state, restored=True)


class _SlottedTextSlot(TextSlot):
    __slots__ = ("extra",)


def test_a_slot_class_that_customises_pickling_is_copied_the_pickle_way(installed):
    picky = _PickyTextSlot("picky", mappings=[])
    assert copy.copy(picky).__dict__["restored"] is True
    slotted = _SlottedTextSlot("slotted", mappings=[])
    slotted.extra = "kept"
    assert copy.copy(slotted).extra == "kept"
    assert not rasa_copies._plain(_PickyTextSlot) and not rasa_copies._plain(_SlottedTextSlot)
    assert rasa_copies._plain(TextSlot)


def test_a_tracker_built_with_the_quick_copies_has_the_same_state(domain, installed, monkeypatch):
    events = [
        UserUttered("路灯坏了", intent={"name": "streetlight", "confidence": 0.9}),
        SlotSet("report_place", "和园新村4号楼"),
    ]
    quick = DialogueStateTracker.from_events("copies", events, domain.slots)
    monkeypatch.delattr(Slot, "__copy__")
    slow = DialogueStateTracker.from_events("copies", events, domain.slots)
    assert quick.current_state() == slow.current_state()
    assert quick.past_states(domain) == slow.past_states(domain)


@pytest.mark.parametrize("module", rasa_copies.logging_modules(), ids=lambda m: m.__name__)
def test_every_copy_in_the_logging_modules_is_an_argument_of_a_debug_line(module):
    """The copies may be skipped only because nothing else reads them; a Rasa change here must fail this test."""
    tree = ast.parse(inspect.getsource(module))
    in_debug: set[int] = set()
    for node in ast.walk(tree):
        func = getattr(node, "func", None)
        if isinstance(node, ast.Call) and isinstance(func, ast.Attribute) and func.attr == "debug":
            if isinstance(func.value, ast.Name) and func.value.id == "structlogger":
                in_debug.update(id(n) for n in ast.walk(node))
    uses = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "copy"
    ]
    assert uses
    assert all(id(n) in in_debug and n.attr == "deepcopy" for n in uses)


@pytest.mark.parametrize(
    ("level", "dropped"),
    [(logging.DEBUG, False), (logging.INFO, True), (logging.WARNING, True), (logging.NOTSET, False)],
)
def test_the_copy_is_skipped_only_when_the_debug_line_returns_at_once(monkeypatch, level, dropped):
    logger = structlog.wrap_logger(None, wrapper_class=structlog.make_filtering_bound_logger(level))
    monkeypatch.setattr(rasa.core.processor, "structlogger", logger)
    events = [{"event": "slot", "name": "report_place", "value": ["和园"]}]
    copied = rasa_copies.LogArgumentCopy(rasa.core.processor).deepcopy(events)
    assert rasa_copies.debug_lines_dropped(rasa.core.processor) is dropped
    assert copied == events and (copied is events) is dropped


def test_a_logger_of_another_kind_gets_real_copies(monkeypatch):
    monkeypatch.setattr(rasa.core.processor, "structlogger", structlog.stdlib.get_logger("x"))
    events = [{"event": "bot", "text": "好的"}]
    assert rasa_copies.LogArgumentCopy(rasa.core.processor).deepcopy(events) is not events


def test_install_gives_slots_their_copy_and_the_logging_modules_theirs(monkeypatch):
    for module in rasa_copies.logging_modules():
        monkeypatch.setattr(module, "copy", copy)
    monkeypatch.setattr(Slot, "__copy__", None, raising=False)  # removed again when the test ends
    monkeypatch.delattr(Slot, "__copy__")
    rasa_copies.install()
    rasa_copies.install()
    assert vars(Slot)["__copy__"] is rasa_copies.slot_copy
    copies = [module.copy for module in rasa_copies.logging_modules()]
    assert all(isinstance(c, rasa_copies.LogArgumentCopy) for c in copies) and len(copies) == 4
    assert [c.module for c in copies] == rasa_copies.logging_modules()
