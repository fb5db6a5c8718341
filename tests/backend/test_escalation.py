"""The escalation clock with an injected clock (no sleeping): overdue tickets climb one level at a time."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from backend.errors import DomainError, InvalidRegistry
from backend.models import Ticket
from backend.services.residents import get_or_create_resident
from backend.tickets.escalation import default_limits, escalate_overdue, load_limits, report_in
from backend.tickets.service import create_ticket, transition
from backend.worker import escalation_round
from tests.news import news

FILED = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
LIMITS = {
    "grid": timedelta(hours=48),
    "community": timedelta(hours=72),
    "street": timedelta(hours=120),
    "department": None,
}


def filed(sessions, sender="e", building=3):
    with sessions.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id=sender)
        return create_ticket(
            session=s,
            resident=resident,
            category="elevator",
            description="电梯坏了",
            place_text=f"枫林苑{building}号楼",
            entities={"building": building},
            now=FILED,
        ).id


def levels_at(sessions, ticket_id, hours_after_filing):
    with sessions.begin() as s:
        escalate_overdue(session=s, now=FILED + timedelta(hours=hours_after_filing), limits=LIMITS)
        ticket = s.get(Ticket, ticket_id)
        return ticket.escalation_level, ticket.status


def test_an_open_ticket_climbs_one_level_per_limit(registry):
    ticket_id = filed(registry)
    assert levels_at(registry, ticket_id, 47) == ("grid", "assigned")
    assert levels_at(registry, ticket_id, 49) == ("community", "escalated")
    assert levels_at(registry, ticket_id, 49 + 71) == ("community", "escalated")  # the clock restarted
    assert levels_at(registry, ticket_id, 49 + 73) == ("street", "escalated")
    assert levels_at(registry, ticket_id, 49 + 73 + 121) == ("department", "escalated")
    assert levels_at(registry, ticket_id, 2000) == ("department", "escalated")  # the top stays
    with registry() as s:
        notes = [e.note for e in s.get(Ticket, ticket_id).events if e.to_status == "escalated"]
        assert notes[0] == "在网格超过 48 小时未办结，自动吹哨，升级到社区"
        assert len(notes) == 3


def test_a_resolved_ticket_does_not_move_and_a_very_late_one_moves_once_per_round(registry):
    done = filed(registry, sender="d", building=4)
    late = filed(registry, sender="l", building=5)
    with registry.begin() as s:
        ticket = s.get(Ticket, done)
        transition(session=s, ticket=ticket, to="resolved", actor="gm", now=FILED, note="已修好")
    moved = escalation_round(sessions=registry, now=FILED + timedelta(days=30))
    with registry() as s:
        assert [number for number, _ in moved] == [s.get(Ticket, late).number]
        assert s.get(Ticket, done).escalation_level == "grid"


def test_the_clock_reads_only_tickets_old_enough_to_be_late(registry):
    """It runs every minute: reading every open ticket made the worker's memory grow with them (make bench)."""
    young = [filed(registry, sender=f"y{i}", building=3 + i) for i in range(3)]
    old = filed(registry, sender="o", building=8)
    with registry.begin() as s:
        s.get(Ticket, old).created_at = FILED - timedelta(hours=47)  # at its level for 48 h at FILED + 1 h
    read = set()
    with registry.begin() as s:
        event.listen(s, "loaded_as_persistent", lambda _s, obj: isinstance(obj, Ticket) and read.add(obj.id))
        moved = escalate_overdue(session=s, now=FILED + timedelta(hours=1, minutes=1), limits=LIMITS)
        assert [number for number, _ in moved] == [s.get(Ticket, old).number]
    assert read == {old} and not read & set(young)


def test_the_limits_file(tmp_path):
    assert default_limits()["department"] is None and default_limits()["grid"] == timedelta(hours=48)
    bad = tmp_path / "escalation.yml"
    bad.write_text("hours_at_level: {grid: 0, community: 1, street: 1, department: null}\n", encoding="utf-8")
    with pytest.raises(InvalidRegistry, match="大于 0"):
        load_limits(bad)
    bad.write_text("hours_at_level: {grid: 1}\n", encoding="utf-8")
    with pytest.raises(InvalidRegistry):
        load_limits(bad)


def test_a_department_reports_in_at_the_top_and_takes_the_ticket_over(registry):
    ticket_id = filed(registry, sender="dep", building=6)
    with registry.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        with pytest.raises(DomainError, match="没有在等职能部门报到"):
            report_in(session=s, ticket=ticket, department_code="city-mgmt", actor="department:city-mgmt", now=FILED)
    for hours in (49, 49 + 73, 49 + 73 + 121):
        levels_at(registry, ticket_id, hours)
    with registry.begin() as s:
        ticket = s.get(Ticket, ticket_id)
        with pytest.raises(DomainError, match="没有代码为 nowhere"):
            report_in(session=s, ticket=ticket, department_code="nowhere", actor="x", now=FILED)
        later = FILED + timedelta(hours=250)
        department = report_in(
            session=s, ticket=ticket, department_code="city-mgmt", actor="department:city-mgmt", now=later
        )
        assert department.name == "区城市管理局"
        assert (ticket.status, ticket.escalation_level, ticket.department_code) == (
            "in_progress",
            "department",
            "city-mgmt",
        )
        assert ticket.events[-1].note == "区城市管理局报到，接手办理"
        assert ticket.events[-1].actor == "department:city-mgmt"
        assert len(news(s, number=ticket.number)) >= 4  # each move told the resident
