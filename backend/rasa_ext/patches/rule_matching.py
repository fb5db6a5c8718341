"""RulePolicy's rule matching with each rule read once, not once per turn and prediction (installed with the speedups).

For every prediction RulePolicy finds the rules that fit the conversation
(``_get_possible_keys``): for each of the conversation's turns, newest
first, it keeps the rules whose state that many turns back fits the
turn's state. A rule is stored as a JSON string; for each rule and turn
Rasa takes its (cached) parsed states, builds a reversed copy of the list,
and compares the rule state with the turn's, turning every list value
back into a tuple as it goes, a visible share of a Rasa server's busy
time under load (measured in docs/benchmark.md).

Here each rule is prepared once per policy: its states reversed, and
each state reduced to the checks Rasa's ``_does_rule_match_state`` makes
(a value the turn must have, with lists as tuples; or a feature that must
not be set); a value that checks nothing (empty, None) is left out, as
Rasa lets it pass. :func:`possible_keys` then applies Rasa's own rules of
``_is_rule_applicable`` to them: a rule shorter than the turns already
looked at fits; a conversation start (no previous action) fits only a
rule's start and the other way round; otherwise every check must hold.

Rasa 3.6.21 is the last open-source release, so this cannot be changed
upstream; a test compares every rule against every turn of real
conversations with Rasa's own functions, and the keys found.
"""

from __future__ import annotations

from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET

RULES_KEY = "_santong_rules"  # in the policy's __dict__: {rule key: its prepared states, newest first}
_ORIGINAL: dict[str, Any] = {}

# One feature's check: (feature, value the turn must have, or None: must not be set).
Check = tuple[str, Any]
# One rule state: (whether it has a previous action, [(part of the state, [checks])]).
PreparedState = tuple[bool, list[tuple[str, list[Check]]]]


def prepare_state(rule_state: dict[str, dict[str, Any]]) -> PreparedState:
    """The checks ``_does_rule_match_state`` makes of a turn against ``rule_state``, worked out once."""
    parts = []
    for part, features in rule_state.items():
        checks: list[Check] = []
        for feature, value in features.items():
            if isinstance(value, list):  # JSON turned the tuples into lists
                value = tuple(value)
            if value == SHOULD_NOT_BE_SET:
                checks.append((feature, None))
            elif value:
                checks.append((feature, value))
        parts.append((part, checks))
    return bool(rule_state.get(PREVIOUS_ACTION)), parts


def state_fits(prepared: PreparedState, conversation_state: dict[str, dict[str, Any]]) -> bool:
    """``_does_rule_match_state``: every value the rule sets is the turn's; what it must not set, the turn has not."""
    for part, checks in prepared[1]:
        features = conversation_state.get(part, {})
        for feature, value in checks:
            found = features.get(feature)
            if value is None:
                if found and found != SHOULD_NOT_BE_SET:
                    return False
            elif found != value:
                return False
    return True


def _prepared(policy: Any, rule_key: str, rules: dict[str, list[PreparedState]] | None = None) -> list[PreparedState]:
    """The rule's prepared states, newest first, kept in ``rules`` (the policy's, unless given)."""
    if rules is None:
        rules = policy.__dict__.setdefault(RULES_KEY, {})
    prepared = rules.get(rule_key)
    if prepared is None:
        states = policy._rule_key_to_state(rule_key)
        prepared = rules[rule_key] = [prepare_state(state) for state in reversed(states)]
    return prepared


def possible_keys(self: Any, lookup: dict[str, str], states: list[dict[str, dict[str, Any]]]) -> set[str]:
    """``RulePolicy._get_possible_keys``: the rules of ``lookup`` that fit ``states``, each rule prepared once."""
    rules = self.__dict__.setdefault(RULES_KEY, {})
    keys = [(key, _prepared(self, key, rules)) for key in lookup]
    for turn, state in enumerate(reversed(states)):
        has_previous_action = bool(state.get(PREVIOUS_ACTION))
        kept = []
        for key, rule in keys:
            if turn >= len(rule):
                kept.append((key, rule))  # the rule is shorter than the turns looked at: it fits
                continue
            rule_has_previous_action, _ = rule[turn]
            if not rule_has_previous_action and not has_previous_action:
                kept.append((key, rule))  # both are a conversation's start
            elif rule_has_previous_action and has_previous_action and state_fits(rule[turn], state):
                kept.append((key, rule))
        keys = kept
    return {key for key, _ in keys}


def install() -> None:
    """Make RulePolicy find its rules with :func:`possible_keys`."""
    from rasa.core.policies.rule_policy import RulePolicy

    if RulePolicy._get_possible_keys is not possible_keys:
        _ORIGINAL["possible_keys"] = RulePolicy._get_possible_keys
        RulePolicy._get_possible_keys = possible_keys
