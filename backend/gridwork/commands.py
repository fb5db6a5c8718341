"""The grid members' chat commands, read from text: 我的待办, 接单, 进展, 办结, 吹哨, 记录志愿, 绑定.

Commands are typed on a phone in the field, so the reader is forgiving:
the ticket number may be lower case or spaced (gz 20261122-0003), the
separator may be a space, a colon or nothing, and hours may be written
"2小时", "两个小时" or "2". Anything that does not start with a command
word is not a command. What follows the ticket number (a progress note,
a result, a whistle's reason) is kept whole, however long, with its
punctuation and spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.triage.entities import TICKET, to_int

COMMAND_WORDS = {
    "我的待办": "todo",
    "待办": "todo",
    "接单": "take",
    "进展": "progress",
    "办结": "resolve",
    "吹哨": "whistle",
    "记录志愿": "volunteer",
    "绑定": "bind",
}
_SEPARATORS = ":：,，、"
_SPACES = " \t\u3000"
_START = re.compile(r"^\s*(" + "|".join(sorted(COMMAND_WORDS, key=len, reverse=True)) + r")\s*[:：,，]?\s*")
# Hours come last, separated from the resident's code or phone by a space.
_HOURS = re.compile(r"\s([0-9０-９一二两三四五六七八九十]+)\s*(?:个)?\s*(?:小时|钟头|h)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Command:
    """A parsed command: what, which ticket, and the free text (note, result, reason, code, resident)."""

    kind: str
    number: str | None = None
    text: str = ""
    hours: int | None = None


def parse_command(message: str) -> Command | None:
    """The command in ``message``, or None when it is not one."""
    match = _START.match(message or "")
    if match is None:
        return None
    kind = COMMAND_WORDS[match.group(1)]
    rest = message[match.end() :].strip()
    if kind in ("todo",):
        return Command(kind)
    if kind == "bind":
        return Command(kind, text=re.sub(r"\s", "", rest))
    if kind == "volunteer":
        hours_match = _HOURS.search(rest)
        hours = to_int(hours_match.group(1)) if hours_match else None
        who = rest[: hours_match.start()].strip() if hours_match else rest
        return Command(kind, text=who, hours=hours)
    ticket = TICKET.search(rest)
    number = f"GZ{ticket.group(2)}-{ticket.group(3)}" if ticket else None
    if ticket is None:
        return Command(kind, text=rest)
    # The note, result or reason is everything else the member wrote, its punctuation and spaces kept;
    # only the separator between the number and it goes.
    before = rest[: ticket.start()].strip().rstrip(_SEPARATORS).strip()
    after = rest[ticket.end() :].lstrip(_SEPARATORS + _SPACES).rstrip()
    text = f"{before} {after}" if before and after else before or after
    return Command(kind, number=number, text=text)
