"""The new value inside a correction at the summary: "电话留错了，应该是139 5720 4816" changes the phone at once.

At the report form's summary a resident often says what is wrong and what
is right in one breath. Asking for the number or the place they have just
typed reads as not listening, so the new value is taken from the same
message: a mobile number for the phone, a place the registry resolves for
the place (checked as the place step checks it), 紧急 / 一般 for the urgency.
Only when the message holds no new value is the field asked again.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.report_place import check_place
from backend.tickets.urgency import urgency_from_answer
from backend.triage.entities import mobile_number
from backend.triage.place_answer import has_place

logger = logging.getLogger(__name__)

# "应该是 / 改成 / 是在 …" introduces the right value; a 是 right after 不 ("不是滨湖路") names the wrong one.
_NEW_IS = re.compile(r"(?<!不)(?:应该是|应该在|改成|改为|换成|其实是|其实在|实际是|实际在|是在|是)")
# What follows the right value and names the wrong one again ("是5号楼，不是6号楼").
_NOT_THAT = re.compile(r"[，,。;；\s]*(?:而)?不是")
# Clauses that only say something is wrong ("地点说错了", "改一下地址").
_SAYS_WRONG = re.compile(r"错|不对|修改|改一下|改下|^不是")
_CLAUSES = re.compile(r"[，,。；;！!？?\s]+")
# Words that only name a field ("改紧急程度", the 修改 menu's button): no value of it.
_FIELD_NAMES = re.compile(r"^改|紧急程度|急不急|联系电话|电话号码|手机号码?|电话|地点|地址|位置")


def new_value_text(text: str) -> str:
    """The words of a correction that give the right value ("" when it gives none).

    "地点说错了，不是滨湖路，是望江公园门口" → "望江公园门口"; "地址写错了，枫林苑5号楼" →
    "枫林苑5号楼"; "地点说错了，不是滨湖路" → "".
    """
    markers = list(_NEW_IS.finditer(text))
    if markers:
        tail = text[markers[-1].end() :]
        return _NOT_THAT.split(tail, maxsplit=1)[0].strip(" ，,。；;！!？?")
    kept = [c.strip() for c in _CLAUSES.split(text) if c.strip() and not _SAYS_WRONG.search(c.strip())]
    return " ".join(kept)


def corrected_values(dispatcher: CollectingDispatcher, tracker: Tracker, field: str, text: str) -> dict[str, Any]:
    """The slot values for the new value a correction of ``field`` carries; empty when it carries none.

    The caller clears the field first; these values then fill it again, so
    the form asks nothing and shows the summary (or, for a new phone number,
    asks whether to keep it).
    """
    if field == "report_phone":
        number = mobile_number(new_value_text(text)) or mobile_number(text)  # "不是138…，是139…": the second
        return {"report_phone": number} if number else {}
    value = new_value_text(text)
    if not _FIELD_NAMES.sub("", value).strip(" 的为成：:"):
        return {}  # the field named, no new value: ask it again
    if field == "report_place" and has_place(value):
        logger.debug("place corrected in the same message")
        return check_place(dispatcher, tracker, value, asked=True)
    if field == "report_urgency":
        chosen = urgency_from_answer(value)
        return {"report_urgency": chosen} if chosen else {}
    return {}
