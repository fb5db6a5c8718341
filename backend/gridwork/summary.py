"""A ticket in one line for a grid member: where it is and what the problem is.

我的待办, the notice of a newly dispatched ticket and the member's 查询 all
name a ticket by its place and a one-line summary of the resident's
description, so a member on a phone knows where to go and what for
without opening the console. Personal numbers (phones, ID cards) typed in
the description are masked, as everything a chat shows is.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy.orm import Session

from backend.models import Ticket
from backend.privacy import mask_text
from backend.tickets.visibility import registry_place

logger = logging.getLogger(__name__)

SUMMARY_CHARS = 24
PLACE_CHARS = 30
NO_PLACE = "地点待核实"
NO_DESCRIPTION = "（没有描述）"
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
_CLAUSE_END = re.compile(r"[，,、：:]")


def one_line(description: str, limit: int = SUMMARY_CHARS) -> str:
    """The description's first sentence; a long one is cut after its last whole clause that fits, with "…"."""
    text = " ".join(mask_text(description or "").split())
    first = _SENTENCE_END.split(text, maxsplit=1)[0].strip() or text.strip(" 。！？!?；;")
    if not first:
        return NO_DESCRIPTION
    if len(first) <= limit:
        return first
    cut = max((m.start() for m in _CLAUSE_END.finditer(first, 0, limit)), default=0)
    head = first[:cut] if cut >= limit // 3 else first[: limit - 1]
    return head.rstrip(" ，,、：:") + "…"


def place_of(*, session: Session, ticket: Ticket, limit: int = PLACE_CHARS) -> str:
    """Where the ticket is: the registry's name of the place, else the place as the resident typed it."""
    place = registry_place(session=session, ticket=ticket) or " ".join(str(ticket.place_text or "").split())
    if not place:
        return NO_PLACE
    place = mask_text(place)
    return place if len(place) <= limit else place[: limit - 1] + "…"
