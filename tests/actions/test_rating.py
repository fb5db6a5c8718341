"""评单 actions with real trackers: by button, in words, escalation, and nothing to rate."""

from datetime import datetime, timezone

from rasa_sdk.executor import CollectingDispatcher

from actions.rating import ActionRateTicket
from backend.models import Ticket
from backend.services.residents import get_or_create_resident
from backend.tickets.service import create_ticket, transition
from tests.actions.conftest import make_tracker

NOW = datetime.now(timezone.utc)


def resolved(sessions, sender):
    with sessions.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id=sender)
        ticket = create_ticket(
            session=s,
            resident=resident,
            category="streetlight",
            description="学府街路灯坏了",
            place_text="学府街",
            entities={},
            now=NOW,
        )
        transition(session=s, ticket=ticket, to="in_progress", actor="gm", now=NOW)
        transition(session=s, ticket=ticket, to="resolved", actor="gm", now=NOW, note="已修复")
        return ticket.number


async def rate(sender, text, entities=None):
    dispatcher = CollectingDispatcher()
    await ActionRateTicket().run(dispatcher, make_tracker(sender, text, "rate_satisfaction", entities=entities), {})
    return dispatcher.messages[0]


async def test_the_rating_button_closes_the_ticket(backend):
    number = resolved(backend, "w1")
    payload = f'/rate_satisfaction{{"ticket_no": "{number}", "rating": "satisfied"}}'
    answer = await rate(
        "web:w1", payload, [{"entity": "ticket_no", "value": number}, {"entity": "rating", "value": "satisfied"}]
    )
    assert answer.get("response") == "utter_rating_thanks", answer.get("text")
    assert answer["rating"] == "满意"
    with backend() as s:
        assert s.query(Ticket).filter_by(number=number).one().status == "closed"


async def test_typed_dissatisfaction_with_a_comment_escalates_the_latest_resolved_ticket(backend):
    number = resolved(backend, "w2")
    answer = await rate("web:w2", "不满意，路灯晚上还是不亮")
    assert answer["response"] == "utter_rating_escalated" and answer["level"] == "社区"
    with backend() as s:
        ticket = s.query(Ticket).filter_by(number=number).one()
        assert ticket.status == "escalated" and ticket.satisfaction_comment == "不满意，路灯晚上还是不亮"


async def test_an_unclear_answer_gets_the_buttons_and_someone_elses_ticket_is_not_rated(backend):
    number = resolved(backend, "w3")
    answer = await rate("web:w3", "嗯")
    assert answer["response"] == "utter_ask_rating" and len(answer["buttons"]) == 3
    stranger = await rate("web:other", f"{number} 不满意", [{"entity": "ticket_no", "value": number}])
    assert stranger["response"] == "utter_thanks_for_rating"
    with backend() as s:
        assert s.query(Ticket).filter_by(number=number).one().status == "resolved"


async def test_a_compliment_with_nothing_to_rate_is_thanked(backend):
    answer = await rate("web:w4", "你们服务真好，满意")
    assert answer["response"] == "utter_thanks_for_rating"
