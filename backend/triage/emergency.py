"""Which category an emergency belongs to (fire, gas, someone trapped or hurt, a crime in progress).

An emergency is not queued: the resident is told to call 119 / 110 / 120 at
once, and an immediate ticket is filed in the category found here. The bot's
emergency action and ``POST /api/triage`` share this choice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

from backend.categories import CODES

logger = logging.getLogger(__name__)

_BY_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"煤气|燃气|天然气|液化气|爆管|停水|停电|漏电|电线"), "utility"),
    (re.compile(r"电梯"), "elevator"),
)


def emergency_category(text: str, ranking: Iterable[Mapping[str, object]]) -> str:
    """The category of an emergency: the words first (gas → utility), then the classifier's best request category."""
    for words, code in _BY_WORDS:
        if words.search(text):
            return code
    for entry in ranking:
        if entry.get("name") in CODES:
            return str(entry["name"])
    return "public_safety"
