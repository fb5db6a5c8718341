"""Swearing that tells a problem is that problem: "破物业又不修电梯，垃圾" is a lift report, not abuse.

The classifier reads pure swearing as the intent ``abuse`` (a calm answer
and the hotline, no ticket: ``actions/abuse.py``). An angry message that
also says what is wrong must be triaged as what is wrong, so when ``abuse``
comes with a request category close behind it, or the message is long
enough to be telling something, the parse is read as that category. Both
the conversation (``actions.abuse``) and :func:`backend.triage.core.triage`
(the triage API, the evaluation) use this one rule.
"""

from __future__ import annotations

from typing import Any

from backend.categories import CategoryTable

ABUSE = "abuse"
# A request category this likely behind ``abuse`` means the message tells a problem.
RUNNER_UP = 0.3
# A message of this many characters that swears is telling something: any request category in the ranking will do.
TELLING_CHARS = 30
TELLING_RUNNER_UP = 0.1


def problem_behind_abuse(parse: dict[str, Any], text: str, table: CategoryTable) -> str | None:
    """The request category of a message read as abuse that tells a problem; ``None`` for anything else."""
    if (parse.get("intent") or {}).get("name") != ABUSE:
        return None
    for entry in parse.get("intent_ranking") or []:
        if table.get(str(entry.get("name"))) is None:
            continue
        confidence = float(entry.get("confidence") or 0.0)
        if confidence >= RUNNER_UP or (len(text) >= TELLING_CHARS and confidence >= TELLING_RUNNER_UP):
            return str(entry["name"])
        return None
    return None


def read_as_problem(parse: dict[str, Any], text: str, table: CategoryTable) -> dict[str, Any]:
    """``parse`` with the category as its intent when it is abuse that tells a problem; else ``parse`` itself."""
    category = problem_behind_abuse(parse, text, table)
    if category is None:
        return parse
    confidence = next(float(r.get("confidence") or 0.0) for r in parse["intent_ranking"] if r.get("name") == category)
    return {**parse, "intent": {"name": category, "confidence": confidence}}
