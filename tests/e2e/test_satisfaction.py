"""评单 through the real stack: a resolved ticket's news reaches the web chat via the worker; a button rates it."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import select

from backend.db import make_engine, make_session_factory
from backend.models import Ticket
from backend.tickets.service import transition
from tests.e2e.stack import texts
from tests.e2e.test_report import NUMBER, Resident, buttons

pytestmark = pytest.mark.e2e


def staff_moves(stack, number: str, *moves: tuple[str, str | None]) -> None:
    """What a grid member's actions do, through the same ticket service, on the stack's database."""
    engine = make_engine(stack.env["DATABASE_URL"])
    try:
        with make_session_factory(engine).begin() as session:
            ticket = session.scalars(select(Ticket).filter_by(number=number)).one()
            for to, note in moves:
                transition(
                    session=session,
                    ticket=ticket,
                    to=to,
                    actor="grid_member:gm-wj-02",
                    now=datetime.now(timezone.utc),
                    note=note,
                )
    finally:
        engine.dispose()


def news(me: Resident, wanted: str, timeout: float = 30) -> list[dict]:
    """Poll the chat page's update endpoint, as the open page does, until the worker delivered ``wanted``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = httpx.get(
            f"{me.stack.web_url}/api/chat/updates?after=0", cookies={"sst_visitor": me.cookie}, timeout=10
        ).json()["replies"]
        found = [r for r in replies if wanted in (r.get("text") or "")]
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"no notification containing {wanted!r} within {timeout}s")


def test_the_resolved_ticket_asks_for_a_rating_and_the_button_closes_it(running):
    me = Resident(running)
    me.say("建设路上的井盖松了，一踩就晃")
    me.say("/report_start")
    me.say("不留")
    number = NUMBER.search(texts(me.say("/affirm"))).group(0)

    staff_moves(running, number, ("in_progress", "已联系市政"), ("resolved", "已更换井盖"))
    [ask] = news(me, "请为这次办理打个分")
    assert "已更换井盖" in ask["text"] and [b["title"] for b in ask["buttons"]] == ["满意", "基本满意", "不满意"]
    rated = texts(me.say(buttons([ask])["不满意"]))
    assert "升级到社区" in rated
    assert me.api(f"/api/tickets/{number}").json()["status"] == "escalated"

    staff_moves(running, number, ("resolved", "社区协调市政重新加固"))
    asks = news(me, "社区协调市政重新加固")
    rated = texts(me.say(buttons(asks[-1:])["满意"]))
    assert "谢谢您的评价（满意）" in rated
    assert me.api(f"/api/tickets/{number}").json()["status"] == "closed"
    figures = httpx.get(f"{running.web_url}/api/stats/satisfaction?by=category", timeout=10).json()
    assert any(row["group"] == "道路设施" and row["rated"] >= 1 for row in figures)
