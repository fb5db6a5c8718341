"""Fuzz the resident-facing endpoints as a stranger: no 500, and never another resident's personal data.

Resident A has filed a public, a shared and a private ticket, and has sent
chat messages, all holding their mobile number (in several written forms),
their ID number and their name. Then a stranger — a fresh web visitor, and
an Open311 caller without a key — sends thousands of generated requests:
chat messages, history and update reads, ticket lists and ticket numbers
(A's among them), triage, and Open311 lists and reads with generated
filters. Every answer must be below 500, and none may hold A's number, ID
number or name, whatever the form.

The per-sender and per-address limits are off here (they are tested in
``test_visitor_identity.py`` and ``tests/backend/test_rate_limits.py``):
what is fuzzed is what the endpoints give away, not how often they answer.
"""

from __future__ import annotations

import dataclasses
import os
import re
from datetime import datetime, timezone

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.rasa_client import RasaClient
from backend.web.app import create_app
from tests.factories import file_ticket
from tests.rasa_stub import RasaStub

# A's number: distinctive digit runs that nothing else in the stack produces.
PHONE = "13957246813"
ID_NUMBER = "33010619880417263X"
NAME = "沈梦溪"
SECRET_DIGIT_RUNS = ("57246813", "3957246", "19880417263")
A_TEXTS = (
    f"学府街的路灯坏了一个礼拜了，我是{NAME}，电话{PHONE}，身份证{ID_NUMBER}",
    "枫林苑3号楼电梯又坏了 有事打我 139-5724-6813",
    f"楼上天天半夜吵 本人{NAME} 手机139 5724 6813",
)
HEADERS = {"X-Requested-With": "santong"}
CASES = int(os.environ.get("SECURITY_FUZZ_CASES", "5000"))
FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,  # the same cases every run: CI and a developer see the same thing
    derandomize=True,
)


def _rasa(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/model/parse":
        return httpx.Response(200, json={"intent": {"name": "nlu_fallback", "confidence": 0.1}, "entities": []})
    return httpx.Response(200, json=[{"recipient_id": "x", "text": "收到"}])


def _leaks(body: str) -> list[str]:
    """The pieces of A's data found in an answer, in any written form."""
    found = [piece for piece in (PHONE, ID_NUMBER, ID_NUMBER.lower(), NAME) if piece in body]
    for value in re.findall(r"[^\"<>]+", body):  # each JSON string or XML text on its own
        digits = re.sub(r"\D", "", value)
        found += [run for run in SECRET_DIGIT_RUNS if run in digits]
    return found


@pytest.fixture()
def stranger(settings, registry):
    """A's tickets and messages in a running app, and a TestClient with a fresh visitor cookie."""
    app = create_app(
        dataclasses.replace(settings, rate_limit_per_minute=0, open311_api_keys=(("hub", "hub-key-0123456789abcdef"),))
    )
    now = datetime.now(timezone.utc)
    numbers = []
    with RasaStub(_rasa) as stub, TestClient(app, raise_server_exceptions=False) as owner:
        app.state.rasa = RasaClient(stub.url, token="tok")
        with registry.begin() as session:
            for category, text, place, entities in (
                ("streetlight", A_TEXTS[0], f"学府街 {NAME} {PHONE}", {"road": "学府街"}),
                ("elevator", A_TEXTS[1], "枫林苑3号楼", {"building": 3}),
                ("neighbor_dispute", A_TEXTS[2], "枫林苑3号楼502室", {"building": 3}),
            ):
                ticket = file_ticket(
                    session,
                    now=now,
                    channel="telegram",
                    sender="resident-a",
                    category=category,
                    description=text,
                    place_text=place,
                    entities=entities,
                    phone=PHONE,
                )
                numbers.append(ticket.number)
        assert owner.get("/").status_code == 200
        for text in A_TEXTS:
            assert owner.post("/api/chat/messages", json={"text": text}, headers=HEADERS).status_code == 200
        with TestClient(app, raise_server_exceptions=False) as client:
            app.state.rasa = RasaClient(stub.url, token="tok")  # the second lifespan made a new client
            assert client.get("/").status_code == 200
            client.numbers = numbers  # type: ignore[attr-defined]
            yield client


def _clean_text(draw_text: str) -> bool:
    """The stranger never types A's data themselves (an echo of one's own words is no leak)."""
    return not _leaks(draw_text)


TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("学府街路灯电梯坏了我的工单查询积分GZ0123456789-_ 　\n<>&'\"")),
    ),
    max_size=300,
).filter(_clean_text)
DATE = st.one_of(
    st.sampled_from(["0001-01-01T00:00:00", "9999-12-31T23:59:59", "2026-12-01", "abc", "", "2026-02-30T00:00:00Z"]),
    st.datetimes().map(lambda d: d.isoformat()),
    TEXT,
)
QUERY_VALUE = st.one_of(TEXT, DATE, st.sampled_from(["open", "closed", "streetlight,elevator", "neighbor_dispute"]))
QUERY_KEY = st.sampled_from(
    ["service_code", "status", "start_date", "end_date", "service_request_id", "api_key", "lat", "long", "page", "x"]
)


@st.composite
def requests_(draw, numbers: list[str]) -> tuple[str, str, dict]:
    """One request of the stranger's: (method, path, httpx keyword arguments)."""
    number = draw(st.one_of(st.sampled_from(numbers), TEXT.map(lambda t: t.strip() or "GZ")))
    fmt = draw(st.sampled_from(["json", "xml", "html", ""]))
    kind = draw(
        st.sampled_from(
            ["chat", "history", "updates", "tickets", "ticket", "triage", "o311_list", "o311_one", "o311_services"]
        )
    )
    if kind == "chat":
        return "POST", "/api/chat/messages", {"json": {"text": draw(TEXT)}, "headers": HEADERS}
    if kind == "history":
        return "GET", "/api/chat/history", {}
    if kind == "updates":
        return "GET", "/api/chat/updates", {"params": {"after": draw(TEXT)}}
    if kind == "tickets":
        return "GET", "/api/tickets", {}
    if kind == "ticket":
        return "GET", f"/api/tickets/{number}", {}
    if kind == "triage":
        return "POST", "/api/triage", {"json": {"text": draw(TEXT)}}
    if kind == "o311_services":
        return "GET", f"/open311/v2/services.{fmt}", {}
    params = draw(st.lists(st.tuples(QUERY_KEY, QUERY_VALUE), max_size=4))
    if kind == "o311_list":
        return "GET", f"/open311/v2/requests.{fmt}", {"params": params}
    return "GET", f"/open311/v2/requests/{number}.{fmt}", {"params": params}


@FUZZ
@given(data=st.data())
def test_a_stranger_gets_no_server_error_and_none_of_another_residents_data(stranger, data):
    method, path, kwargs = data.draw(requests_(stranger.numbers))
    try:
        response = stranger.request(method, path, **kwargs)
    except httpx.InvalidURL:  # a path the client itself refuses to send is no request at all
        return
    assert response.status_code < 500, (method, path, kwargs, response.status_code, response.text[:300])
    leaked = _leaks(response.text)
    assert not leaked, (method, path, kwargs, leaked, response.text[:500])


def test_the_owner_data_is_really_there(stranger, registry):
    """The fuzz would pass on an empty database: A's tickets hold what it looks for."""
    from sqlalchemy import select

    from backend.models import Ticket

    with registry() as session:
        held = " ".join(f"{t.description} {t.place_text} {t.contact_phone}" for t in session.scalars(select(Ticket)))
    assert {PHONE, ID_NUMBER, NAME} <= set(_leaks(held))
    assert len(stranger.numbers) == 3
