"""The points ledger against a real database: invariants (hypothesis), caps, idempotency, expiry, races."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from backend.errors import DomainError, InvalidInput
from backend.models import CatalogueItem, Community, Resident
from backend.models.ledger import PointsEntry, Redemption
from backend.points.config import import_points_config
from backend.points.earning import find_resident, log_volunteer
from backend.points.expiry import expire
from backend.points.ledger import CapReached, NotEnoughPoints, adjust, award, balance
from backend.points.ranking import Rank, masked_name, monthly_ranking, ranking_csv, title_of
from backend.points.statement import history
from backend.points.supermarket import OutOfStock, catalogue, find_item, redeem
from backend.services.residents import get_or_create_resident, import_demo_residents
from backend.settings import PROJECT_ROOT

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


@pytest.fixture()
def points(registry):
    data = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
    residents = yaml.safe_load((PROJECT_ROOT / "config" / "residents.demo.yml").read_text(encoding="utf-8"))
    with registry.begin() as s:
        import_points_config(session=s, data=data)
        import_demo_residents(session=s, data=residents)
    return registry


def member_resident(session, sender, community="fl"):
    resident = get_or_create_resident(session=session, channel="web", sender_id=sender)
    resident.community_id = session.scalars(select(Community.id).filter_by(code=community)).one()
    session.flush()
    return resident


def give(session, resident, rule, ref, now=NOW, quantity=1):
    """A grid member records one activity of ``rule`` for the resident."""
    return award(
        session=session,
        resident=resident,
        rule_code=rule,
        source_kind="activity",
        source_ref=ref,
        actor="gm",
        role="grid_member",
        now=now,
        quantity=quantity,
    )


def ledger_sum(session, resident):
    return int(
        session.scalar(select(func.coalesce(func.sum(PointsEntry.amount), 0)).filter_by(resident_id=resident.id))
    )


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("award"), st.sampled_from(["env_cleanup", "waste_sorting", "volunteer_hour"]), st.integers(0, 5)
        ),
        st.tuples(st.just("adjust"), st.integers(-80, 80).filter(bool), st.integers(0, 3)),
        st.tuples(st.just("redeem"), st.sampled_from(["soap", "towel", "rice-5kg", "haircut"]), st.just(0)),
        st.tuples(st.just("expire"), st.integers(1, 14), st.just(0)),
        st.tuples(st.just("later"), st.integers(1, 200), st.just(0)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_sequence_keeps_balance_equal_to_the_ledger_and_never_negative(points, operations):
    now = NOW
    with points.begin() as s:
        resident = member_resident(s, f"prop-{id(operations)}-{len(operations)}-{hash(str(operations))}")
        resident_id = resident.id
    for kind, value, extra in operations:
        try:
            with points.begin() as s:
                resident = s.get(Resident, resident_id)
                if kind == "award":
                    give(s, resident, value, f"a{extra}", now=now)
                elif kind == "adjust":
                    adjust(
                        session=s,
                        resident=resident,
                        amount=value,
                        reason="核对",
                        actor="admin",
                        ref=f"j{extra}",
                        now=now,
                    )
                elif kind == "redeem":
                    redeem(session=s, resident=resident, item_code=value, now=now)
                elif kind == "expire":
                    expire(session=s, resident=resident, now=now, months=value)
                else:
                    now += timedelta(days=value)
        except DomainError:
            pass
        with points() as s:
            resident = s.get(Resident, resident_id)
            assert balance(session=s, resident=resident) == ledger_sum(s, resident) >= 0
            keys = s.scalars(select(PointsEntry.idempotency_key).filter_by(resident_id=resident_id)).all()
            assert len(keys) == len(set(keys))


def test_a_rule_pays_once_per_source_and_stops_at_the_monthly_cap(points):
    with points.begin() as s:
        r = member_resident(s, "cap")
        first = give(s, r, "env_cleanup", "e1")
        again = give(s, r, "env_cleanup", "e1")
        assert again.duplicate and again.entry.id == first.entry.id
        for n in range(2, 5):
            give(s, r, "env_cleanup", f"e{n}")
        assert balance(session=s, resident=r) == 40
        with pytest.raises(CapReached, match="40"):
            give(s, r, "env_cleanup", "e5")
        next_month = give(
            s,
            r,
            "env_cleanup",
            "e6",
            now=NOW + timedelta(days=12),
        )
        assert next_month.entry.amount == 10


def test_a_cap_cuts_a_large_award_and_says_so(points):
    with points.begin() as s:
        r = member_resident(s, "hours")
        result = give(s, r, "volunteer_hour", "v1", quantity=14)
        assert result.capped and result.entry.amount == 60 and "上限 60" in result.entry.reason


def test_who_may_award_what(points):
    with points.begin() as s:
        r = member_resident(s, "roles")
        with pytest.raises(InvalidInput, match="系统"):
            award(
                session=s,
                resident=r,
                rule_code="valid_report",
                source_kind="ticket",
                source_ref="GZ1",
                actor="gm",
                role="grid_member",
                now=NOW,
            )
        with pytest.raises(InvalidInput, match="网格员"):
            award(
                session=s,
                resident=r,
                rule_code="env_cleanup",
                source_kind="activity",
                source_ref="x",
                actor="system",
                role="system",
                now=NOW,
            )


def test_adjustments_need_a_reason_and_cannot_overdraw(points):
    with points.begin() as s:
        r = member_resident(s, "adj")
        with pytest.raises(InvalidInput, match="原因"):
            adjust(session=s, resident=r, amount=5, reason="  ", actor="admin", ref="1", now=NOW)
        adjust(session=s, resident=r, amount=30, reason="补记上月巡逻", actor="admin", ref="2", now=NOW)
        with pytest.raises(NotEnoughPoints):
            adjust(session=s, resident=r, amount=-31, reason="多记了", actor="admin", ref="3", now=NOW)
        adjust(session=s, resident=r, amount=-20, reason="多记了", actor="admin", ref="4", now=NOW)
        assert [e.amount for e in history(session=s, resident=r)] == [-20, 30]
        assert history(session=s, resident=r)[0].reason == "人工调整：多记了"


def test_old_points_expire_as_an_explained_entry_spending_the_oldest_first(points):
    old = NOW - timedelta(days=400)
    with points.begin() as s:
        r = member_resident(s, "old")
        for rule in ("env_cleanup", "deliberation", "civility"):
            give(s, r, rule, f"old-{rule}", now=old)
        give(
            s,
            r,
            "env_cleanup",
            "new",
            now=NOW - timedelta(days=10),
        )
        redeem(session=s, resident=r, item_code="soap", now=NOW - timedelta(days=5))  # spends 20 of the old 30
        entry = expire(session=s, resident=r, now=NOW, months=12)
        assert entry is not None and entry.amount == -10 and "到期" in entry.reason
        assert expire(session=s, resident=r, now=NOW + timedelta(days=3), months=12) is None  # once a month
        assert balance(session=s, resident=r) == 10  # the recent points stay


def test_redeeming_takes_points_and_stock_and_gives_a_code(points):
    with points.begin() as s:
        r = member_resident(s, "buyer")
        adjust(session=s, resident=r, amount=70, reason="开业赠送", actor="admin", ref="gift", now=NOW)
        assert [o.code for o in catalogue(session=s, resident=r) if o.affordable] == [
            "soap",
            "towel",
            "eggs",
            "haircut",
            "rice-5kg",
        ]
        assert find_item(session=s, resident=r, text="我想换一袋大米").code == "rice-5kg"
        redemption = redeem(session=s, resident=r, item_code="rice-5kg", now=NOW)
        assert redemption.code.startswith("DH") and len(redemption.code) == 8
        assert balance(session=s, resident=r) == 10
        item = s.scalars(select(CatalogueItem).filter_by(code="rice-5kg", community_id=r.community_id)).one()
        assert item.stock == 29
        with pytest.raises(NotEnoughPoints, match="10 分"):
            redeem(session=s, resident=r, item_code="soap", now=NOW)
        assert balance(session=s, resident=r) == 10 and item.stock == 29


def test_two_residents_racing_for_the_last_item_one_wins(points):
    with points.begin() as s:
        a, b = member_resident(s, "race-a"), member_resident(s, "race-b")
        for resident in (a, b):
            adjust(
                session=s, resident=resident, amount=100, reason="测试", actor="admin", ref=f"r{resident.id}", now=NOW
            )
        item = s.scalars(select(CatalogueItem).filter_by(code="oil-1l", community_id=a.community_id)).one()
        item.stock = 1
        ids = [a.id, b.id]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def take(resident_id):
        barrier.wait()
        try:
            with points.begin() as s:
                redeem(session=s, resident=s.get(Resident, resident_id), item_code="oil-1l", now=NOW)
            outcomes.append("won")
        except OutOfStock:
            outcomes.append("out")

    threads = [threading.Thread(target=take, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["out", "won"]
    with points() as s:
        assert s.scalars(select(CatalogueItem.stock).filter_by(code="oil-1l", community_id=a.community_id)).one() == 0
        assert s.scalar(select(func.count(Redemption.id))) == 1
        assert sorted(balance(session=s, resident=s.get(Resident, i)) for i in ids) == [20, 100]


def test_the_same_award_submitted_twice_at_once_is_credited_once(points):
    with points.begin() as s:
        resident_id = member_resident(s, "twice").id
    barrier = threading.Barrier(2)
    results = []

    def submit():
        barrier.wait()
        with points.begin() as s:
            result = give(s, s.get(Resident, resident_id), "safety_patrol", "patrol-0415")
            results.append(result.duplicate)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    with points() as s:
        assert balance(session=s, resident=s.get(Resident, resident_id)) == 8


def test_volunteer_hours_by_resident_code_or_kept_phone(points):
    with points.begin() as s:
        demo = s.scalars(select(Resident).filter_by(code="R0001")).one()
        first = log_volunteer(session=s, member_code="gm-fl-01", reference="R0001", hours=2, log_id="L1", now=NOW)
        by_phone = log_volunteer(
            session=s, member_code="gm-fl-01", reference="139 0000 0001", hours=1, log_id="L2", now=NOW
        )
        retry = log_volunteer(session=s, member_code="gm-fl-01", reference="r0001", hours=2, log_id="L1", now=NOW)
        assert (first.entry.amount, by_phone.entry.amount, retry.duplicate) == (10, 5, True)
        assert balance(session=s, resident=demo) == 15 and "王丽" in first.entry.reason
        with pytest.raises(DomainError, match="没有找到"):
            find_resident(session=s, reference="13812345678")
        with pytest.raises(InvalidInput):
            log_volunteer(session=s, member_code="gm-fl-01", reference="R0001", hours=0, log_id="L3", now=NOW)


def test_monthly_ranking_masks_names_and_names_the_stars(points):
    with points.begin() as s:
        community = s.scalars(select(Community).filter_by(code="fl")).one()
        for code, hours in (("R0001", 3), ("R0002", 5)):
            log_volunteer(session=s, member_code="gm-fl-01", reference=code, hours=hours, log_id=f"rk-{code}", now=NOW)
        other = member_resident(s, "spender")
        give(s, other, "env_cleanup", "rk")
        redeem_ready = adjust(session=s, resident=other, amount=15, reason="测试", actor="admin", ref="rk2", now=NOW)
        assert redeem_ready.amount == 15
        redeem(session=s, resident=other, item_code="soap", now=NOW)  # spending does not lower the ranking
        ranking = monthly_ranking(session=s, community_id=community.id, month="2026-11")
        assert [(line.rank, line.shown_name, line.points) for line in ranking][:2] == [(1, "吴**", 25), (2, "周**", 15)]
        assert masked_name(other).startswith("R") and "*" in masked_name(other)
        assert title_of(ranking[0]) == "本月积分之星"
        assert "吴**" in ranking_csv(ranking) and "吴阿姨" not in ranking_csv(ranking)
        assert monthly_ranking(session=s, community_id=community.id, month="2026-10") == []


def test_a_confirmed_report_and_a_rating_each_pay_once(points):
    from backend.points.earning import award_rating, award_valid_report
    from backend.tickets.service import create_ticket

    with points.begin() as s:
        r = member_resident(s, "reporter")
        ticket = create_ticket(
            session=s,
            resident=r,
            category="road",
            description="望江路井盖没了",
            place_text="望江路",
            entities={},
            now=NOW,
        )
        assert award_valid_report(session=s, ticket=ticket, actor="handler:gm-wj-01", now=NOW).entry.amount == 5
        assert award_valid_report(session=s, ticket=ticket, actor="handler:gm-wj-01", now=NOW).duplicate
        assert award_rating(session=s, ticket=ticket, now=NOW).entry.amount == 1
        assert balance(session=s, resident=r) == 6
        assert [e.reason for e in history(session=s, resident=r)][-1] == f"有效上报：工单 {ticket.number}"


def test_a_residents_rank_is_their_line_of_the_whole_ranking(points):
    """rank_of (two aggregates) against monthly_ranking (the whole list): ties, adjustments, other months, nothing."""
    from backend.points.ranking import rank_of

    with points.begin() as s:
        community = s.scalars(select(Community).filter_by(code="fl")).one()
        people = [member_resident(s, f"rk-{n}") for n in range(7)]
        for n, resident in enumerate(people[:6]):
            for k in range(n % 3 + 1):  # 1, 2 or 3 activities: three groups of equal points
                give(s, resident, "env_cleanup", f"rk-{n}-{k}")
        give(s, people[5], "waste_sorting", "rk-5-extra")  # breaks one tie
        adjust(session=s, resident=people[0], amount=500, reason="测试", actor="admin", ref="rk-adj", now=NOW)
        give(s, people[6], "env_cleanup", "rk-6-old", now=NOW - timedelta(days=40))  # last month only
        outsider = member_resident(s, "rk-outsider", community="wj")
        give(s, outsider, "volunteer_hour", "rk-out", quantity=3)

        ranking = monthly_ranking(session=s, community_id=community.id, month="2026-11")
        assert len({line.points for line in ranking}) < len(ranking)  # the set really has ties
        for line in ranking:
            resident = s.get(Resident, line.resident_id)
            assert rank_of(session=s, resident=resident, month="2026-11") == line
        assert rank_of(session=s, resident=people[6], month="2026-11") is None
        assert rank_of(session=s, resident=people[6], month="2026-10") is not None
        assert rank_of(session=s, resident=outsider, month="2026-11") == Rank(
            rank=1, resident_id=outsider.id, shown_name=masked_name(outsider), points=outsider_points(s, outsider)
        )
        no_community = get_or_create_resident(session=s, channel="web", sender_id="rk-nowhere")
        assert rank_of(session=s, resident=no_community, month="2026-11") is None


def outsider_points(session, resident):
    return int(
        session.scalar(
            select(func.sum(PointsEntry.amount)).filter_by(resident_id=resident.id).where(PointsEntry.amount > 0)
        )
    )
