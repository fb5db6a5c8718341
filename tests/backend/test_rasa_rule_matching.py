"""RulePolicy's rules prepared once find exactly the rules Rasa's own matching finds."""

from __future__ import annotations

import itertools

import pytest
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import SHOULD_NOT_BE_SET

from backend.rasa_ext.patches import rule_matching as rasa_rule_matching

RASAS = RulePolicy._get_possible_keys  # Rasa's own, as long as this module is imported before install()
if RASAS is rasa_rule_matching.possible_keys:
    RASAS = rasa_rule_matching._ORIGINAL["possible_keys"]

SCRIPT = [
    "你好",
    "楼下垃圾好几天没人收",
    "/report_start",
    "算了不报了",
    "小区门口路灯坏了",
    "/report_start",
    "你是机器人吗",
    "和园新村5号楼",
    "很急",
    "13800138000",
    "/deny",
    "/affirm",
    "我的工单怎么样了",
    "积分有多少",
    "积分能换什么",
    "🙂🙂",
    "谢谢",
    "再见",
]


def _policy(agent) -> RulePolicy:
    runner = agent.processor.graph_runner
    return next(n._component for n in runner._instantiated_nodes.values() if isinstance(n._component, RulePolicy))


async def test_real_conversations_find_the_same_rules_and_each_rule_fits_the_same_turns(agent, monkeypatch):
    policy = _policy(agent)
    calls: list[tuple[set[str], set[str]]] = []
    checked = 0

    def both(self, lookup, states):
        nonlocal checked
        theirs = RASAS(self, lookup, states)
        ours = rasa_rule_matching.possible_keys(self, lookup, states)
        calls.append((theirs, ours))
        for key, (turn, state) in itertools.product(lookup, enumerate(reversed(states))):
            prepared = rasa_rule_matching._prepared(self, key)
            rasas = self._is_rule_applicable(key, turn, state)
            if turn < len(prepared) and prepared[turn][0] and state.get("prev_action"):
                assert rasa_rule_matching.state_fits(prepared[turn], state) == rasas, (key, turn, state)
                checked += 1
        return theirs

    monkeypatch.setattr(RulePolicy, "_get_possible_keys", both)
    for sender in ("rules-a", "rules-b"):
        for text in SCRIPT:
            await agent.handle_text(text, sender_id=sender)
    assert len(calls) > len(SCRIPT) and len(policy.lookup["rules"]) > 20
    assert all(theirs == ours for theirs, ours in calls)
    assert sum(bool(theirs) for theirs, _ in calls) > len(SCRIPT) / 2  # rules did fit, not only none
    assert checked > 1000


VALUES = [None, "", "x", "y", ["a", "b"], ("a", "b"), ["a"], 1.0, 0.0, True, SHOULD_NOT_BE_SET]


@pytest.mark.parametrize("rule_value", VALUES)
def test_a_feature_check_agrees_with_rasa_for_every_pair_of_values(rule_value):
    for turn_value in VALUES:
        rule = {"slots": {"s": rule_value}, "prev_action": {"action_name": "a"}}
        for turn in ({"slots": {"s": turn_value}, "prev_action": {"action_name": "a"}}, {}, {"slots": {}}):
            theirs = RulePolicy._does_rule_match_state(rule, turn)
            ours = rasa_rule_matching.state_fits(rasa_rule_matching.prepare_state(rule), turn)
            assert ours == theirs, (rule_value, turn)


def test_each_rule_is_prepared_once_per_policy(agent, monkeypatch):
    policy = _policy(agent)
    states = [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}]
    rasas = RASAS(policy, policy.lookup["rules"], states)
    monkeypatch.setitem(policy.__dict__, rasa_rule_matching.RULES_KEY, {})
    parsed = []
    real = policy._rule_key_to_state

    def counting(key):
        parsed.append(key)
        return real(key)

    monkeypatch.setattr(policy, "_rule_key_to_state", counting)
    first = rasa_rule_matching.possible_keys(policy, policy.lookup["rules"], states)
    second = rasa_rule_matching.possible_keys(policy, policy.lookup["rules"], states)
    assert first == second == rasas and first
    assert sorted(parsed) == sorted(policy.lookup["rules"])


def test_install_replaces_rasas_matching(monkeypatch):
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RASAS)
    monkeypatch.setitem(rasa_rule_matching._ORIGINAL, "possible_keys", RASAS)
    rasa_rule_matching.install()
    rasa_rule_matching.install()
    assert RulePolicy._get_possible_keys is rasa_rule_matching.possible_keys
    assert rasa_rule_matching._ORIGINAL["possible_keys"] is RASAS


def test_conversation_starts_fit_only_rule_starts_and_the_other_way_round(agent):
    """Rules written by hand against made-up turns, beside Rasa's matching: starts, lengths, unset slots."""
    import json

    listen_greet = {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}
    after_utter = {"prev_action": {"action_name": "utter_x"}}
    start_with_slot = {"slots": {"report_place": (1.0,)}}
    rules = [
        [{}, listen_greet],  # conversation_start: true
        [listen_greet],
        [after_utter, listen_greet],
        [start_with_slot, listen_greet],
        [{"prev_action": {"action_name": "utter_x"}, "slots": {"report_place": SHOULD_NOT_BE_SET}}, listen_greet],
        [{}, {}, listen_greet],
    ]
    lookup = {json.dumps(rule, sort_keys=True): "utter_hi" for rule in rules}
    conversations = [
        [listen_greet],
        [{}, listen_greet],
        [after_utter, listen_greet],
        [start_with_slot, listen_greet],
        [{**after_utter, "slots": {"report_place": (1.0,)}}, listen_greet],
        [{}, after_utter, listen_greet],
        [after_utter, {}, listen_greet],
        [{}, {}, listen_greet],
    ]
    policy = _policy(agent)
    found = []
    for states in conversations:
        theirs = RASAS(policy, lookup, states)
        assert rasa_rule_matching.possible_keys(policy, lookup, states) == theirs, states
        found.append(len(theirs))
    assert len(set(found)) > 2  # different conversations fit different rules
