"""What the chat's points answers read besides the ledger: the community, the earning rules, a redeemed item."""

from datetime import datetime, timezone

import yaml

from backend.models import Community
from backend.points.config import import_points_config
from backend.points.ledger import award
from backend.points.membership import join_community
from backend.points.resident_views import community_of, earning_rules, redeemed_item
from backend.points.supermarket import redeem
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from tests.factories import file_ticket

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)


def _points_config(session):
    data = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
    import_points_config(session=session, data=data)


def test_a_resident_without_a_community_has_none_and_one_who_joined_has_theirs(registry):
    with registry.begin() as s:
        file_ticket(s, now=NOW, sender="a")  # at 枫林苑3号楼: the 枫林社区 may be joined
        resident = get_or_create_resident(session=s, channel="web", sender_id="a")
        assert community_of(session=s, resident=resident) is None
        join_community(session=s, resident=resident, community_code="fl", now=NOW)
        community = community_of(session=s, resident=resident)
        assert isinstance(community, Community) and community.name == "枫林社区"


def test_the_rules_that_give_points_in_the_order_configured(registry):
    with registry.begin() as s:
        _points_config(s)
        rules = earning_rules(session=s)
        assert [r.code for r in rules][:3] == ["env_cleanup", "civility", "volunteer_hour"]
        assert "adjustment" not in [r.code for r in rules]  # worth nothing: not a way to earn
        assert all(r.points > 0 for r in rules)


def test_the_item_a_redemption_took(registry):
    with registry.begin() as s:
        _points_config(s)
        file_ticket(s, now=NOW, sender="a")
        resident = get_or_create_resident(session=s, channel="web", sender_id="a")
        join_community(session=s, resident=resident, community_code="fl", now=NOW)
        for rule in ("env_cleanup", "civility"):  # 20 points, the price of the soap
            award(
                session=s,
                resident=resident,
                rule_code=rule,
                source_kind="activity",
                source_ref=rule,
                actor="gm",
                role="grid_member",
                now=NOW,
            )
        redemption = redeem(session=s, resident=resident, item_code="soap", now=NOW)
        item = redeemed_item(session=s, redemption=redemption)
        assert item is not None and item.name == "洗衣皂"
