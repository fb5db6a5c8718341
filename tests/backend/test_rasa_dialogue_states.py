"""Dialogue states kept per tracker are exactly the states Rasa computes, and are recomputed when they change."""

from __future__ import annotations

import copy

import pytest
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from backend.rasa_ext.patches import dialogue_states as rasa_dialogue_states

RASAS = DialogueStateTracker.past_states  # Rasa's own, as long as this module is imported before install()
if RASAS is rasa_dialogue_states.past_states:
    RASAS = rasa_dialogue_states._ORIGINAL["past_states"]

SCRIPT = ["你好", "楼下垃圾好几天没人收", "和园新村5号楼", "很急", "/affirm", "我的工单怎么样了", "谢谢", "积分"]


@pytest.fixture
def installed(monkeypatch):
    monkeypatch.setitem(rasa_dialogue_states._ORIGINAL, "past_states", RASAS)
    monkeypatch.setattr(DialogueStateTracker, "past_states", rasa_dialogue_states.past_states)


async def test_every_policy_gets_the_states_rasa_computes(agent, monkeypatch, installed):
    """Each past_states call of the policies in real conversations: the kept answer equals a fresh one."""
    seen: list[tuple[bool, bool]] = []

    def checked(self, domain, omit_unset_slots=False, ignore_rule_only_turns=False, rule_only_data=None):
        fresh = RASAS(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        before = dict(self.__dict__.get(rasa_dialogue_states.CACHE_KEY, {}))
        kept = rasa_dialogue_states.past_states(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        after = self.__dict__[rasa_dialogue_states.CACHE_KEY]
        hit = before.keys() == after.keys() and all(before[k] is after[k] for k in before)
        seen.append((hit, kept == fresh))
        return kept

    monkeypatch.setattr(DialogueStateTracker, "past_states", checked)
    for sender in ("first", "second"):
        for text in SCRIPT:
            await agent.handle_text(text, sender_id=f"states-{sender}")
    hits = sum(hit for hit, _ in seen)
    assert all(same for _, same in seen)
    # Rules and memoization each ask for the states of every prediction; a fifth are asked again unchanged.
    assert len(seen) > 4 * len(SCRIPT) and hits >= len(seen) / 6


def _tracker(agent) -> DialogueStateTracker:
    events = [ActionExecuted("action_listen"), UserUttered("路灯坏了", intent={"name": "report_problem",
              "confidence": 0.9}), SlotSet("report_place", "和园新村4号楼")]  # fmt: skip
    return DialogueStateTracker.from_events("states-unit", events, agent.domain.slots)


def test_states_handed_out_and_changed_leave_the_kept_ones_as_they_were(agent, installed):
    tracker = _tracker(agent)
    first = tracker.past_states(agent.domain)
    expected = copy.deepcopy(first)
    first[-1].clear()
    first[0]["prev_action"] = {"action_name": "changed"}
    assert tracker.past_states(agent.domain) == expected == RASAS(tracker, agent.domain)


def test_a_new_event_or_other_arguments_give_new_states(agent, installed):
    tracker = _tracker(agent)
    before = tracker.past_states(agent.domain)
    tracker.update(ActionExecuted("action_triage_request"))
    after = tracker.past_states(agent.domain)
    assert after != before and after == RASAS(tracker, agent.domain)
    for rule_only_data in ({"slots": ["report_place"], "loops": []}, {"slots": [], "loops": []}):
        ours = tracker.past_states(agent.domain, ignore_rule_only_turns=True, rule_only_data=rule_only_data)
        assert ours == RASAS(tracker, agent.domain, False, True, rule_only_data)
    assert tracker.past_states(agent.domain, omit_unset_slots=True) == RASAS(tracker, agent.domain, True)


def test_a_copied_tracker_carries_no_kept_states(agent, installed):
    tracker = _tracker(agent)
    tracker.past_states(agent.domain)
    duplicate = copy.deepcopy(tracker)
    assert duplicate.__dict__[rasa_dialogue_states.CACHE_KEY] == {}
    assert duplicate.past_states(agent.domain) == RASAS(tracker, agent.domain)
