"""Unsure between two categories: when triage asks the resident which one it is, with both as buttons.

The classifier's two most likely intents decide it; the place the message
says (or the place question) settles it first where both categories are the
same problem in different places.
"""

from __future__ import annotations

from typing import Any

from backend import messages
from backend.categories import CategoryTable
from backend.triage.result import FALLBACK, LOW_CONFIDENCE, TriageResult, ask_place, requested

# "Unsure between two": the two most likely intents are request categories that
# together hold at least CHOICE_SHARE of the probability, and the first is
# under the fallback threshold (LOW_CONFIDENCE) or less than CHOICE_MARGIN
# ahead of the second. Chosen on the held-out split (tests/nlu_heldout), where
# it asks about few requests and mostly has the right category on a button.
CHOICE_SHARE = 0.6
CHOICE_MARGIN = 0.2


def two_choices(ranking: list[dict[str, Any]], table: CategoryTable) -> list[str]:
    """The two categories the classifier is unsure between, most likely first; empty when it is not.

    Only when both of the two most likely intents are request categories:
    a message that might be a greeting or an emergency is not turned into a
    question about categories.
    """
    ranked = sorted(
        (r for r in ranking if r.get("name") != FALLBACK), key=lambda r: float(r.get("confidence") or 0.0), reverse=True
    )[:2]
    if len(ranked) < 2 or any(table.get(str(r.get("name"))) is None for r in ranked):
        return []
    first, second = (float(r.get("confidence") or 0.0) for r in ranked)
    if first + second < CHOICE_SHARE or (first >= LOW_CONFIDENCE and first - second >= CHOICE_MARGIN):
        return []
    return [str(r["name"]) for r in ranked]


def between_two(
    ranking: list[dict[str, Any]],
    table: CategoryTable,
    intent: str,
    confidence: float,
    scope: str | None,
    entities: dict[str, Any],
    topic: str | None,
) -> TriageResult | None:
    """Ask which of two categories it is, or ``None`` when the classifier is not unsure between two.

    The place decides first: where the message says a place and both
    categories come to the same one there (楼道里漏水: 户内维修 or 楼道), that
    one is the answer; where both are the same problem in different places
    and no place is said, the place question settles it.
    """
    choices = two_choices(ranking, table)
    if not choices:
        return None
    # The categories the problem's topic takes in each place (漏水: 户内维修 / 楼道 / 水电气暖).
    in_places = set(table.place_groups.get(topic or "", {}).values())
    placed = {table.resolve_place(topic, scope) if scope and topic and code in in_places else code for code in choices}
    if len(placed) == 1:
        return requested(placed.pop(), table, intent, confidence, scope, entities, topic, low_confidence=True)
    if scope is None and topic is not None and in_places.issuperset(choices):
        # The answer is resolved through the pending category's place group: it must be the topic's.
        grouped = [code for code in choices if table.categories[code].place_group == topic]
        return ask_place(grouped[0] if grouped else table.resolve_place(topic, "home"), confidence, entities)
    first, second = (table.categories[code].name for code in choices)
    question = messages.ASK_WHICH_CATEGORY.format(first=first, second=second)
    return TriageResult(
        "request", intent, None, None, None, confidence, scope, True, question, entities, choices=choices
    )
