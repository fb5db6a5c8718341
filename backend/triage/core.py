"""The triage decision: kind, category, matter, tier, place scope, and whether to ask.

Input is what the NLU said (Rasa's parse: intent, confidence, ranking) and
the resident's text. Output is :class:`TriageResult`, the shape of
``POST /api/triage``. The bot's actions call :func:`triage` on the tracker's
latest message, so the API, the command line and the conversation agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from backend import messages
from backend.categories import CategoryTable, default_table
from backend.triage.entities import PlaceNames, extract
from backend.triage.place import scope_of, topic_of

FALLBACK = "nlu_fallback"


@dataclass
class TriageResult:
    """What the assistant understood of one message."""

    kind: str
    intent: str
    category: str | None
    matter: str | None
    tier: str | None
    confidence: float
    place_scope: str | None
    needs_clarification: bool
    question: str | None
    entities: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


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
    intent = (parse.get("intent") or {}).get("name") or FALLBACK
    confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
    entities = extract(text, names)
    scope = scope_of(text, entities)
    category = table.get(intent)

    if intent == FALLBACK:
        # Not sure what it is. If it is about a place-dependent topic (漏水,
        # 灯, 停车, 吵, 垃圾) and says no place, the place question settles it;
        # otherwise ask for the problem.
        topic = topic_of(text)
        if topic is not None and scope is None:
            ranking = parse.get("intent_ranking") or []
            guess = next((table.get(r["name"]) for r in ranking if table.get(r.get("name", ""))), None)
            in_group = guess is not None and guess.place_group == topic
            fallback_guess = guess.code if in_group and guess else table.resolve_place(topic, "home")
            return TriageResult(
                kind="request",
                intent=fallback_guess,
                category=None,
                matter=None,
                tier=None,
                confidence=confidence,
                place_scope=None,
                needs_clarification=True,
                question=messages.ASK_PLACE_SCOPE,
                entities=entities,
            )
        return TriageResult("other", intent, None, None, None, confidence, scope, True, messages.ASK_DESCRIBE, entities)

    if category is None:
        return TriageResult("other", intent, None, None, None, confidence, scope, False, None, entities)

    code = category.code
    needs_clarification = False
    if category.place_group:
        topic = topic_of(text)
        if scope is not None and topic == category.place_group:
            # The message says where: the place decides (taxonomy boundary rule).
            code = table.resolve_place(category.place_group, scope)
        elif scope is None and topic == category.place_group:
            needs_clarification = True
    resolved = table.categories[code]
    if needs_clarification:
        return TriageResult(
            "request", intent, None, None, None, confidence, None, True, messages.ASK_PLACE_SCOPE, entities
        )
    return TriageResult(
        kind="request",
        intent=intent,
        category=resolved.code,
        matter=resolved.matter,
        tier=resolved.tier,
        confidence=confidence,
        place_scope=scope,
        needs_clarification=False,
        question=None,
        entities=entities,
    )


def resolve_with_answer(
    intent: str, answer: str, *, table: CategoryTable | None = None
) -> tuple[str | None, str | None]:
    """Category and scope once the resident said where (家里 / 楼道小区 / 马路上).

    Returns ``(None, None)`` when the answer names no place either.
    """
    table = table or default_table()
    category = table.get(intent)
    scope = scope_of(answer) or {"home": "home", "estate": "estate", "public": "public"}.get(answer.strip())
    if category is None or scope is None:
        return None, scope
    if category.place_group is None:
        return category.code, scope
    return table.resolve_place(category.place_group, scope), scope
