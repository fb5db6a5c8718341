"""When the classifier is unsure between two categories: ask with both as buttons, and read the answer.

The triage (:func:`backend.triage.core.triage`) decides when it is unsure
and which two; this module turns that into the question 「您说的是【环境污染】
还是【文明公约】？」 with a button for each and one for neither, and reads the
resident's answer: a pressed button (its payload is the category's intent,
``/pollution``), the category's name typed (环境污染), 第一个 / 前一个 /
第二个 / 后一个, or 都不是. A chosen category is then triaged by
:class:`actions.requests.ActionTriageRequest` as if the classifier had said
it, on the message the resident first wrote. Anything else the resident says
instead is an ordinary new message: nothing waits for the answer.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from typing_extensions import override

from actions.filing import answered_action, handle_deny
from actions.runtime import resident_text
from backend.categories import CategoryTable, default_table
from backend.triage.result import TriageResult

logger = logging.getLogger(__name__)

PENDING = "clarify_pending"
CHOICES = "clarify_choices"
TEXT = "clarify_text"
NEITHER = "neither"
# The actions that ask the question (action_resolve_place hands a report it was given to the triage).
ASKING_ACTIONS = ("action_triage_request", "action_resolve_place")
# A typed answer to the question is short; a longer message tells something new.
SHORT_ANSWER = 12
_FIRST = re.compile(r"^(第[一1]个?|前一个|上一个|前者|(前面|上面|左边)((那|这)?个)?|[1一①])$")
_SECOND = re.compile(r"^(第[二2]个?|后一个|下一个|后者|(后面|下面|右边)((那|这)?个)?|[2二②])$")
_NEITHER = re.compile(r"^(两个)?(都|全)不(是|对)|^哪个都不是|^不是这两个|^两个都不")
_SAY_AGAIN = re.compile(r"我?(再|重新)(说|讲)(一下|一遍|说|讲)?|换个说法")
# What a typed answer may say around the choice (是…吧, 选…, 的, punctuation).
_FILLER = re.compile(
    r"[\s,，.。!！?？、~～:：;；\"“”'‘’【】\[\]（）()]|^我?(说的)?(是|选|应该是|算)|(吧|啊|呀|呢|的|哈)$"
)


def ask(
    dispatcher: CollectingDispatcher, table: CategoryTable, result: TriageResult, text: str
) -> list[dict[str, Any]]:
    """Ask which of ``result.choices`` it is; the slots remember the choices and the message they are about."""
    first, second = (table.categories[code] for code in result.choices)
    dispatcher.utter_message(
        response="utter_clarify_category",
        question=result.question,
        first=first.name,
        first_code=first.code,
        second=second.name,
        second_code=second.code,
    )
    return [
        SlotSet(PENDING, True),
        SlotSet(CHOICES, list(result.choices)),
        SlotSet(TEXT, text),
        # A new question: an earlier ticket offer or place question is no longer what the next message answers.
        SlotSet("offer_pending", False),
        SlotSet("awaiting_place", False),
    ]


def closed() -> list[dict[str, Any]]:
    """The question is answered or passed over."""
    return [SlotSet(PENDING, False), SlotSet(CHOICES, None), SlotSet(TEXT, None)]


def _typed(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _FILLER.sub("", text)
    return text


def chosen(tracker: Tracker) -> str | None:
    """The category the latest message picks (or :data:`NEITHER`), when it answers the question; else ``None``.

    A button's payload (``/pollution``) counts whenever the question is still
    open; a typed answer only right after the question, and only when it is
    short and says nothing but the choice.
    """
    choices = [str(c) for c in tracker.get_slot(CHOICES) or []]
    if not tracker.get_slot(PENDING) or len(choices) != 2:
        return None
    text = resident_text(tracker).strip()
    if text.startswith("/"):
        name = re.split(r"[{\s]", text[1:], maxsplit=1)[0]
        return name if name in choices else None
    if answered_action(tracker) not in ASKING_ACTIONS or len(text) > SHORT_ANSWER:
        return None
    answer = _typed(text)
    if not answer:
        return None
    if _NEITHER.search(answer) and len(_SAY_AGAIN.sub("", _NEITHER.sub("", answer))) < 3:
        return NEITHER
    if _FIRST.match(answer):
        return choices[0]
    if _SECOND.match(answer):
        return choices[1]
    table = default_table()
    named = [c for c in choices if answer in table.categories[c].name or table.categories[c].name in answer]
    return named[0] if len(answer) >= 2 and len(named) == 1 else None


def describe_again(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """Neither category: ask the resident to say it again in their own words."""
    dispatcher.utter_message(response="utter_clarify_describe_again")
    return closed()


class ActionClarifyNeither(Action):
    """都不是 (the third button, or typed) right after the question: ask the resident to describe it again.

    The rule sends every "no" while the question is open here; a "no" that
    answers something else (a ticket offer made since) is passed on to
    :func:`actions.filing.handle_deny`.
    """

    @override
    def name(self) -> str:
        return "action_clarify_neither"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Ask again, or answer the "no" as usual."""
        if answered_action(tracker) in ASKING_ACTIONS:
            return describe_again(dispatcher)
        return [*handle_deny(dispatcher, tracker), *closed()]
