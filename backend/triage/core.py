"""The triage decision: kind, category, matter, tier, place scope, and whether to ask.

Input is what the NLU said (Rasa's parse: intent, confidence, ranking) and
the resident's text. Output is :class:`~backend.triage.result.TriageResult`, the shape of
``POST /api/triage``. The bot's actions call :func:`triage` on the tracker's
latest message, so the API, the command line and the conversation agree.
"""

from __future__ import annotations

from typing import Any

from backend import messages
from backend.categories import SCOPES, CategoryTable, default_table
from backend.triage.abuse import read_as_problem
from backend.triage.emergency import emergency_category
from backend.triage.entities import PlaceNames, default_place_names, extract
from backend.triage.place import is_letter, problem_scope, scope_of, topic_of
from backend.triage.result import FALLBACK, LOW_CONFIDENCE, TriageResult, ask_place, not_a_request, requested
from backend.triage.several import PROBLEMS
from backend.triage.told_with_place import problem_told_with_its_place
from backend.triage.two_categories import between_two

EMERGENCY = "emergency"
TOP = 3
# The parse of a message with nothing in it to classify (blank after normalising).
NOTHING_TO_CLASSIFY: dict[str, Any] = {"intent": {"name": FALLBACK, "confidence": 0.0}}


def triage(
    parse: dict[str, Any],
    text: str,
    *,
    table: CategoryTable | None = None,
    names: PlaceNames | None = None,
) -> TriageResult:
    """Decide what a message is from the NLU's parse of it.

    Args:
        parse: Rasa's parse result (``intent`` with ``name`` and ``confidence``,
            optionally ``intent_ranking``).
        text: the resident's message as sent.
        table: the category table (the project's when omitted).
        names: registry place names (the project's when omitted).
    """
    table = table or default_table()
    names = names or default_place_names()
    result = _decide(parse, text, table, names)
    result.top = [
        {"category": str(r["name"]), "probability": round(float(r.get("confidence") or 0.0), 3)}
        for r in parse.get("intent_ranking") or []
        if table.get(str(r.get("name"))) is not None
    ][:TOP]
    result.problems = [dict(p) for p in parse.get(PROBLEMS) or []]
    return result


def _decide(parse: dict[str, Any], text: str, table: CategoryTable, names: PlaceNames) -> TriageResult:
    """:func:`triage` without the ranking."""
    parse = problem_told_with_its_place(parse, text, table, names)
    parse = read_as_problem(parse, text, table)  # "破物业又不修电梯，垃圾" is the lift, not abuse
    intent = (parse.get("intent") or {}).get("name") or FALLBACK
    confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
    entities = extract(text, names)
    topic = topic_of(text)
    scope = problem_scope(text, topic, entities)
    category = table.get(intent)
    letter = is_letter(text)

    ranking = parse.get("intent_ranking") or []
    if intent == FALLBACK:
        guess = next((table.get(r["name"]) for r in ranking if table.get(r.get("name", ""))), None)
        if letter and guess is not None:
            # A long letter is about something: its best guess, flagged, helps
            # more than "please describe" (the resident has described it).
            return requested(guess.code, table, intent, confidence, scope, entities, topic, low_confidence=True)
        between = between_two(ranking, table, intent, confidence, scope, entities, topic)
        if between is not None:
            return between
        # Not sure what it is. If it is about a place-dependent topic (漏水,
        # 灯, 停车, 吵, 垃圾) and says no place, the place question settles it;
        # otherwise ask for the problem.
        if topic is None or scope is not None:
            return not_a_request(intent, confidence, scope, entities, question=messages.ASK_DESCRIBE)
        in_group = guess.code if guess is not None and guess.place_group == topic else None
        return ask_place(in_group or table.resolve_place(topic, "home"), confidence, entities)

    if intent == EMERGENCY:
        urgent = table.categories[emergency_category(text, parse.get("intent_ranking") or [])]
        return TriageResult(
            EMERGENCY, intent, urgent.code, urgent.matter, "immediate", confidence, scope, False, None, entities
        )
    if category is None:
        return not_a_request(intent, confidence, scope, entities)
    between = None if letter else between_two(ranking, table, intent, confidence, scope, entities, topic)
    if between is not None:
        return between
    if category.place_group and topic == category.place_group and scope is None and not letter:
        return ask_place(intent, confidence, entities)
    return requested(
        category.code, table, intent, confidence, scope, entities, topic, low_confidence=confidence < LOW_CONFIDENCE
    )


def resolve_with_answer(
    intent: str, answer: str, *, table: CategoryTable | None = None
) -> tuple[str | None, str | None]:
    """Category and scope once the resident said where (家里 / 楼道小区 / 马路上).

    Returns ``(None, None)`` when the answer names no place either.
    """
    table = table or default_table()
    category = table.get(intent)
    scope = scope_of(answer) or (answer.strip() if answer.strip() in SCOPES else None)
    if category is None or scope is None:
        return None, scope
    if category.place_group is None:
        return category.code, scope
    return table.resolve_place(category.place_group, scope), scope
