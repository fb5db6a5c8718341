"""Questions in the middle of the report form: answer them, then go back to the same step.

Rasa's own way does most of it: the form's slots are not filled from the
intents of these questions (``not_intent`` in ``domain/report.yml``), so the
form rejects the message and a rule with ``condition: active_loop``
(``data/rules/report.yml``) answers it and runs the form again, which asks
the same question. This module adds what the rules cannot:

- points questions are answered by what they ask (积分怎么换 is a question
  about the 爱心超市 whichever points intent the classifier chose), without
  buttons that would lead out of the form;
- the question asked again after an interruption starts with one line
  saying so (:func:`resumed_after_interruption`);
- a question the classifier missed (it reached the form as an answer) is
  recognised by its words, answered, and not stored as a place or a phone
  (:func:`answer_question`).

A new problem told in the middle of the form is not a question: it stays
the answer to the step, as before.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.points import answer_balance, answer_catalogue, answer_history, answer_rules
from actions.ticket_status import answer_ticket_status
from backend.triage.entities import extract

if TYPE_CHECKING:
    from collections.abc import Callable

    # A points answer: writes to the dispatcher, returns the events (a plain function, not an action).
    PointsAnswer = Callable[[CollectingDispatcher, Tracker], list[EventType]]

logger = logging.getLogger(__name__)

# The actions the form's interruption rules run; after one of them the form's question is asked again.
INTERRUPTING_ACTIONS = frozenset(
    {
        "action_form_points",
        "action_points_balance",
        "action_ticket_status",
        "utter_help",
        "utter_ask_human",
        "utter_iamabot",
        "action_answer_abuse",
        "action_answer_other_language",
    }
)
POINTS_INTENTS = frozenset({"points_balance", "points_history", "points_rules", "points_catalogue", "points_redeem"})

_POINTS = re.compile(r"积分|兑换|爱心超市.{0,8}(?:换|买|有什么|有啥)|能换(?:什么|啥|点啥)|换(?:什么|啥)东西")
_REDEEM = re.compile(r"换|兑|爱心超市|能买")
_BALANCE = re.compile(r"多少分|几分|多少积分|余额|剩多少|还有多少")
_EARN = re.compile(r"怎么(?:挣|赚|攒|得|拿|加|获得)|怎样(?:挣|赚|攒|得)|加分|规则")
_HISTORY = re.compile(r"怎么来的|为什么|咋(?:少|多)|扣|明细|记录")
_HELP = re.compile(
    r"你(?:都|还)?(?:能|会|可以)(?:帮我)?(?:做|干|办|帮)(?:什么|啥|些啥|哪些)|你(?:都|还)?会(?:些)?(?:什么|啥)|"
    r"有(?:什么|哪些)功能|(?:这个|你)怎么用"
)
_STATUS = re.compile(r"查询|查一下|查查|进度|怎么样了|到哪了|处理了吗|修好没")


def points_answer(text: str, intent: str) -> PointsAnswer:
    """The points answer a question asks for, read from its words first, then from the intent.

    积分怎么换 and 积分能换啥 ask what the 爱心超市 has; 还有几分 asks the
    balance; 怎么挣积分 the rules; 为什么少了20分 the history. A redemption
    is not done in the middle of a report: the catalogue is shown instead.
    """
    if _REDEEM.search(text):
        return answer_catalogue
    if _EARN.search(text):
        return answer_rules
    if _HISTORY.search(text):
        return answer_history
    if _BALANCE.search(text):
        return answer_balance
    by_intent: dict[str, PointsAnswer] = {
        "points_history": answer_history,
        "points_rules": answer_rules,
        "points_catalogue": answer_catalogue,
        "points_redeem": answer_catalogue,
    }
    return by_intent.get(intent, answer_balance)


def answer_points(dispatcher: CollectingDispatcher, tracker: Tracker, text: str, intent: str) -> list[EventType]:
    """Answer a points question with the ledger's figures.

    The catalogue's "换…" buttons are left out: a redemption is not done in
    the middle of a report (the buttons a response has in the domain stay).
    """
    answer = CollectingDispatcher()
    events = points_answer(text, intent)(answer, tracker)
    dispatcher.messages.extend({**message, "buttons": []} for message in answer.messages)
    return list(events)


class ActionFormPoints(Action):
    """A points question asked in the middle of the report form (rule in ``data/rules/report.yml``)."""

    @override
    def name(self) -> str:
        return "action_form_points"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Answer the question; the rule then runs the form, which asks its question again."""
        text = str((tracker.latest_message or {}).get("text") or "")
        intent = str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")
        return answer_points(dispatcher, tracker, text, intent)


def question_kind(text: str) -> str | None:
    """What a message asks when it is a question for another part of the assistant, or None.

    ``points`` (积分怎么换), ``status`` (查询 GZ…), ``help`` (你能干什么).
    A problem ("另外学府街的路灯也不亮"), a place or a phone number is not a question.
    """
    if _POINTS.search(text):
        return "points"
    if extract(text).get("ticket_no") and _STATUS.search(text):
        return "status"
    if _HELP.search(text):
        return "help"
    return None


async def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, text: str) -> bool:
    """Answer a question the classifier missed, then say the form goes on; False when ``text`` is no question."""
    kind = question_kind(text)
    if kind is None:
        return False
    logger.info("question of kind %s in the middle of the report form", kind)
    if kind == "points":
        answer_points(dispatcher, tracker, text, "")
    elif kind == "status":
        await answer_ticket_status(dispatcher, tracker, domain)
    else:
        dispatcher.utter_message(response="utter_help")
    dispatcher.utter_message(response="utter_report_resume")
    return True


def resumed_after_interruption(tracker: Tracker) -> bool:
    """Whether the form is asking again after a rule answered something else in this turn."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") in INTERRUPTING_ACTIONS:
            return True
    return False
