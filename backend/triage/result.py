"""What triage understood of one message (:class:`TriageResult`), and the three shapes it takes.

A request of a category (moved by the place where the category depends on
it), a request waiting for the place question's answer, or not a request;
the decision between them is :func:`backend.triage.core.triage`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from backend import messages
from backend.categories import CategoryTable

# Rasa's intent for a message no intent fits well enough (the fallback classifier's).
FALLBACK = "nlu_fallback"
# Below this classifier confidence a category is reported as a guess (``low_confidence``).
LOW_CONFIDENCE = 0.5


@dataclass
class TriageResult:
    """What the assistant understood of one message; also the schema of ``POST /api/triage``.

    ``category``, ``matter`` and ``tier`` are null when ``kind`` is ``other``
    or while the place question is open (``needs_clarification``).
    ``low_confidence`` marks a category that is a best guess to be confirmed:
    a long letter whose place could not be read, or a classifier not sure of it.
    ``top`` lists the classifier's three most likely categories with their
    (calibrated) probabilities, before the place moved any of them.
    ``kind`` is ``emergency`` for fire, gas, someone trapped or hurt: call first,
    then an immediate ticket of ``category``.
    ``choices`` holds two category codes when the classifier is unsure between
    them (see :func:`two_choices`): ``question`` then asks which one it is, and
    ``category`` stays null until the resident picks.
    ``problems`` lists the problems of a message that tells several (category,
    name, summary, text, confidence; see :mod:`backend.triage.several`), and is
    empty for a message about one thing.
    """

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
    low_confidence: bool = False
    top: list[dict[str, Any]] = field(default_factory=list)
    choices: list[str] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def requested(
    code: str,
    table: CategoryTable,
    intent: str,
    confidence: float,
    scope: str | None,
    entities: dict[str, Any],
    topic: str | None,
    *,
    low_confidence: bool,
) -> TriageResult:
    """A request of category ``code``, moved by the place when the category depends on it.

    Where the message says the place of a place-dependent problem, the place
    decides (taxonomy boundary rule); a letter that does not say it keeps the
    classifier's category, flagged as a guess.
    """
    category = table.categories[code]
    if category.place_group and topic == category.place_group:
        if scope is None:
            low_confidence = True
        else:
            code = table.resolve_place(category.place_group, scope)
    resolved = table.categories[code]
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
        low_confidence=low_confidence,
    )


def ask_place(intent: str, confidence: float, entities: dict[str, Any]) -> TriageResult:
    """A request whose category waits for the place question's answer."""
    return TriageResult("request", intent, None, None, None, confidence, None, True, messages.ASK_PLACE_SCOPE, entities)


def not_a_request(
    intent: str, confidence: float, scope: str | None, entities: dict[str, Any], question: str | None = None
) -> TriageResult:
    """Not a request (a greeting, a points question, …), or not understood when ``question`` asks for it."""
    return TriageResult("other", intent, None, None, None, confidence, scope, question is not None, question, entities)
