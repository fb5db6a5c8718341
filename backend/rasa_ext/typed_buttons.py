"""Which button on screen a short typed message means, if exactly one: typing a button's words acts as pressing it.

Residents often type what a button says instead of pressing it ("确认兑换",
"不用了，我自己联系"), or say it their own way ("那我关注一下吧" for
"关注这张工单", "算了" for a no-button, "第二个"). The NLU alone reads such
words out of context: a typed 确认兑换 became a new redemption request and a
typed 关注 a duplicate ticket. Here a message is matched against the buttons
of the assistant's latest answer, in tiers, the first tier with a match
deciding:

1. the button's whole title (ignoring punctuation, spaces, emoji, case);
2. the whole title inside a short message whose other words are filler
   ("好的，确认兑换", "那就登记工单吧");
3. a distinctive part of a title (two characters or more, not a generic
   word like 工单), with only filler around it ("那我关注一下吧", "单独登记",
   a ticket number for its button);
4. everyday words for the button's meaning: yes-buttons and no-buttons,
   by their payload's intent (``config/button_paraphrases.yml``), one or
   several of them with filler ("算了我自己弄"), except the buttons that
   file says only their own words press;
5. the position: "第一个", "第2个", "最后一个".

A tier that fits buttons with different payloads is ambiguous and nothing
matches; so is a message longer than :data:`MAX_CHARS` (a real sentence, a
new problem). Everything here is pure: the caller reads the buttons and the
configuration, and decides what to do with the match.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from backend.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

PARAPHRASES_FILE = PROJECT_ROOT / "config" / "button_paraphrases.yml"
MAX_CHARS = 30  # longer messages say more than a button does: they are never read as one
MAX_FILLER = 8  # the longest filler word, in characters (the configuration is checked against it)
MIN_PART = 2  # the shortest part of a title that can stand for it (one character is too often a coincidence)

_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_POSITION = re.compile(r"第([一二两三四五六七八九十]|\d{1,2})(?:个|项|张|条|件|种|号|位)?|最后一个|最后那个|最后一项")
_INTENT = re.compile(r"^/([^{@\s]+)")


@dataclass(frozen=True)
class Paraphrases:
    """The everyday words of ``config/button_paraphrases.yml``.

    Attributes:
        meanings: per meaning ("yes", "no"), the payload intents that carry it and the normalised words that say it.
        filler: normalised words that may surround a button's words without changing them.
        generic: normalised words too general to stand for a button unless they are its whole title.
        greetings: normalised greetings ("你好"): a message that is one of them, with filler around it, presses
            nothing, though it is made of a filler word and a yes-word (你 + 好).
        own_words_only: normalised titles of buttons everyday words never press: their payload says yes or no,
            but the button does something else (情况不一样，单独登记 sends /deny and files a ticket, where a
            typed 算了 means to stop).
    """

    meanings: dict[str, tuple[frozenset[str], frozenset[str]]]
    filler: frozenset[str]
    generic: frozenset[str]
    greetings: frozenset[str] = frozenset()
    own_words_only: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Pressed:
    """The button a typed message stands for, and which tier said so.

    ``how`` is one of "title", "title_in_message", "part_of_title", "paraphrase", "position".
    """

    title: str
    payload: str
    how: str


def normalise(text: str) -> str:
    """Letters and digits only, NFKC-folded and lower-cased: "确认兑换！👍" and "确认 兑换" both read "确认兑换"."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def parse_paraphrases(data: dict[str, Any]) -> Paraphrases:
    """The configuration's mapping (as ``yaml.safe_load`` gives it) as :class:`Paraphrases`, its words normalised."""

    def words(items: Iterable[Any]) -> frozenset[str]:
        return frozenset(w for w in (normalise(str(item)) for item in items or []) if w)

    meanings = {
        str(name): (frozenset(str(i) for i in spec.get("intents") or []), words(spec.get("phrases") or []))
        for name, spec in (data.get("meanings") or {}).items()
    }
    filler = words(data.get("filler") or [])
    if any(len(w) > MAX_FILLER for w in filler):
        raise ValueError(f"button_paraphrases.yml: a filler word is longer than {MAX_FILLER} characters")
    return Paraphrases(
        meanings=meanings,
        filler=filler,
        generic=words(data.get("generic") or []),
        greetings=words(data.get("greetings") or []),
        own_words_only=words(data.get("own_words_only") or []),
    )


@lru_cache(maxsize=4)
def load_paraphrases(path: Path = PARAPHRASES_FILE) -> Paraphrases:
    """``config/button_paraphrases.yml``, read once per process."""
    return parse_paraphrases(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def may_be_a_button(text: str | None) -> bool:
    """Whether a message is short enough to be a button's words and is not a payload itself (cheap, no I/O)."""
    if not text:
        return False
    stripped = text.strip()
    return 0 < len(stripped) <= MAX_CHARS and not stripped.startswith("/") and bool(normalise(stripped))


def _filler_only(rest: str, filler: frozenset[str], longest_word: int = MAX_FILLER) -> bool:
    """Whether ``rest`` is nothing but words of ``filler``, one after another (none longer than ``longest_word``)."""
    if not rest:
        return True
    if rest in filler:
        return True
    longest = min(len(rest), longest_word)
    reachable = [True] + [False] * len(rest)
    for start in range(len(rest)):
        if reachable[start]:
            for end in range(start + 1, min(len(rest), start + longest) + 1):
                if rest[start:end] in filler:
                    reachable[end] = True
    return reachable[-1]


def _around(message: str, word: str, filler: frozenset[str]) -> bool:
    """Whether ``message`` is ``word`` with only filler before and after it (at any one of its places)."""
    start = message.find(word)
    while start >= 0:
        if _filler_only(message[:start], filler) and _filler_only(message[start + len(word) :], filler):
            return True
        start = message.find(word, start + 1)
    return False


def _says_only(message: str, phrases: frozenset[str], filler: frozenset[str]) -> bool:
    """Whether ``message`` is one or more of ``phrases`` with only filler between and around them.

    "算了" and "算了我自己弄" (算了, 我, 自己弄) both say no; "好的，不用了" says no
    (好的 is filler too); "可以不用了" says neither.
    """
    if not any(w in message for w in phrases):
        return False
    words = phrases | filler
    return _filler_only(message, words, max(len(w) for w in words))


def _part_of_title(message: str, title: str, words: Paraphrases) -> int:
    """The length of the longest distinctive part of ``title`` said with only filler around it (0: none)."""
    for size in range(min(len(message), len(title) - 1), MIN_PART - 1, -1):
        for start in range(len(message) - size + 1):
            part = message[start : start + size]
            if part in title and part not in words.generic and not _filler_only(part, words.filler):
                if _filler_only(message[:start], words.filler) and _filler_only(message[start + size :], words.filler):
                    return size
    return 0


def intent_of(payload: str) -> str | None:
    """The intent a payload sends (``/inform_place{...}`` → ``inform_place``), or None for a payload of words."""
    found = _INTENT.match(payload.strip())
    return found.group(1) if found else None


def _position(message: str, count: int, filler: frozenset[str]) -> int | None:
    """The 0-based index "第二个" / "最后一个" names among ``count`` buttons, or None."""
    for found in _POSITION.finditer(message):
        if not (_filler_only(message[: found.start()], filler) and _filler_only(message[found.end() :], filler)):
            continue
        if found.group(0).startswith("最后"):
            return count - 1 if count else None
        number = found.group(1)
        index = (int(number) if number.isdigit() else _NUMERALS[number]) - 1
        return index if 0 <= index < count else None
    return None


def _one(matched: Sequence[tuple[dict[str, Any], str]], how: str) -> Pressed | None:
    """The button if every match of the tier has the same payload; None when they disagree (ambiguous)."""
    payloads = {payload for _, payload in matched}
    if len(payloads) != 1:
        logger.debug("typed message fits %d buttons (%s): left to the NLU", len(payloads), how)
        return None
    button, payload = matched[0]
    return Pressed(title=str(button.get("title") or ""), payload=payload, how=how)


def match(text: str, buttons: Sequence[dict[str, Any]], words: Paraphrases) -> Pressed | None:
    """The one button on screen ``text`` stands for, or None (no button, several, or a message that says more).

    Args:
        text: the message as typed.
        buttons: the buttons of the assistant's latest answer, as Rasa sends them (``title``, ``payload``).
        words: the everyday words (:func:`load_paraphrases`).
    """
    if not may_be_a_button(text):
        return None
    message = normalise(text)
    if any(_around(message, g, words.filler) for g in words.greetings):
        return None  # "你好" greets; it is not 好 for the yes-button
    shown = [
        (b, str(b["payload"]), normalise(str(b.get("title") or "")))
        for b in buttons
        if isinstance(b, dict) and isinstance(b.get("payload"), str) and b["payload"].strip()
    ]
    if not shown:
        return None
    tiers: list[tuple[str, list[tuple[dict[str, Any], str]]]] = [
        ("title", [(b, p) for b, p, t in shown if t and message == t]),
        ("title_in_message", [(b, p) for b, p, t in shown if t and _around(message, t, words.filler)]),
    ]
    parts = [(b, p, _part_of_title(message, t, words)) for b, p, t in shown if t]
    tiers.append(("part_of_title", [(b, p) for b, p, size in parts if size]))
    said = {name for name, (_, phrases) in words.meanings.items() if _says_only(message, phrases, words.filler)}
    if len(said) == 1:
        intents = words.meanings[said.pop()][0]
        tiers.append(
            ("paraphrase", [(b, p) for b, p, t in shown if intent_of(p) in intents and t not in words.own_words_only])
        )
    elif said:
        return None  # yes and no at once: the resident is not answering the buttons
    index = _position(message, len(shown), words.filler)
    if index is not None:
        tiers.append(("position", [(shown[index][0], shown[index][1])]))
    for how, matched in tiers:
        if matched:
            return _one(matched, how)
    return None
