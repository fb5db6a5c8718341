"""评单 against a real database: rating closes or escalates, silence closes as 默认满意, rates per group."""

from datetime import datetime, timedelta, timezone

import pytest
import yaml

from backend.errors import InvalidInput, NotFound
from backend.models import Ticket
from backend.points.config import import_points_config
from backend.points.ledger import balance
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from backend.tickets.ratings import rating_from_text
from backend.tickets.satisfaction import close_unrated, rate_ticket, satisfaction_rates
from backend.tickets.service import create_ticket, transition
from backend.worker import close_round
from tests.news import news, text_of

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


@pytest.fixture()
def world(registry):
    data = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
    with registry.begin() as s:
        import_points_config(session=s, data=data)
    return registry


def resolved(sessions, sender="r1", place="枫林苑3号楼", building=3, category="elevator", at=NOW):
    with sessions.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id=sender)
        ticket = create_ticket(
            session=s,
            resident=resident,
            category=category,
            description="坏了",
            place_text=place,
            entities={"building": building},
            now=at,
        )
        transition(session=s, ticket=ticket, to="in_progress", actor="gm", now=at)
        transition(session=s, ticket=ticket, to="resolved", actor="gm", now=at, note="已更换电机")
        return ticket.id


def test_resolving_asks_the_filer_to_rate_with_buttons(world):
    ticket_id = resolved(world)
    with world() as s:
        ask = news(s, number=s.get(Ticket, ticket_id).number)[-1]
        assert "评单" in text_of(ask) and [b["title"] for b in ask.payload["buttons"]] == ["满意", "基本满意", "不满意"]
        assert s.get(Ticket, ticket_id).resolved_at == NOW


def test_satisfied_closes_and_earns_the_rating_point(world):
    ticket_id = resolved(world)
    with world.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="r1")
        result = rate_ticket(
            session=s,
            ticket=s.get(Ticket, ticket_id),
            resident=resident,
            rating="satisfied",
            comment="师傅很负责",
            now=NOW,
        )
        assert result.points == 1 and result.ticket.status == "closed"
        assert result.ticket.satisfaction_comment == "师傅很负责" and balance(session=s, resident=resident) == 1
        with pytest.raises(InvalidInput):
            rate_ticket(session=s, ticket=s.get(Ticket, ticket_id), resident=resident, rating="satisfied", now=NOW)


def test_unsatisfied_reopens_and_escalates_one_level(world):
    ticket_id = resolved(world)
    with world.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="r1")
        result = rate_ticket(
            session=s, ticket=s.get(Ticket, ticket_id), resident=resident, rating="unsatisfied", now=NOW
        )
        ticket = result.ticket
        assert result.escalated_to == "community" and ticket.status == "escalated"
        assert ticket.escalation_level == "community"
        assert [e.to_status for e in ticket.events][-2:] == ["reopened", "escalated"]


def test_only_the_filer_rates(world):
    ticket_id = resolved(world)
    with world.begin() as s:
        stranger = get_or_create_resident(session=s, channel="web", sender_id="someone")
        with pytest.raises(NotFound):
            rate_ticket(session=s, ticket=s.get(Ticket, ticket_id), resident=stranger, rating="unsatisfied", now=NOW)


def test_silence_closes_as_default_satisfied_after_the_configured_days(world):
    old = resolved(world, sender="a", at=NOW - timedelta(days=4))
    recent = resolved(world, sender="b", place="锦绣花园5栋", building=5, at=NOW - timedelta(days=1))
    closed = close_round(sessions=world, days=3, now=NOW)
    with world() as s:
        assert closed == [s.get(Ticket, old).number]
        assert s.get(Ticket, old).satisfaction == "default" and s.get(Ticket, old).status == "closed"
        assert s.get(Ticket, recent).status == "resolved"
    with world.begin() as s:
        assert close_unrated(session=s, now=NOW, days=3) == []


def test_rates_per_community_category_and_month(world):
    a = resolved(world, sender="a")
    b = resolved(world, sender="b", place="望江新村9号楼", building=9, category="building_common")
    with world.begin() as s:
        for sender, ticket_id, rating in (("a", a, "satisfied"), ("b", b, "unsatisfied")):
            resident = get_or_create_resident(session=s, channel="web", sender_id=sender)
            rate_ticket(session=s, ticket=s.get(Ticket, ticket_id), resident=resident, rating=rating, now=NOW)
    with world() as s:
        by_community = {r.group: (r.rated, r.rate) for r in satisfaction_rates(session=s, by="community")}
        assert by_community == {"枫林社区": (1, 1.0), "望江社区": (1, 0.0)}
        assert {r.group for r in satisfaction_rates(session=s, by="month")} == {"2026-11"}
        assert {r.group for r in satisfaction_rates(session=s, by="category")} == {"电梯", "楼道及公共部位"}


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("非常满意", "satisfied"),
        ("还行吧", "basically"),
        ("没修好，不满意", "unsatisfied"),
        ("谢谢师傅", "satisfied"),
        ("嗯", None),
    ],
)
def test_typed_ratings(text, rating):
    assert rating_from_text(text) == rating


def test_the_public_figures_api(world, settings):
    from fastapi.testclient import TestClient

    from backend.web.app import create_app

    a = resolved(world, sender="a")
    with world.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="a")
        rate_ticket(session=s, ticket=s.get(Ticket, a), resident=resident, rating="basically", now=NOW)
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/stats/satisfaction").json() == [
            {"group": "枫林社区", "rated": 1, "satisfied": 1, "rate": 1.0}
        ]
        assert client.get("/api/stats/satisfaction?by=month").json()[0]["group"] == "2026-11"
        assert client.get("/api/stats/satisfaction?by=resident").status_code == 422


def test_after_unsatisfied_the_next_result_is_rated_again(world):
    ticket_id = resolved(world)
    with world.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="r1")
        ticket = s.get(Ticket, ticket_id)
        rate_ticket(session=s, ticket=ticket, resident=resident, rating="unsatisfied", now=NOW)
        transition(session=s, ticket=ticket, to="resolved", actor="community", now=NOW, note="社区协调重新维修")
        assert ticket.satisfaction is None
        assert (
            rate_ticket(session=s, ticket=ticket, resident=resident, rating="satisfied", now=NOW).ticket.status
            == "closed"
        )
        notes = [e.note for e in ticket.events if e.note and e.note.startswith("居民评价")]
        assert notes == ["居民评价：不满意", "居民评价：满意"]
