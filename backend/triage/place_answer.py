"""A place told in the report form, read as text: does it name a place, its own place, and which words to look up.

Pure text, no database: the registry look-up of the words chosen here is
:func:`backend.tickets.place_check.check_report_place`. After the question
"枫林苑的几号楼？" a bare "4号楼" is read together with the estate asked about,
unless the answer names a place of its own (another estate, a road,
不是小区，是马路上).
"""

from __future__ import annotations

import logging

from backend.triage.entities import PlaceNames, extract
from backend.triage.place import names_a_road, says_not_estate

logger = logging.getLogger(__name__)


def has_place(text: str, names: PlaceNames | None = None) -> bool:
    """Whether a message names a place the registry could resolve (estate, road, place or building).

    Args:
        text: the message.
        names: registry place names (the project's when omitted).
    """
    found = extract(text, names)
    return any(found.get(key) for key in ("estate", "road", "place", "building"))


def names_own_place(text: str) -> bool:
    """Whether an answer names a place of its own, not just the building of the estate asked about."""
    found = extract(text)
    if found.get("estate") or found.get("road") or found.get("place"):
        return True
    return names_a_road(text) or says_not_estate(text)


def place_candidate(text: str, *, partial: str, asked: bool) -> str:
    """The words to look up: an answer to the building question goes with the estate asked about (``partial``)."""
    building_asked = bool(partial) and asked
    return f"{partial} {text}".strip() if building_asked and not names_own_place(text) else text
