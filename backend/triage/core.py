"""The triage decision: kind, category, matter, tier, place scope, and whether to ask.

Input is what the NLU said (Rasa's parse: intent, confidence, ranking) and
the resident's text. Output is :class:`TriageResult`, the shape of
``POST /api/triage``. The bot's actions call :func:`triage` on the tracker's
latest message, so the API, the command line and the conversation agree.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from backend import messages
from backend.categories import SCOPES, CategoryTable, default_table
from backend.triage.abuse import read_as_problem
from backend.triage.emergency import emergency_category
from backend.triage.entities import BUILDING, UNIT, PlaceNames, default_place_names, extract
from backend.triage.place import is_letter, problem_scope, scope_of, topic_of
from backend.triage.several import PROBLEMS

FALLBACK = "nlu_fallback"
EMERGENCY = "emergency"
TOP = 3
# The parse of a message with nothing in it to classify (blank after normalising).
NOTHING_TO_CLASSIFY: dict[str, Any] = {"intent": {"name": FALLBACK, "confidence": 0.0}}


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
    parse = _problem_told_with_its_place(parse, text, table, names)
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
            return _request(guess.code, table, intent, confidence, scope, entities, topic, low_confidence=True)
        between = _between_two(ranking, table, intent, confidence, scope, entities, topic)
        if between is not None:
            return between
        # Not sure what it is. If it is about a place-dependent topic (漏水,
        # 灯, 停车, 吵, 垃圾) and says no place, the place question settles it;
        # otherwise ask for the problem.
        if topic is None or scope is not None:
            return _other(intent, confidence, scope, entities, question=messages.ASK_DESCRIBE)
        in_group = guess.code if guess is not None and guess.place_group == topic else None
        return _ask_place(in_group or table.resolve_place(topic, "home"), confidence, entities)

    if intent == EMERGENCY:
        urgent = table.categories[emergency_category(text, parse.get("intent_ranking") or [])]
        return TriageResult(
            EMERGENCY, intent, urgent.code, urgent.matter, "immediate", confidence, scope, False, None, entities
        )
    if category is None:
        return _other(intent, confidence, scope, entities)
    between = None if letter else _between_two(ranking, table, intent, confidence, scope, entities, topic)
    if between is not None:
        return between
    if category.place_group and topic == category.place_group and scope is None and not letter:
        return _ask_place(intent, confidence, entities)
    return _request(
        category.code, table, intent, confidence, scope, entities, topic, low_confidence=confidence < LOW_CONFIDENCE
    )


# Below this classifier confidence a category is reported as a guess (``low_confidence``).
LOW_CONFIDENCE = 0.5
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


def _between_two(
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
        return _request(placed.pop(), table, intent, confidence, scope, entities, topic, low_confidence=True)
    if scope is None and topic is not None and in_places.issuperset(choices):
        # The answer is resolved through the pending category's place group: it must be the topic's.
        grouped = [code for code in choices if table.categories[code].place_group == topic]
        return _ask_place(grouped[0] if grouped else table.resolve_place(topic, "home"), confidence, entities)
    first, second = (table.categories[code].name for code in choices)
    question = messages.ASK_WHICH_CATEGORY.format(first=first, second=second)
    return TriageResult(
        "request", intent, None, None, None, confidence, scope, True, question, entities, choices=choices
    )


def _request(
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


PLACE_ANSWER = "inform_place"
# A place answer with at least this many characters besides the place, and a
# request category at least this likely, is a short report, not an answer.
RESIDUE_CHARS = 3
# The classifier's calibrated probabilities are sharp (a temperature under 1), so a
# runner-up of a few per cent is real evidence beside a place the resident named.
RUNNER_UP_CONFIDENCE = 0.03
_NOT_CONTENT = re.compile(r"[\s\d０-９,，.。!！?？、~～:：;；()（）号楼栋幢单元室层座]")


def place_residue(text: str, names: PlaceNames) -> str:
    """What a message says besides the registry names and building / unit / room numbers in it."""
    for name in sorted([*names.estates, *names.roads, *names.places], key=len, reverse=True):
        text = text.replace(name, "")
    text = BUILDING.sub("", UNIT.sub("", text))
    return _NOT_CONTENT.sub("", text)


def _names_a_place(text: str, names: PlaceNames) -> bool:
    found = extract(text, names)
    return any(found.get(key) for key in ("estate", "road", "place", "building"))


def _problem_told_with_its_place(
    parse: dict[str, Any], text: str, table: CategoryTable, names: PlaceNames
) -> dict[str, Any]:
    """A place answer that also tells a problem (望江新村9号楼单元门坏了) is a report.

    Short reports that name a registry place look like answers to "问题在哪儿";
    when the message says more than the place and a request category is a
    close runner-up, the parse is read as that category. So is a parse the
    fallback took because the place answer and the category were too close
    to call (俺们枫林苑3号楼的电悌又趴窝了，老人家上不去).
    """
    told = (parse.get("intent") or {}).get("name")
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK]
    if told == FALLBACK and ranking and _names_a_place(text, names):
        told = ranking[0].get("name")
    if told != PLACE_ANSWER or len(place_residue(text, names)) < RESIDUE_CHARS:
        return parse
    for entry in ranking:
        if table.get(str(entry.get("name"))) is not None:
            if float(entry.get("confidence") or 0.0) >= RUNNER_UP_CONFIDENCE:
                return {**parse, "intent": {"name": entry["name"], "confidence": entry["confidence"]}}
            break
    return parse


def _ask_place(intent: str, confidence: float, entities: dict[str, Any]) -> TriageResult:
    """A request whose category waits for the place question's answer."""
    return TriageResult("request", intent, None, None, None, confidence, None, True, messages.ASK_PLACE_SCOPE, entities)


def _other(
    intent: str, confidence: float, scope: str | None, entities: dict[str, Any], question: str | None = None
) -> TriageResult:
    """Not a request (a greeting, a points question, …), or not understood when ``question`` asks for it."""
    return TriageResult("other", intent, None, None, None, confidence, scope, question is not None, question, entities)


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
