"""Loaded objects are kept out of full garbage collections, and a replaced model is still freed.

The model test loads the trained model again in this process (a few
seconds); the others need no model.
"""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from backend import gc_pauses


class _Cycle:
    """An object that refers to itself: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


def _frozen(obj: object) -> bool:
    """Whether ``obj`` is in the permanent generation (tracked, yet in none that gc collects)."""
    return gc.is_tracked(obj) and not any(o is obj for o in gc.get_objects())


@pytest.fixture(autouse=True)
def nothing_frozen_after():
    """Each test starts and ends with nothing frozen (the test process must not keep its garbage)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_freeze_keeps_what_lives_out_of_collections_and_collects_the_garbage_first():
    kept = _Cycle()
    garbage = _Cycle()
    gone = weakref.ref(garbage)
    del garbage

    assert gc_pauses.freeze() == gc.get_freeze_count() > 0

    assert gone() is None  # collected before freezing, not frozen with the rest
    assert _frozen(kept)
    later = _Cycle()
    assert not _frozen(later)  # what comes afterwards is collected as before


async def test_freeze_soon_waits_on_the_running_loop():
    gc_pauses.freeze_soon(0.05)
    assert gc.get_freeze_count() == 0  # not during the call: the caller's step goes on first
    await asyncio.sleep(0.3)
    assert gc.get_freeze_count() > 0


def test_a_loaded_model_is_frozen_and_the_model_it_replaced_is_freed(agent, monkeypatch):
    from rasa.core.agent import Agent

    monkeypatch.setattr(Agent, "load_model", Agent.load_model)  # restored after the test
    gc_pauses.install_for_rasa()
    gc_pauses.install_for_rasa()  # a second install does not wrap twice
    assert getattr(Agent.load_model, "__wrapped_for_gc__", False)
    assert not getattr(Agent.load_model.__wrapped__, "__wrapped_for_gc__", False)

    previous = _Cycle()  # stands for the last model's objects, frozen after its load
    freed = weakref.ref(previous)
    gc.collect()
    gc.freeze()
    del previous
    gc.collect()
    assert freed() is not None  # frozen cycles wait: why a load must unfreeze first

    model = agent.processor.model_path
    agent.load_model(model)  # no loop runs here: frozen at once

    assert freed() is None
    assert _frozen(agent.processor)
    assert _frozen(agent.processor.graph_runner)
    assert gc.get_freeze_count() > 100_000  # the model's objects, not a handful


def test_the_action_server_freezes_after_registering_its_actions(monkeypatch):
    from rasa_sdk.executor import ActionExecutor

    monkeypatch.setattr(ActionExecutor, "register_package", ActionExecutor.register_package)
    gc_pauses.install_for_action_server()
    gc_pauses.install_for_action_server()
    executor = ActionExecutor()
    executor.register_package("actions")

    assert "action_submit_report" in executor.actions
    assert _frozen(executor.actions)
