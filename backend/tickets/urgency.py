"""How urgent a report is, inferred from the resident's words and confirmable in the summary.

Three levels: normal 一般, urgent 紧急 (danger or a household cut off from
water, power, a lift: the grid member goes first), emergency 危急 (fire, gas,
someone trapped or hurt, violence: 110 / 119 / 120 first, immediate tier).
The inference only proposes; the resident sees it in the summary and can
change it.
"""

from __future__ import annotations

import re

URGENCY_NAMES: dict[str, str] = {"normal": "一般", "urgent": "紧急", "emergency": "危急"}

_URGENT = re.compile(
    r"关在里面|关里面|困在|被困|卡在|漏电|冒烟|烧焦|火花|爆管|喷水|水漫|淹了|倒灌|塌|掉下来|砸|松动|"
    r"摔倒|晕倒|老人.{0,6}(一个人|没人管)|危险|吓人|赶紧|马上|尽快|急死|着急|太急|很急|急急|紧急|"
    r"停水|停电|断水|断电|没水|没电"
)
_CALM = re.compile(r"不急|不着急|有空|方便的时候|慢慢来")


def infer_urgency(text: str) -> str:
    """'urgent' when the words carry danger or hardship, else 'normal' (never 'emergency': that is the intent's)."""
    if _CALM.search(text):
        return "normal"
    return "urgent" if _URGENT.search(text) else "normal"


def urgency_from_answer(text: str) -> str | None:
    """The level a resident chose in words or by button (紧急 / 一般), or None if unclear."""
    t = text.strip()
    if re.search(r"不急|不着急|不紧急|一般|普通|还好|不算急|慢慢", t):
        return "normal"
    if re.search(r"急|紧急|赶紧|马上|危险|快", t):
        return "urgent"
    return None
