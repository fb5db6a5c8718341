"""Grid members' work against a real database: binding, commands, own-grid only, the chain, notifications."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from backend.errors import InvalidInput, NotFound
from backend.gridwork.binding import bind, issue_code, member_for
from backend.gridwork.commands import parse_command
from backend.gridwork.work import progress, resolve, take, todo, whistle
from backend.models import GridMember
from backend.services.residents import get_or_create_resident
from backend.tickets.service import create_ticket
from tests.news import news, text_of

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


def member(session, code="gm-fl-01"):
    return session.scalars(select(GridMember).filter_by(code=code)).one()


def file(session, place="枫林苑3号楼", building=3, category="elevator", at=NOW, sender="res"):
    resident = get_or_create_resident(session=session, channel="web", sender_id=sender)
    return create_ticket(
        session=session,
        resident=resident,
        category=category,
        description="电梯坏了",
        place_text=place,
        entities={"building": building},
        now=at,
    )


@pytest.mark.parametrize(
    ("text", "kind", "number", "rest", "hours"),
    [
        ("我的待办", "todo", None, "", None),
        ("接单 gz20261122-0003", "take", "GZ20261122-0003", "", None),
        ("进展：GZ20261122-0003 师傅明早到", "progress", "GZ20261122-0003", "师傅明早到", None),
        ("办结GZ 20261122-0003 已更换灯泡", "resolve", "GZ20261122-0003", "已更换灯泡", None),
        ("吹哨 GZ20261122-0003，燃气问题", "whistle", "GZ20261122-0003", "燃气问题", None),
        ("记录志愿 R0001 两个小时", "volunteer", None, "R0001", 2),
        ("记录志愿 13900000002 3", "volunteer", None, "13900000002", 3),
        ("绑定 2345 6789", "bind", None, "23456789", None),
    ],
)
def test_commands_as_typed_in_the_field(text, kind, number, rest, hours):
    command = parse_command(text)
    assert (command.kind, command.number, command.text, command.hours) == (kind, number, rest, hours)


def test_ordinary_messages_are_not_commands():
    assert parse_command("我的工单") is None and parse_command("3号楼电梯坏了") is None


def test_a_code_binds_once_and_expires(registry):
    with registry.begin() as s:
        code = issue_code(session=s, member_code="gm-fl-01", now=NOW)
        assert bind(session=s, channel="telegram", sender_id="901", code=code, now=NOW).name == "王丽"
        assert member_for(session=s, channel="telegram", sender_id="901").code == "gm-fl-01"
        assert member_for(session=s, channel="telegram", sender_id="902") is None
        with pytest.raises(InvalidInput, match="失效"):
            bind(session=s, channel="telegram", sender_id="902", code=code, now=NOW)
        late = issue_code(session=s, member_code="gm-fl-02", now=NOW)
        with pytest.raises(InvalidInput):
            bind(session=s, channel="web", sender_id="x", code=late, now=NOW + timedelta(hours=25))
        with pytest.raises(NotFound):
            issue_code(session=s, member_code="nobody", now=NOW)


def test_todo_take_progress_resolve_and_the_resident_is_told(registry):
    with registry.begin() as s:
        wang = member(s)
        overdue = file(s, at=NOW - timedelta(days=5), sender="a")
        fresh = file(s, place="枫林苑1号楼", building=1, category="building_common", sender="b")
        assert [r.number for r in todo(session=s, member=wang, now=NOW)] == [overdue.number, fresh.number]
        assert todo(session=s, member=wang, now=NOW)[0].overdue
        take(session=s, member=wang, number=fresh.number.lower(), now=NOW)
        progress(session=s, member=wang, number=fresh.number, note="物业下午来换灯", now=NOW)
        with pytest.raises(InvalidInput, match="办理结果"):
            resolve(session=s, member=wang, number=fresh.number, result=" ", now=NOW)
        resolve(session=s, member=wang, number=fresh.number, result="已换灯", now=NOW)
        assert fresh.status == "resolved"
        texts = [text_of(r) for r in news(s, number=fresh.number)]
        assert len(texts) == 3 and "物业下午来换灯" in texts[1] and "评单" in texts[2]


def test_a_member_cannot_touch_another_grids_ticket(registry):
    with registry.begin() as s:
        elsewhere = file(s, place="望江新村9号楼", building=9, category="building_common")
        with pytest.raises(NotFound) as other:
            take(session=s, member=member(s), number=elsewhere.number, now=NOW)
        with pytest.raises(NotFound) as missing:
            take(session=s, member=member(s), number="GZ20990101-0001", now=NOW)
        assert str(other.value).replace(elsewhere.number, "X") == str(missing.value).replace("GZ20990101-0001", "X")


def test_the_whistle_climbs_the_chain_one_level_at_a_time(registry):
    with registry.begin() as s:
        ticket = file(s)
        levels = []
        for _ in range(4):
            whistle(session=s, member=member(s), number=ticket.number, reason="需要燃气公司", now=NOW)
            levels.append(ticket.escalation_level)
        assert levels == ["community", "street", "department", "department"]
        assert ticket.status == "escalated" and "吹哨报到（需要燃气公司），升级到社区" in ticket.events[2].note
        with pytest.raises(InvalidInput, match="原因"):
            whistle(session=s, member=member(s), number=ticket.number, reason="", now=NOW)


def test_a_volunteer_command_without_hours_has_none():
    assert parse_command("记录志愿 R0001").hours is None
    assert parse_command("记录志愿 13900000002").hours is None
