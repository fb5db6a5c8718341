"""A ticket dispatched to a grid member is told in the member's chat, through the chat outbox (issue 25, item 12).

Whichever way a ticket reaches a member (routed when filed, routed when the
place comes after an emergency, 派单 in the console), each chat bound to the
member gets one notice with the place, the problem in one line, the deadline
and a 接单 button; the worker delivers it like residents' news. A member
bound to no chat gets nothing, and filing does not fail.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer

from backend.console.accounts import create_account
from backend.console.ticket_work import dispatch
from backend.gridwork.binding import bind, issue_code
from backend.gridwork.summary import one_line
from backend.models import Ticket
from backend.services.residents import get_or_create_resident
from backend.tickets.service import add_place, create_ticket
from backend.web.app import create_app
from backend.web.visitor_cookie import COOKIE
from tests.factories import file_ticket
from tests.news import news, text_of

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
LIGHT = "学府街东头的路灯不亮好几天了，晚上走路黑乎乎的，老人孩子出门都怕摔。麻烦尽快派人来修，谢谢"


def bind_chat(sessions, channel, sender, member_code="gm-fl-02"):
    with sessions.begin() as s:
        code = issue_code(session=s, member_code=member_code, now=NOW)
        bind(session=s, channel=channel, sender_id=sender, code=code, now=NOW)


def file_light(sessions, sender="r1"):
    with sessions.begin() as s:
        ticket = file_ticket(
            s, sender=sender, category="streetlight", description=LIGHT, place_text="学府街", entities={}, now=NOW
        )
        return ticket.id, str(ticket.number)


def member_rows(sessions, number):
    """The dispatch notices of ticket ``number``, oldest first (what residents are told says 工单, not 派给您)."""
    with sessions() as s:
        return [r for r in news(s, number=number) if "新派给您的工单" in text_of(r)]


def test_a_ticket_routed_to_a_bound_member_is_told_in_their_chat_with_place_summary_deadline_and_take(registry):
    bind_chat(registry, "telegram", "5501")
    _, number = file_light(registry)
    [row] = member_rows(registry, number)
    assert row.sender == "telegram:5501"  # the member's own chat, not the reporter
    assert row.delivered_at is None  # waiting for the bridge to send it
    text = text_of(row)
    assert f"新派给您的工单 {number}（路灯照明）" in text
    assert "地点：学府街\n" in text
    assert "情况：学府街东头的路灯不亮好几天了，晚上走路黑乎乎的…\n" in text
    assert "处理时限：11月" in text and "前" in text
    assert row.payload["buttons"] == [{"title": f"接单 {number}", "payload": f"接单 {number}"}]
    assert all(len(b["payload"].encode()) <= 64 for b in row.payload["buttons"])  # Telegram's callback data limit
    with registry() as s:
        # The resident who filed it hears nothing from the dispatch notice.
        assert all("新派给您" not in text_of(r) for r in news(s, sender="web:r1"))


def test_a_member_bound_on_the_web_sees_it_on_the_chat_page(registry, settings):
    bind_chat(registry, "web", "member-visitor")
    _, number = file_light(registry)
    cookie = URLSafeSerializer(settings.secret_key, salt="web-visitor").dumps("member-visitor")
    with TestClient(create_app(settings), cookies={COOKIE: cookie}) as client:
        client.app.state.sessions = registry
        replies = client.get("/api/chat/updates?after=0").json()["replies"]
    assert any(f"新派给您的工单 {number}" in (r.get("text") or "") for r in replies)


def test_every_chat_bound_to_the_member_is_told_and_other_members_are_not(registry):
    bind_chat(registry, "telegram", "5503")
    bind_chat(registry, "web", "chen-web")
    bind_chat(registry, "telegram", "5599", member_code="gm-fl-01")  # 王丽: another grid
    _, number = file_light(registry)
    assert [r.sender for r in member_rows(registry, number)] == ["telegram:5503", "web:chen-web"]


def test_a_member_with_no_chat_gets_nothing_and_filing_works(registry):
    ticket_id, number = file_light(registry)
    assert member_rows(registry, number) == []
    with registry() as s:
        assert s.get(Ticket, ticket_id).status == "assigned"


def test_a_console_dispatch_tells_the_member_it_was_given_to(registry):
    bind_chat(registry, "telegram", "5504", member_code="gm-wj-03")
    with registry.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="r2")
        ticket = create_ticket(
            session=s,
            resident=resident,
            category="street_order",
            description="有人在路口摆摊卖水果，把盲道全占了",
            place_text="那个十字路口",
            entities={},
            now=NOW,
        )
        assert ticket.needs_dispatch == 1
        admin = create_account(
            session=s, username="boss", display_name="管理员", role="admin", password="a-Long-pass-2026!", now=NOW
        )
        dispatch(session=s, account=admin, ticket=ticket, member_code="gm-wj-03", now=NOW)
        number = str(ticket.number)
    [row] = member_rows(registry, number)
    assert row.sender == "telegram:5504" and "地点：那个十字路口\n" in text_of(row)
    assert "情况：有人在路口摆摊卖水果，把盲道全占了\n" in text_of(row)


def test_an_emergency_routed_once_its_place_is_told_reaches_the_member_marked_urgent(registry):
    bind_chat(registry, "telegram", "5505", member_code="gm-wj-03")
    with registry.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="r3")
        ticket = create_ticket(
            session=s,
            resident=resident,
            category="public_safety",
            description="有人打架！",
            place_text="有人打架！",
            entities={},
            now=NOW,
            urgency="emergency",
        )
        number = str(ticket.number)
        assert ticket.assignee_id is None  # nothing to tell before it has a member
        assert add_place(session=s, ticket=ticket, resident=resident, place_text="滨湖广场", entities={}, now=NOW)
    [row] = member_rows(registry, number)
    assert text_of(row).startswith("【紧急】新派给您的工单") and "地点：滨湖广场\n" in text_of(row)


def test_the_one_line_summary_is_the_first_sentence_cut_at_a_clause_and_masked():
    assert one_line("电梯坏了。师傅说明天来") == "电梯坏了"
    assert one_line(LIGHT) == "学府街东头的路灯不亮好几天了，晚上走路黑乎乎的…"
    long_clause = "学府街东头那一排路灯从上个礼拜开始就一直不亮了"
    assert one_line(f"{long_clause}，晚上黑") == f"{long_clause}…"
    assert one_line("我叫张三电话13912345678楼下有只流浪狗") == "我叫张*电话139****5678楼下有只流浪狗"
    assert one_line("   ") == "（没有描述）"
    assert len(one_line("一" * 100)) == 24 and one_line("一" * 100).endswith("…")
