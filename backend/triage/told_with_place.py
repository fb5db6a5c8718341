"""A place answer that also tells a problem (望江新村9号楼单元门坏了) is read as a report of that problem.

Short reports that name a registry place look to the classifier like answers
to "问题在哪儿"; this moves their parse to the request category that came
close behind, before triage decides.
"""

from __future__ import annotations

import re
from typing import Any

from backend.categories import CategoryTable
from backend.triage.entities import BUILDING, UNIT, PlaceNames
from backend.triage.place_answer import has_place
from backend.triage.result import FALLBACK

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


def problem_told_with_its_place(
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
    if told == FALLBACK and ranking and has_place(text, names):
        told = ranking[0].get("name")
    if told != PLACE_ANSWER or len(place_residue(text, names)) < RESIDUE_CHARS:
        return parse
    for entry in ranking:
        if table.get(str(entry.get("name"))) is not None:
            if float(entry.get("confidence") or 0.0) >= RUNNER_UP_CONFIDENCE:
                return {**parse, "intent": {"name": entry["name"], "confidence": entry["confidence"]}}
            break
    return parse
