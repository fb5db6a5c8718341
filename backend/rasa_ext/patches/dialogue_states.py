"""A conversation's dialogue states worked out once per turn, not once per policy (installed with the speedups).

To predict the next action Rasa 3.6 runs its policies (rules, memoization)
on the same tracker, and each asks it for its past states:
``tracker.past_states(domain, …)`` replays the whole conversation from its
first event to build one state per turn, several times per message (the
tracker grows between the message's predictions; rules ignore rule-only
turns, memoization does not). The replays were a large share of the Rasa
server's CPU (measured in docs/benchmark.md).

:func:`past_states` keeps the answer on the tracker itself, per set of
arguments, and hands out a fresh copy of it while the tracker still holds
the same events: as many as when it was computed and the same last event
object (trackers only grow; an event added, or one dropped at a
``max_event_history`` limit, changes that). It is also bound to the domain
it was computed for. ``rule_only_data`` is compared by value, and ignored
as Rasa ignores it when rule-only turns are not being removed.

Rasa 3.6.21 is the last open-source release, so this cannot be fixed
upstream; a test compares every state with Rasa's own.
"""

from __future__ import annotations

from typing import Any

CACHE_KEY = "_santong_past_states"  # in the tracker's __dict__: a _StatesCache
_ORIGINAL: dict[str, Any] = {}


class _StatesCache(dict):
    """{arguments: (domain, number of events, last event, states)}; a copied or pickled tracker starts empty.

    (So ``copy.deepcopy(tracker)`` copies neither the domain nor the states.)
    """

    def __copy__(self) -> _StatesCache:
        return _StatesCache()

    def __deepcopy__(self, memo: dict[int, Any]) -> _StatesCache:
        return _StatesCache()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_StatesCache, ())


def _copied(states: list[dict[str, dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
    """A copy the caller may change (Rasa's featurizers edit the last state in place).

    A state maps a part (user, prev_action, active_loop, slots) to a dict
    of strings and tuples, so copying the two levels of dicts copies every
    mutable part.
    """
    return [{part: dict(features) for part, features in state.items()} for state in states]


def past_states(
    self: Any,
    domain: Any,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[dict[str, dict[str, Any]]]:
    """``DialogueStateTracker.past_states``, computed once per tracker state and set of arguments."""
    events = self.events
    last = events[-1] if events else None
    rules = repr(sorted((rule_only_data or {}).items())) if ignore_rule_only_turns else None
    key = (omit_unset_slots, ignore_rule_only_turns, rules)
    cache = self.__dict__.get(CACHE_KEY)
    if cache is None:
        cache = self.__dict__[CACHE_KEY] = _StatesCache()
    kept = cache.get(key)
    if kept is not None and kept[0] is domain and kept[1] == len(events) and kept[2] is last:
        return _copied(kept[3])
    states = _ORIGINAL["past_states"](self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    cache[key] = (domain, len(events), last, _copied(states))
    return states


def install() -> None:
    """Make every tracker's ``past_states`` go through :func:`past_states`."""
    from rasa.shared.core.trackers import DialogueStateTracker

    if DialogueStateTracker.past_states is not past_states:
        _ORIGINAL["past_states"] = DialogueStateTracker.past_states
        DialogueStateTracker.past_states = past_states
