"""Several problems in one message: a noisy barbecue shop *and* the rubbish outside it.

A resident often tells two things at once. The whole message's parse names
one category, so the other would be lost. Here the message is cut into
clauses (:func:`segments`), each clause is classified on its own (by the
caller, with the same NLU, all clauses in one batch), and :func:`problems_of` keeps two or more
problems only when clauses classify *confidently* into categories with
different handlers; a category that depends on the place (a noise, rubbish,
a light) counts only in a clause that names its topic. A long letter about one thing (漏水, then 找了物业, then
不管) stays one problem: a clause about who did not help, or a runner-up
topic the classifier is unsure of, never splits it. How often a held-out
single-problem message is wrongly split is in docs/nlu-pipeline.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from backend.categories import CategoryTable, default_table
from backend.triage.entities import extract
from backend.triage.place import TOPIC_WORDS, problem_scope, topic_of

logger = logging.getLogger(__name__)

# A clause is classified only when it holds at least this many characters of content.
CLAUSE_CHARS = 5
# Each problem needs a clause its category holds with at least this (calibrated) probability.
CLAUSE_CONFIDENCE = 0.75
# A message longer than this is a letter: one petition, handled as one case by whoever reads it whole.
# Its sentences are not parsed again (up to eight more parses would put a letter far past the
# 30 ms p95 of issue 24); the two-problem messages residents type in a chat are shorter.
LETTER_CHARS = 200
# At most this many clauses are classified (a 2,000-character letter is one problem told at length).
MAX_CLAUSES = 8
# A message of one sentence up to this long is cut at its commas too (路灯坏了，电梯也卡住了).
SHORT_CHARS = 60
# The line saying a problem back is cut to this many characters.
SUMMARY_CHARS = 18
# Categories that say who failed to help or ask a general question; a letter about any
# problem has such clauses ("找了物业也不管"), so they never count as a second problem.
NEVER_SECOND = frozenset({"property_service", "other_public", "policy_service", "estate_renewal"})
# Only problems a ticket is offered for split a message: a private matter beside a public one is
# nearly always its consequence (湿衣服一直滴水, 家里的碗都在跳) or a wish for help with it.
SPLITTING_MATTERS = ("public", "shared")
# A problem needs a part of at least this many characters that tells it: a consequence
# (楼下都是味, 晚上蚊子咬死人) is shorter than a problem with its own subject.
ANCHOR_CHARS = 8

# The key of a parse that carries the problems (a list of :meth:`Problem.as_dict`, empty for one problem).
PROBLEMS = "problems"
FALLBACK = "nlu_fallback"

_SENTENCE = re.compile(r"[。！？!?；;\n]+|[，,\s]*(?=还有|另外|再就是|再一个|除此之外|顺便说)")
_COMMA = re.compile(r"[，,、\s]+")
_CONTENT = re.compile(r"[^\s\d,，.。!！?？、~～:：;；()（）\"“”'‘’…—-]")


@dataclass(frozen=True)
class Problem:
    """One problem found in a message: its category and the resident's words for it.

    ``summary`` is the first clause that told it, cut to a line, for saying
    it back (① 烧烤店天天半夜吵…); ``text`` is every clause that told it.
    """

    category: str
    name: str
    summary: str
    text: str
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (a Rasa parse carries it, a slot keeps it)."""
        return asdict(self)


def _content(text: str) -> int:
    return len(_CONTENT.findall(text))


def segments(text: str) -> list[str]:
    """The parts of a message worth classifying on their own, in order.

    A message is cut at 。！？；, line breaks and before 还有 / 另外 (how
    residents start another matter); a short message of one such part
    (路灯坏了，电梯也卡住了) is cut at its commas too. A part too short to
    classify (好的, 谢谢) joins the one before it. A message of one part
    returns one segment.
    """
    parts = [p for p in _SENTENCE.split(text) if p.strip()]
    if len(parts) == 1 and len(text) <= SHORT_CHARS:
        parts = _COMMA.split(parts[0])
    pieces: list[str] = []
    for part in parts:
        part = part.strip(" ，,、")
        if not part:
            continue
        if pieces and (_content(part) < CLAUSE_CHARS or _content(pieces[-1]) < CLAUSE_CHARS):
            pieces[-1] = f"{pieces[-1]}，{part}"
        else:
            pieces.append(part)
    return pieces[:MAX_CLAUSES]


def _category_of(parse: dict[str, Any], clause: str, whole: str, table: CategoryTable) -> tuple[str, float] | None:
    """The category a clause tells confidently, moved by the place the clause (or the message) names."""
    intent = parse.get("intent") or {}
    ranking = parse.get("intent_ranking") or [intent]
    top = max(ranking, key=lambda r: float(r.get("confidence") or 0.0), default=intent)
    code = str(top.get("name") or "")
    confidence = float(top.get("confidence") or 0.0)
    category = table.get(code)
    if category is not None and category.place_group:
        # Sure it is rubbish, unsure whether street or estate: the place below decides, so the topic counts.
        confidence = sum(
            float(r.get("confidence") or 0.0)
            for r in ranking
            if (other := table.get(str(r.get("name")))) is not None and other.place_group == category.place_group
        )
    if category is None or confidence < CLAUSE_CONFIDENCE or _content(clause) < ANCHOR_CHARS:
        return None
    if category.place_group:
        if not any(word in clause for word in TOPIC_WORDS[category.place_group]):
            # 捂着鼻子 read as 文明公约 (a noise-group category) with no noise in it: a consequence, not a problem.
            return None
        topic = topic_of(clause)
        if topic == category.place_group:
            scope = problem_scope(clause, topic, extract(clause)) or problem_scope(whole, topic, extract(whole))
            if scope is not None:
                code = table.resolve_place(category.place_group, scope)
    return code, confidence


def _different(first: str, second: str, table: CategoryTable) -> bool:
    """Whether two categories are two problems: different handlers, not one topic in two places."""
    a, b = table.categories[first], table.categories[second]
    if a.handler == b.handler:
        return False
    return a.place_group is None or a.place_group != b.place_group


def problems_of(text: str, parses: list[dict[str, Any]], *, table: CategoryTable | None = None) -> list[Problem]:
    """The problems a message tells, from the parses of its :func:`segments` (same order).

    Returns two or more problems, the first told first; an empty list when
    the message tells one problem (or none), which is the usual case.
    """
    table = table or default_table()
    clauses = segments(text)
    found: dict[str, list[tuple[str, float]]] = {}
    for clause, parse in zip(clauses, parses, strict=True):
        decided = _category_of(parse, clause, text, table)
        if decided is None:
            continue
        code, confidence = decided
        same = next((c for c in found if not _different(c, code, table)), None)
        found.setdefault(same or code, []).append((clause, confidence))
    kept = [code for code in found if code not in NEVER_SECOND and table.categories[code].matter in SPLITTING_MATTERS]
    if len(kept) < 2:
        return []
    problems = []
    for code in kept:
        told = found[code]
        summary = told[0][0]
        problems.append(
            Problem(
                category=code,
                name=table.categories[code].name,
                summary=summary if len(summary) <= SUMMARY_CHARS else summary[:SUMMARY_CHARS] + "…",
                text="，".join(clause for clause, _ in told),
                confidence=round(max(c for _, c in told), 3),
            )
        )
    return problems


def problems_worth_looking_for(parse: dict[str, Any], text: str, table: CategoryTable | None = None) -> bool:
    """Whether a message may tell several problems: typed (not a button), read as a request or not understood."""
    table = table or default_table()
    intent = str((parse.get("intent") or {}).get("name") or "")
    return bool(text) and not text.startswith("/") and (intent == FALLBACK or table.get(intent) is not None)


def find_problems(
    text: str, parse_all: Callable[[list[str]], list[dict[str, Any]]], *, table: CategoryTable | None = None
) -> list[Problem]:
    """:func:`problems_of`, the clauses parsed in one call of ``parse_all``; none for one clause or a letter.

    ``parse_all`` takes the clauses and returns their parses in the same
    order; the Rasa server runs them through its graph as one batch, so the
    check costs one graph run, not one per clause.
    """
    if len(text) > LETTER_CHARS:
        return []
    clauses = segments(text)
    if len(clauses) < 2:
        return []
    parses = parse_all(clauses)
    if len(parses) != len(clauses):
        raise ValueError(f"{len(clauses)} clauses but {len(parses)} parses")
    return problems_of(text, parses, table=table)
