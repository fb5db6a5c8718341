"""On-time rates (按时办结率) per tier and community, against a real database and through the public API."""

from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from backend.models import Ticket
from backend.services.residents import get_or_create_resident
from backend.tickets.service import create_ticket, transition
from backend.tickets.timeliness import on_time_rates
from backend.web.app import create_app

FILED = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


def ticket(s, sender, category, place, building):
    resident = get_or_create_resident(session=s, channel="web", sender_id=sender)
    return create_ticket(
        session=s,
        resident=resident,
        category=category,
        description="坏了",
        place_text=place,
        entities={"building": building},
        now=FILED,
    )


def test_on_time_late_and_not_yet_due(registry, settings):
    with registry.begin() as s:
        quick = ticket(s, "a", "elevator", "枫林苑3号楼", 3)  # immediate tier: due the same day
        slow = ticket(s, "b", "building_common", "望江新村9号楼", 9)  # negotiated tier: 3 days
        late = ticket(s, "c", "elevator", "枫林苑4号楼", 4)
        ticket(s, "d", "building_common", "枫林苑5号楼", 5)  # open, not due yet on the 21st: not counted
        transition(session=s, ticket=quick, to="resolved", actor="gm", now=FILED + timedelta(hours=3), note="修好了")
        transition(session=s, ticket=slow, to="resolved", actor="gm", now=FILED + timedelta(days=5), note="修好了")
        assert late.status == "assigned"
    now = FILED + timedelta(days=1)
    with registry() as s:
        by_tier = {r.group: (r.counted, r.on_time) for r in on_time_rates(session=s, by="tier", now=now)}
        assert by_tier == {"小事急事 · 立说立办": (2, 1), "一般诉求 · 协商共办": (1, 0)}
        by_community = {r.group: r.rate for r in on_time_rates(session=s, by="community", now=now)}
        assert by_community == {"枫林社区": 0.5, "望江社区": 0.0}
        assert s.query(Ticket).count() == 4
    with TestClient(create_app(settings)) as client:
        rows = client.get("/api/stats/on-time?by=community").json()
        assert {row["group"] for row in rows} == {"枫林社区", "望江社区"}
        assert client.get("/api/stats/on-time?by=resident").status_code == 422
