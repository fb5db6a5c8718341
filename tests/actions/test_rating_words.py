"""Ratings in words, with or without a reason, while a rating is pending (issue 25, item 6).

ActionTriageRequest calls :func:`actions.rating.rating_in_words` before
treating a message as a new report: "不满意！我刚下楼看了灯还是不亮" is read by
the classifier as a streetlight report, but with a rating pending it is the
rating, and its reason goes on the timeline for the handler, never for a follower.
"""

from datetime import datetime, timezone

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.rating import ActionRateTicket, rating_in, rating_in_words
from backend.models import Resident, Ticket
from backend.services.residents import get_or_create_resident
from backend.tickets.service import follow, transition
from backend.tickets.visibility import follower_view, view_of
from tests.actions.conftest import make_tracker
from tests.factories import file_ticket

NOW = datetime.now(timezone.utc)


def resolved(sessions, sender, category="streetlight", description="学府街路灯坏了", place_text="学府街"):
    with sessions.begin() as s:
        ticket = file_ticket(
            s,
            sender=sender,
            now=NOW,
            category=category,
            description=description,
            place_text=place_text,
            entities={"road": "学府街"} if category == "streetlight" else None,
        )
        transition(session=s, ticket=ticket, to="in_progress", actor="grid_member:gm-fl-02", now=NOW)
        transition(session=s, ticket=ticket, to="resolved", actor="grid_member:gm-fl-02", now=NOW, note="已修复")
        return ticket.number


def said(sender, text, intent="streetlight"):
    dispatcher = CollectingDispatcher()
    events = rating_in_words(dispatcher, make_tracker(sender, text, intent))
    return events, dispatcher.messages


def ticket(sessions, number):
    with sessions() as s:
        return s.query(Ticket).filter_by(number=number).one()


async def test_dissatisfied_with_a_reason_is_the_rating_reopens_the_ticket_and_notes_the_reason(backend):
    number = resolved(backend, "rw1")
    with backend.begin() as s:
        follower = get_or_create_resident(session=s, channel="web", sender_id="rw1-neighbour")
        follow(session=s, ticket=s.query(Ticket).filter_by(number=number).one(), resident=follower, now=NOW)
    events, answer = said("web:rw1", "不满意！我刚下楼看了灯还是不亮")
    assert events == []
    assert [m["response"] for m in answer] == ["utter_rating_escalated", "utter_rating_reason_noted"]
    assert answer[0]["number"] == number and answer[0]["level"] == "社区"  # reopened, one level up
    with backend() as s:
        rated = s.query(Ticket).filter_by(number=number).one()
        assert rated.satisfaction == "unsatisfied" and rated.status == "escalated"
        assert rated.satisfaction_comment == "不满意！我刚下楼看了灯还是不亮"
        owner = s.get(Resident, rated.resident_id)
        owners = view_of(session=s, ticket=rated, viewer=owner, now=NOW)
        assert any(e.note and "我刚下楼看了灯还是不亮" in e.note for e in owners.timeline)
        reopened = [e for e in rated.events if e.to_status == "reopened"]
        assert reopened and reopened[0].actor.startswith("resident:")  # the resident's comment, for the handler
        strangers = follower_view(session=s, ticket=rated, now=NOW)
        assert not any(e.note and "下楼" in e.note for e in strangers.timeline)
        assert any(e.status == "reopened" for e in strangers.timeline)  # the bare status change only


@pytest.mark.parametrize(
    ("text", "rating", "status"),
    [
        ("满意", "satisfied", "closed"),
        ("满意，师傅修得很仔细", "satisfied", "closed"),
        ("还行吧，就是慢了点", "basically", "closed"),
        ("基本满意", "basically", "closed"),
        ("太差了", "unsatisfied", "escalated"),
        ("一点没修好", "unsatisfied", "escalated"),
        ("学府街的路灯还是不亮", "unsatisfied", "escalated"),
    ],
)
async def test_ratings_in_words_count_as_the_rating(backend, text, rating, status):
    number = resolved(backend, "rw2")
    events, answer = said("web:rw2", text, intent="nlu_fallback")
    assert events == [], answer
    rated = ticket(backend, number)
    assert (rated.satisfaction, rated.status) == (rating, status)


async def test_new_reports_and_questions_are_not_ratings(backend):
    assert said("web:rw3", "不满意！我刚下楼看了灯还是不亮") == (None, [])  # nothing pending
    number = resolved(backend, "rw3")
    assert said("web:rw3", "阳台的水管漏水了物业来了也没修好", intent="home_repair") == (None, [])
    assert said("web:rw3", "路灯修好了吗") == (None, [])
    assert said("web:rw3", "小区门口垃圾太多了", intent="estate_sanitation") == (None, [])
    assert said("web:rw3", "/streetlight") == (None, [])
    assert ticket(backend, number).status == "resolved"


def test_the_words_read_as_ratings():
    assert rating_in("100分满意") == "satisfied"
    assert rating_in("0分") == "unsatisfied"
    assert rating_in("不满意，还行个啥") == "unsatisfied"
    assert rating_in("还可以") == "basically"
    assert rating_in("谢谢你们") == "satisfied"
    assert rating_in("小区垃圾又多了") is None
    assert rating_in("电梯修好了没") is None
    assert rating_in("路灯又不亮了") == "unsatisfied"
    assert rating_in("亮了亮了") == "satisfied"


async def test_the_rating_action_answers_a_status_question_when_nothing_waits_for_a_rating(backend):
    with backend.begin() as s:
        number = file_ticket(s, sender="rw4", now=NOW).number
    dispatcher = CollectingDispatcher()
    await ActionRateTicket().run(dispatcher, make_tracker("web:rw4", "电梯修好了吗", "rate_satisfaction"), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_detail" and dispatcher.messages[0]["number"] == number


async def test_the_triage_takes_a_rating_with_a_reason_read_as_a_report(backend):
    """Needs the two lines ActionTriageRequest calls rating_in_words with (actions/requests.py)."""
    from actions.requests import ActionTriageRequest

    number = resolved(backend, "rw5")
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:rw5", "不满意！我刚下楼看了灯还是不亮", "streetlight")
    await ActionTriageRequest().run(dispatcher, tracker, {})
    assert dispatcher.messages[0].get("response") == "utter_rating_escalated", dispatcher.messages
    assert ticket(backend, number).satisfaction == "unsatisfied"
