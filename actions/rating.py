"""评单 in the conversation: the resident rates a resolved ticket by button or in words.

The rating question arrives with the "办结" notification (buttons carry the
ticket number). A typed "挺满意的" rates the resident's latest resolved
ticket, and so does a rating with its reason ("不满意！我刚下楼看了灯还是
不亮") even when the NLU reads the reason as a new report: while a rating is
pending, :func:`rating_in_words` takes such a message as the rating. The
reason goes on the ticket's timeline as the resident's comment (the handler
reads it; a follower never does, see :mod:`backend.tickets.visibility`).
不满意 reopens the ticket one level up the chain; the resident is told who
takes it now. A compliment with nothing waiting for a rating is simply
thanked.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.runtime import resident_of, resident_text, sessions
from actions.ticket_status import is_status_question, status_question
from backend.errors import DomainError
from backend.models import Resident, Ticket
from backend.tickets.escalation import LEVEL_NAMES
from backend.tickets.lookup import fits, things_named
from backend.tickets.ratings import RATINGS, rating_buttons, rating_from_text
from backend.tickets.satisfaction import awaiting_rating, rate_ticket
from backend.tickets.service import get_ticket_for_resident
from backend.triage.entities import extract

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

_RATING_WORDS = re.compile(r"非常|很|挺|比较|还|都|满意|基本|不|一般|还行|凑合|好评|谢谢|感谢|[，。！!~、\s]")

# Words that are a rating whatever else the message says: 不满意 / 基本满意 / 满意 and their everyday forms.
UNSATISFIED = re.compile(
    r"不满意|不太满意|不大满意|不怎么满意|差评|太差|很差|真差|差劲|不咋地|不怎么样|一星|零分|(?<!\d)0分"
)
BASICALLY = re.compile(r"基本满意|还算满意|还行|还可以|凑合|马马虎虎|一般般|中评|说得过去")
SATISFIED = re.compile(r"满意|好评|五星|满分")
# Words a resident rates with only when they are about the ticket waiting for a rating (it names its thing,
# or names nothing and is short): 一点没修好, 还是不亮, 谢谢你们.
UNSATISFIED_WORDS = re.compile(
    r"没修好|没弄好|没解决|没有解决|没处理好|不亮|没亮|还是黑|还是坏|还是老样子|又坏了|还在漏|还是漏|一点没|根本没"
    r"|糊弄|敷衍|白修|不管用|不行"
)
SATISFIED_WORDS = re.compile(r"很好|不错|挺好|非常好|点赞|谢谢|感谢|辛苦了|修好了|(?<![不没])亮了|解决了")
# A message that names nothing and is at most this long is about the ticket waiting for a rating.
SHORT_RATING = 20


def _explicit(text: str) -> str | None:
    for rating, words in (("unsatisfied", UNSATISFIED), ("basically", BASICALLY), ("satisfied", SATISFIED)):
        if words.search(text):
            return rating
    return None


def rating_in(text: str) -> str | None:
    """The rating a message gives in words (satisfied / basically / unsatisfied), or ``None``.

    Stricter than :func:`backend.tickets.ratings.rating_from_text`: 垃圾 and 差
    on their own are things residents report, not ratings, and "修好了吗" asks.
    """
    explicit = _explicit(text)
    if explicit is not None:
        return explicit
    if is_status_question(text):
        return None
    if UNSATISFIED_WORDS.search(text):
        return "unsatisfied"
    if SATISFIED_WORDS.search(text):
        return "satisfied"
    return None


def _reads_as_rating(text: str, ticket: Ticket, resident: Resident) -> bool:
    """Whether a message with rating words rates ``ticket`` rather than telling something new."""
    if _explicit(text) is not None:
        return True
    named = things_named(text)
    if not named:
        return len(text) <= SHORT_RATING
    return fits(ticket, named, resident=resident)


def rating_in_words(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """Take the latest message as the rating of the ticket waiting for one, if it reads as one; else ``None``.

    For ActionTriageRequest (and any action the NLU may send a rating with a
    reason to): "不满意！我刚下楼看了灯还是不亮" is read by the classifier as a
    streetlight report, but with a rating pending it is the rating, and its
    reason is the comment on the timeline.
    """
    text = resident_text(tracker)
    if not text or text.startswith("/") or extract(text).get("ticket_no"):
        return None
    rating = rating_in(text)
    if rating is None:
        return None
    try:
        with sessions().begin() as session:
            resident = resident_of(session, tracker)
            ticket = awaiting_rating(session=session, resident=resident)
            if ticket is None or not _reads_as_rating(text, ticket, resident):
                return None
            _record(dispatcher, session=session, ticket=ticket, resident=resident, rating=rating, text=text)
    except DomainError as exc:
        dispatcher.utter_message(text=str(exc))
    return []


def _comment(text: str) -> str | None:
    """The message as the rating's comment when it says more than the rating itself."""
    if text.startswith("/"):
        return None
    return text if len(_RATING_WORDS.sub("", text)) >= 4 else None


def _record(
    dispatcher: CollectingDispatcher, *, session: Session, ticket: Ticket, resident: Resident, rating: str, text: str
) -> None:
    """Rate the ticket, and tell the resident what happens next (and that their reason is on the ticket)."""
    comment = _comment(text)
    result = rate_ticket(
        session=session,
        ticket=ticket,
        resident=resident,
        rating=rating,
        comment=comment,
        now=datetime.now(timezone.utc),
    )
    logger.info("ticket %s rated %s%s", ticket.number, rating, " with a comment" if comment else "")
    if result.escalated_to is not None:
        dispatcher.utter_message(
            response="utter_rating_escalated",
            number=str(ticket.number),
            level=LEVEL_NAMES[result.escalated_to],
        )
    else:
        dispatcher.utter_message(
            response="utter_rating_thanks",
            number=str(ticket.number),
            rating=RATINGS[rating],
            points=f"评价得 {result.points} 积分。" if result.points else "",
        )
    if comment:
        dispatcher.utter_message(response="utter_rating_reason_noted", number=str(ticket.number))


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


class ActionRateTicket(Action):
    """Record the rating of a resolved ticket and say what happens next."""

    @override
    def name(self) -> str:
        return "action_rate_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Find the ticket, read the rating, act on it."""
        text = resident_text(tracker)
        chosen = _entity(tracker, "rating")
        rating = chosen if chosen in RATINGS and chosen != "default" else rating_from_text(text)
        number = _entity(tracker, "ticket_no") or extract(text).get("ticket_no")
        if not number and chosen is None and rating_in(text) is None:
            # "路灯修好了吗" is asking, not rating: the ticket it asks about answers it.
            answered = status_question(dispatcher, tracker, triage_follows=False)
            if answered is not None:
                return answered
        try:
            with sessions().begin() as session:
                resident = resident_of(session, tracker)
                ticket = (
                    get_ticket_for_resident(session=session, resident=resident, number=str(number))
                    if number
                    else awaiting_rating(session=session, resident=resident)
                )
                if ticket is None or ticket.resident_id != resident.id or ticket.status != "resolved":
                    dispatcher.utter_message(response="utter_thanks_for_rating")
                    return []
                if rating is None:
                    dispatcher.utter_message(
                        response="utter_ask_rating",
                        number=str(ticket.number),
                        buttons=rating_buttons(str(ticket.number)),
                    )
                    return []
                _record(dispatcher, session=session, ticket=ticket, resident=resident, rating=rating, text=text)
        except DomainError as exc:
            dispatcher.utter_message(text=str(exc))
        return []
