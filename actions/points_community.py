"""Register a resident in the community their tickets point to, when they say yes: the points answers need one.

A resident without a community cannot see what their points buy, nor their
place in the monthly ranking. When such a resident asks (能换什么, 我要换大米,
我有多少积分) and their own tickets were filed at a building, the question is
asked once per conversation: 「您报过的工单在枫林社区，要把您登记为枫林社区的
居民吗？」 with 是 / 不用 (two communities: both as buttons and 都不是).

- 是 (or a community's button) registers them through
  :func:`backend.points.membership.join_community`, which records when they
  agreed, and the question they asked is answered;
- 不用 / 都不是 leaves everything as it was, and the question is answered
  as for anyone without a community (how else to join);
- anything else is an ordinary new message. A yes or no that answers
  something the assistant asked since (a redemption's 确认兑换) goes on to
  ``action_handle_affirm`` / ``action_handle_deny`` as usual.

The question's own answer is given by the asking action, run right after
with the words first asked (slot ``points_question``, read only by that
run): a 确认兑换 that follows is then answered as a redemption.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.runtime import resident_of, resident_text, sessions
from backend.errors import DomainError
from backend.models import Resident
from backend.points.membership import join_community, ticket_communities

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

PENDING = "points_community_pending"
OFFER = "points_community_offer"
QUESTION = "points_question"
ENTITY = "points_community"
OFFER_RESPONSES = frozenset({"utter_points_community_offer", "utter_points_community_offer_two"})


ANSWERING_ACTIONS = ("action_points_community_join", "action_points_community_decline")


def question_text(tracker: Tracker) -> str:
    """The points question to answer: right after 是 / 不用, the one they answered; else the latest message."""
    if tracker.latest_action_name in ANSWERING_ACTIONS and tracker.get_slot(QUESTION):
        return str(tracker.get_slot(QUESTION))
    return resident_text(tracker)


def _this_conversation(tracker: Tracker) -> list[dict[str, Any]]:
    """The events since the conversation (Rasa's session) began."""
    events = list(tracker.events)
    for index in range(len(events) - 1, -1, -1):
        if events[index].get("event") == "session_started":
            return events[index + 1 :]
    return events


def _offered(event: dict[str, Any]) -> bool:
    return event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") in OFFER_RESPONSES


def asked_this_conversation(tracker: Tracker) -> bool:
    """Whether the question was asked in this conversation already (it is asked once)."""
    return any(_offered(event) for event in _this_conversation(tracker))


def asked_just_before(tracker: Tracker) -> bool:
    """Whether the assistant's answer to the resident's previous message was the question."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users == 2:
                return False
        elif users == 1 and _offered(event):
            return True
    return False


def offer_community(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, session: Session, resident: Resident, asking: str
) -> list[EventType] | None:
    """Ask whether to register the resident in the community their tickets point to; None when not to ask.

    Not asked of a resident with a community, a second time in a
    conversation, in the middle of a form (its buttons would be hidden), or
    when no ticket of theirs was filed at a building.
    """
    if resident.community_id is not None or tracker.active_loop.get("name") or asked_this_conversation(tracker):
        return None
    found = ticket_communities(session=session, resident=resident, limit=2)
    if not found:
        return None
    if len(found) == 1:
        dispatcher.utter_message(response="utter_points_community_offer", community=found[0].name, code=found[0].code)
    else:
        first, second = found
        dispatcher.utter_message(
            response="utter_points_community_offer_two",
            first=first.name,
            first_code=first.code,
            second=second.name,
            second_code=second.code,
        )
    offer = {
        "codes": [c.code for c in found],
        "names": [c.name for c in found],
        "action": asking,
        "text": question_text(tracker),
    }
    logger.info("asked resident %s about %d community(ies) from their tickets", resident.code, len(found))
    return [
        SlotSet(PENDING, True),
        SlotSet(OFFER, offer),
        # A new question: an earlier ticket offer, place question or two-category question is not what the next
        # message answers (as actions/clarify.py does for its own question).
        SlotSet("offer_pending", False),
        SlotSet("awaiting_place", False),
        SlotSet("clarify_pending", False),
    ]


def _offer(tracker: Tracker) -> dict[str, Any]:
    value = tracker.get_slot(OFFER)
    return value if isinstance(value, dict) else {}


def _chosen(tracker: Tracker) -> str | None:
    """The community code the latest message's button carries (``/affirm{"points_community": "fl"}``), if any."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == ENTITY and entity.get("value"):
            return str(entity["value"])
    return None


def closed() -> list[EventType]:
    """The question is answered or passed over."""
    return [SlotSet(PENDING, False), SlotSet(OFFER, None)]


def _answer_the_question(offer: dict[str, Any]) -> list[EventType]:
    """Run the asking action again, on the question first asked."""
    action = str(offer.get("action") or "")
    if not action:
        return closed()
    return [*closed(), SlotSet(QUESTION, str(offer.get("text") or "")), FollowupAction(action)]


class ActionPointsCommunityJoin(Action):
    """是 (or a community's button) while the question is open: register the resident, then answer their question."""

    @override
    def name(self) -> str:
        return "action_points_community_join"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Join the community said yes to; ask which when a plain yes answers a two-community question."""
        offer = _offer(tracker)
        codes = [str(c) for c in offer.get("codes") or []]
        code = _chosen(tracker)
        just_asked = asked_just_before(tracker)
        if code is None and just_asked and len(codes) == 1:
            code = codes[0]
        if code is None and just_asked and len(codes) == 2:
            names = [str(n) for n in offer.get("names") or []]
            dispatcher.utter_message(
                response="utter_points_community_offer_two",
                first=names[0],
                first_code=codes[0],
                second=names[1],
                second_code=codes[1],
            )
            return []
        if code is None or code not in codes:
            return [*closed(), FollowupAction("action_handle_affirm")]
        try:
            with sessions().begin() as session:
                resident = resident_of(session, tracker)
                community = join_community(
                    session=session, resident=resident, community_code=code, now=datetime.now(timezone.utc)
                )
                dispatcher.utter_message(response="utter_points_community_joined", community=str(community.name))
        except DomainError as exc:
            dispatcher.utter_message(response="utter_points_community_failed", reason=str(exc))
        return _answer_the_question(offer)


class ActionPointsCommunityDecline(Action):
    """不用 / 都不是 right after the question: change nothing, and answer the question as for anyone without one."""

    @override
    def name(self) -> str:
        return "action_points_community_decline"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Decline; a no that answers something asked since goes on (to the two-category question if it is open)."""
        if not asked_just_before(tracker):
            other = "action_clarify_neither" if tracker.get_slot("clarify_pending") else "action_handle_deny"
            return [*closed(), FollowupAction(other)]
        dispatcher.utter_message(response="utter_points_community_declined")
        return _answer_the_question(_offer(tracker))
