"""The resident's ticket API and photo upload over HTTP, against a real database (Rasa faked at the transport)."""

import json
from datetime import datetime, timezone

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from backend.rasa_client import RasaClient
from backend.registry.file_import import import_registry
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from backend.tickets.service import create_ticket
from backend.web.app import create_app
from tests.rasa_stub import RasaStub

HEADERS = {"X-Requested-With": "santong"}
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture()
def forwarded():
    return []


@pytest.fixture()
def client(settings, sessions, forwarded):
    with sessions.begin() as s:
        data = yaml.safe_load((PROJECT_ROOT / "config" / "registry.demo.yml").read_text(encoding="utf-8"))
        import_registry(session=s, data=data)

    def rasa(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        forwarded.append(body)
        return httpx.Response(200, json=[{"recipient_id": body["sender"], "text": "收到照片，提交时会一起附上。"}])

    app = create_app(settings)
    with RasaStub(rasa) as stub, TestClient(app) as client:
        app.state.rasa = RasaClient(stub.url)
        yield client


def visitor_of(client):
    """Open the page (issues the cookie) and return the visitor id through the forwarded sender."""
    client.get("/")
    client.post("/api/chat/messages", json={"text": "你好"}, headers=HEADERS)


def file_for(sessions, channel, sender, text="枫林苑3号楼电梯坏了<script>alert(1)</script>"):
    with sessions.begin() as s:
        resident = get_or_create_resident(session=s, channel=channel, sender_id=sender)
        ticket = create_ticket(
            session=s,
            resident=resident,
            category="elevator",
            description=text,
            place_text=text,
            entities={"building": 3},
            now=datetime.now(timezone.utc),
        )
        return ticket.number


def test_a_visitor_reads_own_tickets_and_nobody_elses(client, sessions, forwarded):
    visitor_of(client)
    visitor = forwarded[-1]["sender"].split(":", 1)[1]
    mine = file_for(sessions, "web", visitor)
    theirs = file_for(sessions, "web", "someone-else")
    listed = client.get("/api/tickets").json()
    assert [t["number"] for t in listed] == [mine]
    assert listed[0]["status_name"] == "已派单" and listed[0]["matter_name"] == "大家事"

    detail = client.get(f"/api/tickets/{mine.lower()}").json()
    assert detail["description"] == "枫林苑3号楼电梯坏了<script>alert(1)</script>"  # verbatim; pages escape
    assert [e["kind"] for e in detail["timeline"]] == ["created", "assigned"]

    other = client.get(f"/api/tickets/{theirs}")
    missing = client.get("/api/tickets/GZ20990101-0001")
    malformed = client.get("/api/tickets/'; DROP TABLE tickets;--")
    assert other.status_code == missing.status_code == malformed.status_code == 404
    assert other.json() == missing.json() == malformed.json()


def test_no_cookie_no_tickets(client, sessions):
    file_for(sessions, "web", "x")
    fresh = TestClient(client.app)
    assert fresh.get("/api/tickets").json() == []
    assert fresh.get("/api/tickets/GZ20261122-0001").status_code == 404


def test_a_photo_is_stored_then_sent_to_the_conversation_as_a_token(client, forwarded, settings):
    visitor_of(client)
    answer = client.post("/api/chat/photos", content=JPEG, headers={**HEADERS, "Content-Type": "image/jpeg"})
    assert answer.status_code == 200
    assert answer.json()["replies"][-1]["text"] == "收到照片，提交时会一起附上。"
    message = forwarded[-1]["message"]
    assert message.startswith('/share_photo{"photo": "P')
    token = json.loads(message[len("/share_photo") :])["photo"]
    stored = list(settings.upload_dir.rglob(f"{token}.jpg"))
    assert len(stored) == 1 and stored[0].read_bytes() == JPEG

    own = client.get(f"/api/photos/{token}")
    assert own.status_code == 200 and own.content == JPEG and own.headers["content-type"] == "image/jpeg"
    assert TestClient(client.app).get(f"/api/photos/{token}").status_code == 404
    history = client.get("/api/chat/history").json()
    assert history["items"][-1]["text"] == "[照片]"


@pytest.mark.parametrize(
    "body",
    [b"", b"<svg onload=alert(1)>", b"GIF87" + b"x" * 10, b"\x00" * 100],
)
def test_what_is_not_an_image_is_refused_in_chinese_and_nothing_is_forwarded(client, forwarded, body):
    visitor_of(client)
    before = len(forwarded)
    refused = client.post("/api/chat/photos", content=body, headers={**HEADERS, "Content-Type": "image/png"})
    assert refused.status_code == 422 and ("图片" in refused.json()["detail"] or "照片" in refused.json()["detail"])
    assert len(forwarded) == before


def test_a_photo_needs_the_same_origin_header(client, forwarded):
    visitor_of(client)
    assert client.post("/api/chat/photos", content=JPEG).status_code == 403
