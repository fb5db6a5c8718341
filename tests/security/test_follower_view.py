"""Following a duplicate must not hand a stranger the other resident's ticket (issue 26, items 1, 4 and 7).

The probe: resident P reports ``学府街路灯坏了一个礼拜了，我是张三，电话13812345678，身份证…``
(no phone left, confirmed). A fresh visitor says ``学府街的路灯不亮了``, is told the
problem is already reported, follows P's ticket, and from then on read P's
description, phone, ID number, typed place and whole timeline through
``GET /api/tickets/<number>``, "查询 <number>" in the chat and the ticket's news.

Here P files through the report form's submit action (the place pre-filled
with the whole first message, as the form does), a web visitor follows
through the form's real actions, a Telegram resident through the service;
staff write a progress note and a result; P rates 不满意 with a comment.
Whatever a follower is shown — the web API, the chat on any channel, the
duplicate prompt, the notices — holds none of P's words, name, phone (in
any written form), ID number or place text; P still sees everything. The
confirmation summary (kept in ``chat_replies``) shows the description
masked. Reading tickets over the API creates no resident rows.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions import runtime
from actions.filing import ActionSubmitReport
from actions.report_form import ValidateReportForm
from actions.report_place import ActionAskReportDuplicate
from actions.report_questions import ActionAskReportConfirm
from actions.report_slots import start_events
from actions.ticket_status import ActionTicketStatus
from backend.gridwork.work import progress, resolve
from backend.models import GridMember, Resident, Ticket
from backend.rasa_client import RasaClient
from backend.registry.file_import import import_registry
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from backend.tickets.satisfaction import rate_ticket
from backend.tickets.service import follow
from backend.web.app import create_app
from tests.news import news, text_of
from tests.rasa_stub import RasaStub

P_TEXT = "学府街路灯坏了一个礼拜了，我是张三，电话13812345678，身份证110101199003071234"
P_COMMENT = "还是不亮！我是张三，有事打138-1234-5678"
STAFF_NOTE = "已联系3栋502室的报修人（13812345678），明早换灯"
STAFF_RESULT = "已更换灯泡，恢复照明"
VISITOR_TEXT = "学府街的路灯不亮了"
HEADERS = {"X-Requested-With": "santong"}
_SEP = r"[\s\-.·_/]?"


def _spaced(digits: str) -> re.Pattern[str]:
    """The digits with any one separator (space, dash, dot) between any two of them."""
    return re.compile(_SEP.join(digits))


# What of P must never reach anyone but P: name, the phone and its unmasked middle (1381234 5678,
# 138-1234-5678 …), the ID number and the birth date inside it, and P's own words (the place as typed).
P_SECRETS = {
    "name": re.compile("张三"),
    "phone": _spaced("1381234"),
    "ID number": _spaced("110101199003071234"),
    "birth date": _spaced("19900307"),
    "P's words": re.compile("一个礼拜|坏了一个|还是不亮|有事打"),
    "room": re.compile("502室"),
}


def leaks(shown: object) -> list[str]:
    """Which of P's secrets ``shown`` (any JSON-able value) holds."""
    text = shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False, default=str)
    return [what for what, pattern in P_SECRETS.items() if pattern.search(text)]


def tracker(sender: str, text: str, intent: str, slots: dict | None = None) -> Tracker:
    """A tracker as the action server receives it."""
    return Tracker(
        sender_id=sender,
        slots=dict(slots or {}),
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
        events=[{"event": "user", "text": text}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture()
def forwarded() -> list[dict]:
    return []


@pytest.fixture()
def app(settings, sessions, monkeypatch, tmp_path, forwarded):
    """The web app (Rasa stubbed at the transport) and the action server's backend on the same database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "uploads"))
    runtime.sessions.cache_clear()
    with sessions.begin() as s:
        data = yaml.safe_load((PROJECT_ROOT / "config" / "registry.demo.yml").read_text(encoding="utf-8"))
        import_registry(session=s, data=data)

    def rasa(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        forwarded.append(body)
        return httpx.Response(200, json=[{"recipient_id": body.get("sender", "x"), "text": "您好"}])

    web = create_app(settings)
    with RasaStub(rasa) as stub, TestClient(web) as client:
        web.state.rasa = RasaClient(stub.url)
        yield web
        client.close()
    runtime.sessions.cache_clear()


def web_visitor(app, forwarded) -> tuple[TestClient, str]:
    """A browser of its own that opened the page and said hello; its cookie and its Rasa sender."""
    browser = TestClient(app)
    browser.get("/")
    assert browser.post("/api/chat/messages", json={"text": "你好"}, headers=HEADERS).status_code == 200
    return browser, str(forwarded[-1]["sender"])


async def p_files(sender: str) -> str:
    """P confirms the report form: description and place both the whole first message, no phone."""
    slots = {
        "category": "streetlight",
        "report_description": P_TEXT,
        "report_place": P_TEXT,
        "report_urgency": "normal",
        "report_phone": "none",
    }
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport().run(dispatcher, tracker(sender, "确认", "affirm", slots), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_filed"
    return str(dispatcher.messages[0]["number"])


async def visitor_follows_through_the_form(sender: str, number: str) -> list[dict]:
    """The visitor's report finds P's ticket, the prompt is shown, the visitor follows; the prompt's messages."""
    form = ValidateReportForm()
    start = tracker(sender, "登记工单", "report_start", {"category": "streetlight", "request_text": VISITOR_TEXT})
    slots = {e["name"]: e["value"] for e in start_events(start)}
    assert slots["report_place"] == VISITOR_TEXT  # pre-filled from the first message
    prefilled = tracker(sender, "登记工单", "report_start", {**slots, "category": "streetlight"})
    found = await form.validate_report_place(VISITOR_TEXT, CollectingDispatcher(), prefilled, {})
    assert found["report_duplicate_of"] == number
    slots.update(found, category="streetlight", requested_slot="report_duplicate")

    prompt = CollectingDispatcher()
    await ActionAskReportDuplicate().run(prompt, tracker(sender, "登记工单", "report_start", slots), {})
    answer = tracker(sender, "关注这张工单", "affirm", slots)
    slots.update(await form.validate_report_duplicate("关注这张工单", CollectingDispatcher(), answer, {}))
    assert slots["report_duplicate"] == "follow"

    done = CollectingDispatcher()
    await ActionSubmitReport().run(done, tracker(sender, "关注这张工单", "affirm", slots), {})
    assert done.messages[0]["response"] == "utter_ticket_followed" and done.messages[0]["number"] == number
    return prompt.messages


def staff_handle_and_p_rates(sessions, number: str, p_sender: str) -> None:
    """The grid member writes a progress note and a result; P is not satisfied and says why."""
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        member = s.scalars(select(GridMember).filter_by(code="gm-fl-02")).one()
        progress(session=s, member=member, number=number, note=STAFF_NOTE, now=now)
        resolve(session=s, member=member, number=number, result=STAFF_RESULT, now=now)
    with sessions.begin() as s:
        ticket = s.scalars(select(Ticket).filter_by(number=number)).one()
        p = get_or_create_resident(session=s, channel=p_sender.split(":")[0], sender_id=p_sender.split(":", 1)[1])
        rate_ticket(session=s, ticket=ticket, resident=p, rating="unsatisfied", comment=P_COMMENT, now=now)


async def ask_status(sender: str, text: str) -> dict:
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, tracker(sender, text, "ticket_status"), {})
    [message] = dispatcher.messages
    return message


@pytest.fixture()
async def probe(app, forwarded, sessions):
    """P's ticket, followed by a web visitor (the form) and a Telegram resident (the service), handled, rated."""
    p_browser, p_sender = web_visitor(app, forwarded)
    v_browser, v_sender = web_visitor(app, forwarded)
    number = await p_files(p_sender)
    prompt = await visitor_follows_through_the_form(v_sender, number)
    with sessions.begin() as s:
        ticket = s.scalars(select(Ticket).filter_by(number=number)).one()
        telegram = get_or_create_resident(session=s, channel="telegram", sender_id="777")
        follow(session=s, ticket=ticket, resident=telegram, now=datetime.now(timezone.utc))
    staff_handle_and_p_rates(sessions, number, p_sender)
    return {
        "number": number,
        "p": (p_browser, p_sender),
        "visitor": (v_browser, v_sender),
        "telegram": "telegram:777",
        "prompt": prompt,
    }


async def test_a_follower_reads_only_the_handling_over_the_web_api(probe):
    browser, _ = probe["visitor"]
    number = probe["number"]
    detail = browser.get(f"/api/tickets/{number}")
    assert detail.status_code == 200
    body = detail.json()
    assert leaks(detail.text) == [] and leaks(body) == []
    assert body["own"] is False and body["description"] is None and body["photos"] is None
    assert body["place"] == "学府街" and body["category_name"] == "路灯照明"
    notes = [e["note"] or "" for e in body["timeline"]]
    assert any(STAFF_RESULT in n for n in notes)  # the staff's words reach the follower
    assert any("138****5678" in n and "***室" in n for n in notes)  # masked for a reader who is not staff
    assert [e["status"] for e in body["timeline"]][-1] == "escalated"  # P's rating: the status change, not the words

    listed = browser.get("/api/tickets")
    assert [t["number"] for t in listed.json()] == [number] and listed.json()[0]["own"] is False
    assert leaks(listed.text) == []


async def test_a_follower_asking_in_chat_sees_only_the_handling_on_every_channel(probe):
    number = probe["number"]
    for sender in (probe["visitor"][1], probe["telegram"]):
        detail = await ask_status(sender, f"查询 {number}")
        assert leaks(detail) == [], (sender, leaks(detail))
        assert detail["response"] == "utter_ticket_detail_followed", sender
        assert detail["place"] == "学府街" and STAFF_RESULT in detail["timeline"]
        listing = await ask_status(sender, "我的工单")
        assert listing["response"] == "utter_ticket_list" and number in listing["tickets"]
        assert leaks(listing) == []


async def test_the_owner_still_sees_everything(probe):
    """The owner's API view is whole; in chat the owner's words come back with their numbers masked."""
    browser, sender = probe["p"]
    number = probe["number"]
    body = browser.get(f"/api/tickets/{number}").json()
    assert body["description"] == P_TEXT and body["place"] == P_TEXT
    assert any(P_COMMENT in (e["note"] or "") for e in body["timeline"])
    assert any(STAFF_NOTE == e["note"] for e in body["timeline"])
    detail = await ask_status(sender, f"查询 {number}")
    assert detail["response"] == "utter_ticket_detail" and "学府街路灯坏了一个礼拜了" in detail["timeline"]
    # what the chat says is stored in its replies: the owner's own numbers are masked there too
    assert "13812345678" not in detail["timeline"] and "138****5678" in detail["timeline"]


async def test_the_duplicate_prompt_shows_only_what_a_follower_may_see(probe):
    [prompt] = probe["prompt"]
    assert prompt["response"] == "utter_report_duplicate" and leaks(prompt) == []
    assert prompt["number"] == probe["number"]
    assert prompt["category_name"] == "路灯照明" and prompt["place"] == "学府街"


async def test_ticket_news_reaches_a_follower_without_the_reporters_words(probe, sessions):
    with sessions() as s:
        ticket = s.scalars(select(Ticket).filter_by(number=probe["number"])).one()
        by_chat: dict[str, list[str]] = {}
        for reply in news(s, number=probe["number"]):
            by_chat.setdefault(str(reply.sender), []).append(text_of(reply))
        owner = s.get(Resident, ticket.resident_id)
        owner_texts = by_chat.pop(f"{owner.channel}:{owner.sender_id}")
        by_resident = by_chat
    assert len(by_resident) == 2  # the web visitor and the Telegram resident
    for texts in by_resident.values():
        assert len(texts) == len(owner_texts)  # every piece of news, ...
        assert leaks(texts) == []  # ... without P's words, name or numbers
        assert any(STAFF_RESULT in t for t in texts) and any("138****5678" in t for t in texts)
    assert any(STAFF_NOTE in t for t in owner_texts)  # the owner's notices are as they were


async def test_the_confirmation_summary_masks_the_numbers(app):
    slots = {
        "category": "streetlight",
        "report_description": P_TEXT,
        "report_place": P_TEXT,
        "report_urgency": "normal",
        "report_phone": "none",
    }
    dispatcher = CollectingDispatcher()
    await ActionAskReportConfirm().run(dispatcher, tracker("web:summary", "不留", "deny", slots), {})
    [summary] = dispatcher.messages
    assert summary["response"] == "utter_report_summary"
    shown = json.dumps(summary, ensure_ascii=False)
    assert not _spaced("1381234").search(shown) and not _spaced("19900307").search(shown)
    assert "138****5678" in summary["description"] and summary["description"].startswith("学府街路灯坏了")


async def test_reading_tickets_creates_no_residents(app, sessions, settings):
    """20 rounds of GET / + GET /api/tickets by fresh cookies wrote 20 resident rows."""
    with sessions() as s:
        before = s.scalar(select(func.count()).select_from(Resident))
    for _ in range(20):
        browser = TestClient(app)  # a fresh cookie each round
        assert browser.get("/").status_code == 200
        assert browser.get("/api/tickets").json() == []
        assert browser.get("/api/tickets/GZ20261122-0001").status_code == 404
    # A cookie that names a visitor id (the format the chat page issued before visitor records):
    # a known visitor, but one who never sent anything, has no tickets and gets no row either.
    named = URLSafeSerializer(settings.secret_key, salt="web-visitor")
    for _ in range(5):
        browser = TestClient(app)
        browser.cookies.set("sst_visitor", named.dumps(uuid.uuid4().hex))
        assert browser.get("/api/tickets").json() == []
        assert browser.get("/api/tickets/GZ20261122-0001").status_code == 404
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Resident)) == before
