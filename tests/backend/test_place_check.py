"""A report's place is checked against the registry before filing, and a ticket to follow is found there."""

from datetime import datetime, timedelta, timezone

from backend.services.residents import get_or_create_resident
from backend.tickets.place_check import PlaceCheck, check_report_place
from tests.factories import file_ticket

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)


def _check(session, text, *, sender="asker", category="elevator", now=NOW):
    resident = get_or_create_resident(session=session, channel="web", sender_id=sender)
    return check_report_place(session=session, resident=resident, place_text=text, category=category, now=now)


def test_a_building_the_registry_knows_resolves_with_its_description(registry):
    with registry.begin() as s:
        found = _check(s, "枫林苑3号楼")
        assert found.resolved and found.duplicate_of is None and found.estate_without_building is None
        assert "枫林苑" in found.display and "3" in found.display


def test_an_estate_without_its_building_names_the_estate_to_ask_about(registry):
    with registry.begin() as s:
        assert _check(s, "枫林苑") == PlaceCheck(resolved=False, estate_without_building="枫林苑")
        assert _check(s, "火星基地") == PlaceCheck(resolved=False)


def test_another_residents_open_ticket_there_is_offered_but_not_ones_own(registry):
    with registry.begin() as s:
        theirs = file_ticket(s, now=NOW - timedelta(days=1), sender="neighbour")
        assert _check(s, "枫林苑3号楼").duplicate_of == theirs.number
        assert _check(s, "枫林苑3号楼", category="streetlight").duplicate_of is None  # another kind of problem
        assert _check(s, "枫林苑3号楼", sender="neighbour").duplicate_of is None  # their own: nothing to follow
        assert _check(s, "枫林苑3号楼", now=NOW + timedelta(days=8)).duplicate_of is None  # too long ago
