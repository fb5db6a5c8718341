"""A resident joins the community their tickets point to only when they say yes, and when is recorded."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from backend.errors import InvalidInput, NotFound
from backend.models import Community, Resident
from backend.points.membership import join_community, ticket_communities
from backend.services.residents import get_or_create_resident
from tests.factories import file_ticket

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)


def _file(session, sender, place, building, *, category="elevator"):
    entities = {"building": building} if building is not None else {}
    return file_ticket(
        session,
        now=NOW,
        sender=sender,
        category=category,
        description=f"{place}有问题",
        place_text=place,
        entities=entities,
    )


def test_the_communities_of_the_buildings_a_resident_filed_at_most_tickets_first(registry):
    with registry.begin() as s:
        _file(s, "a", "碧湖丽苑5号楼", 5)
        _file(s, "a", "枫林苑8号楼", 8)
        _file(s, "a", "枫林苑8号楼", 8, category="building_common")
        _file(s, "someone-else", "望江新村2号楼", 2)
        resident = get_or_create_resident(session=s, channel="web", sender_id="a")
        found = ticket_communities(session=s, resident=resident)
        assert [(c.code, c.name, c.tickets) for c in found] == [("fl", "枫林社区", 2), ("wj", "望江社区", 1)]
        assert [c.code for c in ticket_communities(session=s, resident=resident, limit=1)] == ["fl"]


def test_a_road_or_a_resident_without_tickets_points_nowhere(registry):
    with registry.begin() as s:
        ticket = file_ticket(
            s,
            now=NOW,
            sender="road",
            category="streetlight",
            description="枫林路的路灯不亮",
            place_text="枫林路公交站",
            entities={"road": "枫林路"},
        )
        assert ticket.building_id is None  # the road is not a building: it says nothing of where they live
        road = get_or_create_resident(session=s, channel="web", sender_id="road")
        nobody = get_or_create_resident(session=s, channel="web", sender_id="nobody")
        assert ticket_communities(session=s, resident=road) == []
        assert ticket_communities(session=s, resident=nobody) == []


def test_joining_sets_the_community_and_records_when_the_resident_agreed(registry):
    with registry.begin() as s:
        _file(s, "b", "枫林苑8号楼", 8)
        resident = get_or_create_resident(session=s, channel="web", sender_id="b")
        assert resident.community_id is None and resident.community_consent_at is None
        community = join_community(session=s, resident=resident, community_code="fl", now=NOW)
        assert community.name == "枫林社区"
    with registry.begin() as s:
        stored = s.scalars(select(Resident).filter_by(sender_id="b")).one()
        assert stored.community_id == s.scalars(select(Community.id).filter_by(code="fl")).one()
        assert stored.community_consent_at == NOW
        assert stored.consent_at is None  # the phone's consent is another matter, untouched
        # Saying yes again changes nothing, not even when they agreed.
        join_community(session=s, resident=stored, community_code="fl", now=NOW + timedelta(hours=1))
        assert stored.community_consent_at == NOW


def test_only_a_community_of_the_residents_own_tickets_can_be_joined(registry):
    with registry.begin() as s:
        _file(s, "c", "枫林苑8号楼", 8)
        _file(s, "d", "碧湖丽苑5号楼", 5)
        resident = get_or_create_resident(session=s, channel="web", sender_id="c")
        with pytest.raises(NotFound):
            join_community(session=s, resident=resident, community_code="wj", now=NOW)  # someone else's ticket
        with pytest.raises(NotFound):
            join_community(session=s, resident=resident, community_code="nowhere", now=NOW)
        assert resident.community_id is None and resident.community_consent_at is None


def test_a_resident_of_another_community_is_not_moved(registry):
    with registry.begin() as s:
        _file(s, "e", "枫林苑8号楼", 8)
        resident = get_or_create_resident(session=s, channel="web", sender_id="e")
        resident.community_id = s.scalars(select(Community.id).filter_by(code="wj")).one()
        with pytest.raises(InvalidInput, match="望江社区"):
            join_community(session=s, resident=resident, community_code="fl", now=NOW)
        assert resident.community_consent_at is None
