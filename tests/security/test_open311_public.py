"""Open311's keyless reads publish nothing a resident typed and no staff name (issue 26, items 2, 7 and 10).

The probe: ``curl /open311/v2/requests.json`` with no key listed the
description and the typed address of every public and shared ticket — a
name (我叫李四), ``138.1234.5678`` and a phone in Chinese numerals passed the
masking — and the grid member's name in ``status_notes``. Here tickets are
filed as the probe filed them, one through the chat's own submit action
(real tracker, real database) and one through ``POST requests.json``; the
keyless list and single reads, in JSON and XML, must carry none of it, and
show a description only once a staff member has published a summary from
the console. A client's key shows that client its own requests in full.
``start_date=0001-01-01T00:00:00`` was a 500 (OverflowError); reads were not
rate-limited at all.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest
import redis
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import runtime
from actions.filing import ActionSubmitReport
from backend.models import AuditEntry, GridMember, Ticket
from backend.registry.file_import import import_registry
from backend.settings import PROJECT_ROOT, load_settings
from backend.web.app import create_app
from tests.actions.conftest import make_tracker
from tests.console_client import SCOPES, console_app, login

KEY = "hotline-key-0123456789"
OTHER_KEY = "cityapp-key-9876543210"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
REDIS_URL = os.environ.get("E2E_REDIS_URL", "")

CHAT_TEXT = (
    "学府街路灯坏了一个礼拜了，我叫李四，电话138.1234.5678，也可以打幺三八一二三四五六七八，身份证110101199003071234"
)
OPEN311_TEXT = "3号楼电梯卡在5楼，我叫李四，电话138.1234.5678，幺三八一二三四五六七八，身份证11010119900307123X"
OPEN311_ADDRESS = "枫林苑3号楼502室"
# Any of these in a keyless answer is the leak: the residents' words, their numbers, their rooms.
SECRETS = (
    "李四",
    "138.1234.5678",
    "1234.5678",
    "13812345678",
    "幺三八",
    "一二三四五六七八",
    "110101",
    "19900307",
    "502室",
    "一个礼拜",
    "电梯卡在",
    "路灯坏了",
)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def settings_for(database_url, tmp_path, **extra):
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "RASA_TOKEN": "test-rasa-token",
        "MODEL_DIR": str(tmp_path / "models"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "OPEN311_API_KEYS": f"hotline:{KEY},cityapp:{OTHER_KEY}",
    }
    env.update(extra)
    return load_settings(env)


@pytest.fixture()
def registry(sessions, database_url, monkeypatch, tmp_path):
    """The demo street's registry, with the action server's runtime pointed at the same database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "uploads"))
    runtime.sessions.cache_clear()
    data = yaml.safe_load((PROJECT_ROOT / "config" / "registry.demo.yml").read_text(encoding="utf-8"))
    with sessions.begin() as s:
        import_registry(session=s, data=data)
    yield sessions
    runtime.sessions.cache_clear()


@pytest.fixture()
def staff_app(registry, database_url, tmp_path):
    """A maker of the web app with console accounts of the given roles (each hashes a password: only those)."""

    @contextmanager
    def make(*roles: str) -> Iterator[FastAPI]:
        with console_app(settings_for(database_url, tmp_path), registry, {r: SCOPES[r] for r in roles}) as app:
            yield app

    return make


@pytest.fixture()
def reader(registry, database_url, tmp_path):
    """The web app alone, for the tests that need no console account (hashing passwords takes a while)."""
    with TestClient(create_app(settings_for(database_url, tmp_path))) as client:
        yield client


async def file_through_the_chat(sender: str, text: str, category: str) -> str:
    """File as the chat's report form does on 确认: the place is the whole first message."""
    slots = {
        "category": category,
        "report_description": text,
        "report_place": text,
        "report_urgency": "normal",
        "report_phone": "none",
    }
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport().run(dispatcher, make_tracker(sender, "确认", slots=slots), {})
    [number] = [m["number"] for m in dispatcher.messages if m.get("number")]
    return str(number)


def file_through_open311(client: TestClient, **change: str) -> str:
    fields = {
        "api_key": KEY,
        "service_code": "elevator",
        "address_string": OPEN311_ADDRESS,
        "phone": "13812345678",
        "first_name": "四",
        "last_name": "李",
        "description": OPEN311_TEXT,
        "lat": "31.2304",
        "long": "121.4737",
    }
    fields.update(change)
    response = client.post("/open311/v2/requests.json", content=urlencode(fields), headers=FORM)
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def staff_names(sessions) -> list[str]:
    with sessions() as s:
        return [str(n) for n in s.scalars(select(GridMember.name))] + ["console:", "grid_member", "admin"]


def keyless_reads(client: TestClient, numbers: list[str]) -> list[str]:
    """Every keyless read of these tickets, as the bodies a stranger receives."""
    bodies = []
    for fmt in ("json", "xml"):
        bodies.append(client.get(f"/open311/v2/requests.{fmt}").text)
        bodies.append(client.get(f"/open311/v2/requests.{fmt}", params={"service_request_id": ",".join(numbers)}).text)
        bodies.extend(client.get(f"/open311/v2/requests/{n}.{fmt}").text for n in numbers)
    return bodies


def records(client: TestClient, **params: str) -> dict[str, dict]:
    return {r["service_request_id"]: r for r in client.get("/open311/v2/requests.json", params=params).json()}


async def test_a_stranger_reads_no_residents_words_no_typed_address_and_no_staff_name(reader, registry):
    chat = await file_through_the_chat("web:probe-p", CHAT_TEXT, "streetlight")
    client = reader
    filed = file_through_open311(client)

    bodies = keyless_reads(client, [chat, filed])
    assert all(chat in body for body in bodies[:2]) and all(filed in body for body in bodies[:2])
    for body in bodies:
        for secret in (*SECRETS, *staff_names(registry)):
            assert secret not in body, secret
        if body.startswith("<?xml"):
            ET.fromstring(body)  # still well-formed

    public = records(client)
    assert public[chat]["description"] == public[filed]["description"] == ""
    assert public[chat]["address"] == "学府街"  # the road as the registry routed it
    assert public[filed]["address"] == "枫林苑3号楼"  # the building, not the room typed after it
    assert public[filed]["lat"] is None and public[filed]["long"] is None
    assert public[chat]["status_notes"] == public[filed]["status_notes"] == "已派单，由网格办理"


async def test_an_unrouted_ticket_has_no_address_at_all(reader):
    number = await file_through_the_chat("web:probe-q", "我家门口502室那条小路坑坑洼洼，我叫李四", "road")
    [record] = reader.get(f"/open311/v2/requests/{number}.json").json()
    assert record["address"] == "" and record["description"] == ""
    assert record["status_notes"] == "已受理，等待社区派单"


def test_a_summary_published_from_the_console_is_what_the_public_reads(staff_app, registry):
    with staff_app("grid_member") as app:
        summary_is_published(app, registry)


def summary_is_published(app, registry):
    filed = file_through_open311(TestClient(app))
    member, csrf = login(app, "grid_member")  # gm-fl-01 answers for 枫林苑3号楼
    page = member.get(f"/console/tickets/{filed}").text
    assert "公开摘要" in page and 'name="csrf"' in page

    forged = member.post(f"/console/tickets/{filed}/publish", data={"csrf": "forged", "note": "x"})
    assert forged.status_code == 403
    summary = "枫林苑3号楼电梯停运，5楼502室附近，物业已到场，维修电话13812345678"
    done = member.post(f"/console/tickets/{filed}/publish", data={"csrf": csrf, "note": summary})
    assert done.status_code == 200 and "公开摘要已发布" in done.text

    reader = TestClient(app)
    [record] = reader.get(f"/open311/v2/requests/{filed}.json").json()
    assert record["description"] == "枫林苑3号楼电梯停运，5楼***室附近，物业已到场，维修电话138****5678"
    xml = ET.fromstring(reader.get(f"/open311/v2/requests/{filed}.xml").content)
    assert xml.findtext("request/description") == record["description"]
    assert records(reader)[filed]["description"] == record["description"]
    for body in keyless_reads(reader, [filed]):
        for secret in SECRETS:
            assert secret not in body, secret
    with registry() as s:
        ticket = s.scalars(select(Ticket).filter_by(number=filed)).one()
        assert ticket.public_summary == summary and ticket.public_summary_by == "console:grid_member"
        audit = s.scalars(select(AuditEntry).filter_by(action="ticket.publish", target=filed)).all()
        assert [a.outcome for a in audit] == ["ok"]

    gone = member.post(f"/console/tickets/{filed}/unpublish", data={"csrf": csrf})
    assert gone.status_code == 200 and "公开摘要已撤下" in gone.text
    assert reader.get(f"/open311/v2/requests/{filed}.json").json()[0]["description"] == ""


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("community_staff", 200), ("grid_member", 200), ("department", 404), ("operator", 403)],
)
def test_publishing_is_for_the_staff_who_work_the_ticket_in_their_scope(staff_app, registry, role, status):
    with staff_app(role) as app:
        filed = file_through_open311(TestClient(app))  # an elevator: the property company's, not a department's
        client, csrf = login(app, role)
        response = client.post(f"/console/tickets/{filed}/publish", data={"csrf": csrf, "note": "电梯停运，维修中"})
    assert response.status_code == status
    with registry() as s:
        published = s.scalars(select(Ticket.public_summary).filter_by(number=filed)).one()
    assert (published is not None) == (status == 200)


def test_a_private_matter_cannot_be_published_and_stays_hidden(staff_app, registry):
    with staff_app("admin") as app:
        client = TestClient(app)
        filed = file_through_open311(client, service_code="home_repair", description="我叫李四，家里水管漏了")
        admin, csrf = login(app, "admin")
        refused = admin.post(f"/console/tickets/{filed}/publish", data={"csrf": csrf, "note": "水管漏水"})
        assert refused.status_code == 400 and "自家事" in refused.text
        assert client.get(f"/open311/v2/requests/{filed}.json").status_code == 404
        assert filed not in client.get("/open311/v2/requests.xml").text


async def test_a_client_key_shows_that_client_its_own_requests_in_full_and_others_in_public(reader, registry):
    chat = await file_through_the_chat("web:probe-p", CHAT_TEXT, "streetlight")
    client = reader
    filed = file_through_open311(client)

    mine = records(client, api_key=KEY)
    assert mine[filed]["description"] == OPEN311_TEXT and mine[filed]["address"].startswith(OPEN311_ADDRESS)
    assert mine[filed]["status_notes"] == "派给网格员 王丽"  # the latest staff note, for the platform that forwarded it
    assert (mine[filed]["lat"], mine[filed]["long"]) == (31.2304, 121.4737)
    assert mine[chat]["description"] == "" and mine[chat]["address"] == "学府街"  # not its own: the public view
    [single] = client.get(f"/open311/v2/requests/{filed}.json", params={"api_key": KEY}).json()
    assert single == mine[filed]
    xml = ET.fromstring(client.get(f"/open311/v2/requests/{filed}.xml", params={"api_key": KEY}).content)
    assert xml.findtext("request/description") == OPEN311_TEXT

    theirs = records(client, api_key=OTHER_KEY)  # another platform: its key does not open this one's
    assert theirs[filed]["description"] == "" and theirs[filed]["address"] == "枫林苑3号楼"
    assert client.get("/open311/v2/requests.json", params={"api_key": "wrong-key-0123456789"}).status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"start_date": "0001-01-01T00:00:00"},
        {"start_date": "0001-01-01T00:00:00+08:00"},
        {"start_date": "0001-01-01T00:00:00Z"},
        {"end_date": "0001-01-05T00:00:00Z"},  # its default window would start before year 1
        {"end_date": "9999-12-31T23:59:59"},
        {"end_date": "9999-12-31T23:59:59-08:00"},
        {"start_date": "1000-01-01T00:00:00", "end_date": "2026-01-01T00:00:00"},
        {"start_date": "2026-11-01T25:00:00"},
        {"start_date": "😀"},
        {"end_date": "2026-11-01T00:00:00+99:00"},
    ],
)
def test_a_date_that_cannot_be_handled_is_a_400_in_chinese_and_english(reader, query):
    client = reader
    response = client.get("/open311/v2/requests.json", params=query)
    assert response.status_code == 400
    [error] = response.json()
    assert error["code"] == 400 and CHINESE.search(error["description"])
    assert re.search(r"[a-z]{4} ", error["description"])  # and English after the slash
    as_xml = client.get("/open311/v2/requests.xml", params=query)
    assert as_xml.status_code == 400 and ET.fromstring(as_xml.content).findtext("error/code") == "400"


@pytest.mark.parametrize("shared", [False, True], ids=["memory", "redis"])
def test_reads_are_rate_limited_per_client_address(registry, database_url, tmp_path, shared):
    extra = {"RATE_LIMIT_PER_MINUTE": "1"}  # Open311: a burst of 30, then 4 a minute
    if shared:
        if not REDIS_URL:
            pytest.skip("the production profile's Redis (E2E_REDIS_URL)")
        redis.Redis.from_url(REDIS_URL).delete("santong:rate:open311:address:testclient")
        extra["REDIS_URL"] = REDIS_URL
    with TestClient(create_app(settings_for(database_url, tmp_path, **extra))) as client:
        paths = ["/open311/v2/requests.json", "/open311/v2/requests/GZ20261101-0001.xml"]
        answers = [client.get(paths[i % 2]).status_code for i in range(30)]
        assert set(answers) == {200, 404}
        refused = client.get("/open311/v2/requests.json")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        [error] = json.loads(refused.text)
        assert error["code"] == 429 and CHINESE.search(error["description"])
        single = client.get("/open311/v2/requests/GZ20261101-0001.xml")
        assert single.status_code == 429 and ET.fromstring(single.content).findtext("error/code") == "429"
    if shared:
        redis.Redis.from_url(REDIS_URL).delete("santong:rate:open311:address:testclient")
