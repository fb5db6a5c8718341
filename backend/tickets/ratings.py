"""The 评单 scale: 满意 / 基本满意 / 不满意 (and 默认满意 when nobody answers), its buttons, and typed answers."""

from __future__ import annotations

import re

RATINGS: dict[str, str] = {"satisfied": "满意", "basically": "基本满意", "unsatisfied": "不满意", "default": "默认满意"}
RATING_BUTTONS = (("满意", "satisfied"), ("基本满意", "basically"), ("不满意", "unsatisfied"))


def rating_buttons(number: str) -> list[dict[str, str]]:
    """The three buttons of the rating question, each carrying the ticket number."""
    return [
        {"title": title, "payload": f'/rate_satisfaction{{"ticket_no": "{number}", "rating": "{code}"}}'}
        for title, code in RATING_BUTTONS
    ]


def rating_from_text(text: str) -> str | None:
    """满意 / 基本满意 / 不满意 as a resident types them (很好, 还行, 太差了 …), or None."""
    if re.search(r"不满意|不太满意|差|没解决|没修好|不行|糊弄|敷衍|垃圾", text):
        return "unsatisfied"
    if re.search(r"基本满意|还行|凑合|一般|还可以|马马虎虎", text):
        return "basically"
    if re.search(r"满意|很好|不错|好评|点赞|谢谢|感谢|辛苦|挺好|非常好|五星", text):
        return "satisfied"
    return None
