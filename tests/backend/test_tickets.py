import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from backend.errors import InvalidInput
from backend.models import Resident, Ticket
from backend.services.residents import get_or_create_resident
from backend.tickets.lifecycle import InvalidTransition
from backend.tickets.routing import describe, route
from backend.tickets.service import (
    create_ticket,
    find_duplicate,
    follow,
    get_ticket_for_resident,
    tickets_for_resident,
    transition,
)
from backend.triage.entities import extract

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


def resident(session, sender="web:a"):
    return get_or_create_resident(session=session, channel="web", sender_id=sender)


def file(session, text, category, who="web:a", now=NOW, **kw):
    return create_ticket(
        session=session,
        resident=resident(session, who),
        category=category,
        description=text,
        place_text=text,
        entities=extract(text),
        now=now,
        **kw,
    )


def test_number_deadline_route_and_timeline(registry):
    with registry.begin() as s:
        t = file(s, "枫林苑三号楼电梯又坏了", "elevator")
        assert t.number == "GZ20261121-0001"
        assert (t.matter, t.tier, t.status) == ("shared", "immediate", "assigned")
        assert t.needs_dispatch == 0 and t.assignee_id is not None
        assert t.deadline.astimezone(timezone(timedelta(hours=8))).strftime("%m-%d %H:%M") == "11-21 23:59"
        assert [e.kind for e in t.events] == ["created", "assigned"]
        t2 = file(s, "学府街路灯不亮", "streetlight")
        assert t2.number == "GZ20261121-0002" and t2.department_code == "city-mgmt"


def test_a_typo_in_the_estate_name_still_routes(registry):
    with registry.begin() as s:
        t = file(s, "锦秀花园5栋楼道灯坏了", "building_common")
        assert t.needs_dispatch == 0
        u = file(s, "我们那边有个井盖没了", "road")
        assert u.needs_dispatch == 1 and u.grid_id is None and u.community_id is not None
        assert u.events[-1].kind == "needs_dispatch"


def test_lifecycle_refuses_invalid_moves_in_chinese(registry):
    with registry.begin() as s:
        t = file(s, "枫林苑3号楼电梯坏了", "elevator")
        with pytest.raises(InvalidTransition, match="不能改为"):
            transition(session=s, ticket=t, to="closed", actor="gm", now=NOW)
        transition(session=s, ticket=t, to="in_progress", actor="gm", now=NOW)
        with pytest.raises(InvalidInput, match="办理结果"):
            transition(session=s, ticket=t, to="resolved", actor="gm", now=NOW, note=" ")
        transition(session=s, ticket=t, to="resolved", actor="gm", now=NOW, note="已更换门机板")
        transition(session=s, ticket=t, to="reopened", actor="resident", now=NOW, note="又坏了")
        assert [e.to_status for e in t.events if e.kind == "status"] == ["in_progress", "resolved", "reopened"]


def test_duplicates_within_seven_days_at_the_same_building(registry):
    with registry.begin() as s:
        first = file(s, "枫林苑3号楼电梯坏了", "elevator")
        text = "三号楼 枫林苑 电梯又停了"
        where = route(session=s, place_text=text, entities=extract(text))
        assert find_duplicate(session=s, category="elevator", where=where, now=NOW + timedelta(days=2)) is first
        assert find_duplicate(session=s, category="elevator", where=where, now=NOW + timedelta(days=8)) is None
        assert find_duplicate(session=s, category="building_common", where=where, now=NOW) is None
        transition(session=s, ticket=first, to="in_progress", actor="gm", now=NOW)
        transition(session=s, ticket=first, to="resolved", actor="gm", now=NOW, note="修好了")
        assert find_duplicate(session=s, category="elevator", where=where, now=NOW) is None


def test_the_duplicate_check_reads_one_row_however_many_duplicates_are_open(registry, engine):
    """Many residents report one broken lift as separate cases: the check fetches the newest, not all of them."""
    with registry.begin() as s:
        at = [NOW + timedelta(minutes=n) for n in range(12)]
        filed = [file(s, "枫林苑3号楼电梯坏了", "elevator", who=f"web:{n}", now=when) for n, when in enumerate(at)]
        text = "枫林苑3号楼电梯又停了"
        where = route(session=s, place_text=text, entities=extract(text))
        fetched: list[int] = []

        def count(conn, cursor, statement, parameters, context, executemany):
            if "FROM tickets" in statement and "ORDER BY tickets.created_at DESC" in statement:
                fetched.append(cursor.rowcount if "LIMIT" in statement else len(filed))  # SQLite says -1

        event.listen(engine, "after_cursor_execute", count)
        try:
            found = find_duplicate(session=s, category="elevator", where=where, now=NOW + timedelta(hours=1))
        finally:
            event.remove(engine, "after_cursor_execute", count)
        assert found is filed[-1]
        assert fetched in ([1], [-1])


def test_a_resident_sees_own_and_followed_tickets_only(registry):
    with registry.begin() as s:
        mine = file(s, "枫林苑3号楼电梯坏了", "elevator", who="web:a")
        theirs = file(s, "望江路井盖没了", "road", who="web:b")
        a, b = resident(s, "web:a"), resident(s, "web:b")
        assert get_ticket_for_resident(session=s, resident=a, number=theirs.number) is None
        assert get_ticket_for_resident(session=s, resident=a, number="GZ20990101-0001") is None
        assert get_ticket_for_resident(session=s, resident=a, number="<script>") is None
        assert get_ticket_for_resident(session=s, resident=a, number=mine.number.lower()) is mine
        follow(session=s, ticket=theirs, resident=a, now=NOW)
        follow(session=s, ticket=theirs, resident=a, now=NOW)
        assert get_ticket_for_resident(session=s, resident=a, number=theirs.number) is theirs
        assert [t.number for t in tickets_for_resident(session=s, resident=a)] == [theirs.number, mine.number]
        assert tickets_for_resident(session=s, resident=b) == [theirs]


def test_html_and_sql_in_descriptions_are_stored_verbatim(registry):
    text = "<b>3号楼</b>'; DROP TABLE tickets;-- 电梯坏了"
    with registry.begin() as s:
        number = file(s, text, "elevator").number
    with registry() as s:
        assert s.scalars(select(Ticket).filter_by(number=number)).one().description == text


def test_bad_values_are_refused(registry):
    with registry.begin() as s:
        with pytest.raises(InvalidInput):
            file(s, "x", "not_a_category")
        with pytest.raises(InvalidInput):
            file(s, "电梯坏了", "elevator", urgency="very")
        with pytest.raises(InvalidInput):
            file(s, "   ", "elevator")


def test_200_concurrent_creations_get_200_distinct_numbers(registry):
    with registry.begin() as s:
        for i in range(200):
            resident(s, f"web:c{i}")
    numbers: list[str] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def worker(start: int) -> None:
        for i in range(start, 200, 8):
            try:
                with registry.begin() as s:
                    r = s.scalars(select(Resident).filter_by(sender_id=f"web:c{i}")).one()
                    t = create_ticket(
                        session=s,
                        resident=r,
                        category="road",
                        description="井盖没了",
                        place_text="望江路",
                        entities={"road": "望江路"},
                        now=NOW,
                    )
                    number = t.number
                with lock:
                    numbers.append(number)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(numbers) == 200 and len(set(numbers)) == 200
    assert sorted(numbers)[-1] == "GZ20261121-0200"


def test_day_boundary_is_shanghai_time(registry):
    late = datetime(2026, 11, 21, 16, 30, tzinfo=timezone.utc)  # 00:30 on the 22nd in Shanghai
    with registry.begin() as s:
        assert file(s, "望江路井盖没了", "road", now=late).number == "GZ20261122-0001"


@pytest.mark.parametrize(
    ("text", "shown", "queries"),
    [
        ("锦秀花园5栋楼道灯坏了", "锦绣花园 5号楼（枫林社区第三网格）", 2),
        ("望江新村9号楼单元门坏了", "望江新村 9号楼（望江社区第二网格）", 2),
        ("建设路上的井盖松了", "建设路（望江社区第二网格）", 3),  # no estate matched: the roads and places too
        ("学府街东头的路灯不亮", "学府街（枫林社区第二网格）", 3),
    ],
)
def test_a_route_reads_the_registry_in_few_queries(registry, engine, text, shown, queries):
    """The names to match, then what the match needs (community, buildings, grid, its members) in one query.

    It was five either way: every relationship the route touched was a lazy
    load of its own, a round trip each while the action server's event loop
    waited.
    """
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: statements.append(sql))
    with registry() as s:
        where = route(session=s, place_text=text, entities=extract(text))
        assert where.resolved and describe(where) == shown
        assert where.member is not None and where.community is not None
        assert where.grid is not None and where.grid.community is not None
        if where.building is not None:
            assert where.building.grid is where.grid
    assert len(statements) == queries, statements
