"""Hostile input at the HTTP entry points, in process: the triage API, the web chat, the console.

Rasa is faked at the transport: for triage it answers every parse with
"not understood"; for the chat it cannot be reached, which is the case that
matters most (the message must be kept, pending, and the visitor told
politely). Whatever is sent, no answer is a 5xx; bad input gets a Chinese
message; an accepted message is stored as typed (less control characters)
and comes back the same from the history; resident text shown on a console
page is HTML-escaped.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import select

from backend import messages
from backend.db import NUL, REPLACEMENT
from backend.errors import InvalidInput
from backend.models.chat import PENDING, ChatMessage
from backend.photos import shown_text
from backend.rasa_client import RasaClient
from backend.services.chat_text import clean_text
from backend.tickets.service import MAX_DESCRIPTION
from backend.triage.text import classification_text
from backend.web.visitor_cookie import COOKIE
from tests.console_client import console_app, login
from tests.factories import file_ticket
from tests.property.strategies import HOSTILE, TRICKY_TEXT
from tests.rasa_stub import RasaStub, refused_url

HEADERS = {"X-Requested-With": "santong"}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TEXTS = st.one_of(st.sampled_from(HOSTILE), TRICKY_TEXT)
NOW = datetime.now(timezone.utc)

# Bodies that are not {"text": "<a string>"}: each must be refused with a 4xx, never a 500.
WRONG_BODIES: list[tuple[bytes, str]] = [
    (b"", "application/json"),
    (b"not json", "application/json"),
    (b"\xff\xfe\x00t\x00", "application/json"),  # not UTF-8
    (b'{"text": "\xff"}', "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b'"text"', "application/json"),
    (b'{"text": null}', "application/json"),
    (b'{"text": 5}', "application/json"),
    (b'{"text": false}', "application/json"),
    (b'{"text": ["a"]}', "application/json"),
    (b'{"text": {"text": "x"}}', "application/json"),
    (b'{"txt": "x"}', "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),  # nested deeper than the parser's recursion
    (b'{"text": "x"}', "text/plain"),
    (b"text=x", "application/x-www-form-urlencoded"),
    (b"--b\r\nContent-Disposition: form-data; name=text\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b"),
    (b'{"text": "x"}', "application/xml"),
]

# Not quite a message, but read as one (a lone surrogate or a NUL is dropped
# like a control character; an extra key is ignored): 200 from triage, and
# the chat either keeps the text or refuses it politely.
ODD_BUT_TEXT: list[bytes] = [b'{"text": "\\ud800"}', b'{"text": "\\u0000", "extra": [1]}']


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _assert_polite_refusal(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    shown = body.get("message") or body.get("detail")
    assert isinstance(shown, str) and _is_chinese(shown), body


def _refused_as_too_large(response: httpx.Response, text: str) -> bool:
    """A body over MAX_BODY_BYTES (64 KiB by default) is refused with 413 before it is read, politely.

    Only then: a body within the limit is never refused so (its size is what the client really sent).
    """
    too_large = len(response.request.content) > 64 * 1024
    assert too_large == (response.status_code == 413), (len(response.request.content), response.status_code, text[:50])
    if too_large:
        _assert_polite_refusal(response)
    return too_large


# Triage ----------------------------------------------------------------------------


@pytest.fixture()
def triage_client(settings):
    from fastapi.testclient import TestClient

    from backend.web.app import create_app

    seen: list[str] = []

    def nlu(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content)["text"])
        return httpx.Response(200, json={"intent": {"name": "nlu_fallback", "confidence": 0.2}, "entities": []})

    app = create_app(settings)
    with RasaStub(nlu) as stub, TestClient(app, raise_server_exceptions=False) as client:
        app.state.rasa = RasaClient(stub.url, token="tok")
        client.seen = seen  # type: ignore[attr-defined]
        yield client


@FUZZ
@given(TEXTS)
def test_triage_answers_any_text_with_the_documented_shape(triage_client, text):
    """Any string is a message: 200, and Rasa sees exactly the normalised text (or nothing, for a blank one)."""
    triage_client.seen.clear()
    response = triage_client.post("/api/triage", json={"text": text})
    if _refused_as_too_large(response, text):
        assert triage_client.seen == []
        return
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["kind"] in ("request", "other")
    assert triage_client.seen == ([classification_text(text)] if classification_text(text) else [])
    if body["needs_clarification"]:
        assert _is_chinese(body["question"])


@pytest.mark.parametrize(("content", "content_type"), WRONG_BODIES, ids=range(len(WRONG_BODIES)))
def test_triage_refuses_a_wrong_body_politely(triage_client, content, content_type):
    _assert_polite_refusal(triage_client.post("/api/triage", content=content, headers={"content-type": content_type}))


@pytest.mark.parametrize("content", ODD_BUT_TEXT)
def test_triage_reads_odd_text_as_text(triage_client, content):
    response = triage_client.post("/api/triage", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["kind"] in ("request", "other")


# Web chat with Rasa unreachable -----------------------------------------------------


@pytest.fixture()
def chat_client(settings, sessions):
    from fastapi.testclient import TestClient

    from backend.web.app import create_app

    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.rasa = RasaClient(refused_url())  # Rasa is not running
        assert client.get("/").status_code == 200  # the visitor cookie
        yield client


def _as_shown_again(text: str) -> str:
    """What the history shows for a stored message: a payload-shaped text (/restart) reads as a pressed button.

    The page sends a button's payload as the message, so a payload with no
    button in the history is shown as 「（点了一个按钮）」, never as the code;
    the stored text stays exactly as sent (checked above).
    """
    if re.fullmatch(r"/\w+(\{.*\})?", text, re.DOTALL):
        return messages.BUTTON_PRESSED
    return shown_text(text)


def _stored(sessions) -> list[str]:
    with sessions() as s:
        return [str(m.text) for m in s.scalars(select(ChatMessage).order_by(ChatMessage.id))]


@FUZZ
@given(TEXTS)
def test_a_chat_message_is_kept_as_typed_while_rasa_is_down(chat_client, sessions, text):
    """Nothing is lost: the message is stored first, the visitor is told it waits, the history shows it."""
    before = _stored(sessions)
    response = chat_client.post("/api/chat/messages", json={"text": text}, headers=HEADERS)
    if _refused_as_too_large(response, text):
        assert _stored(sessions) == before
        return
    try:
        expected = clean_text(text)
    except InvalidInput as exc:
        _assert_polite_refusal(response)
        assert response.json()["detail"] == str(exc)
        assert _stored(sessions) == before
        return
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["pending"] >= 1 and body["notice"] == messages.BUSY
    assert _stored(sessions) == [*before, expected]
    if all(ch.isprintable() or ch in "\n\t\u200d\u3000" for ch in text):
        assert expected == text.strip()  # nothing but the surrounding blanks is removed
    history = chat_client.get("/api/chat/history").json()
    assert history["items"][-1] == {"text": _as_shown_again(expected), "pending": True, "replies": []}
    with sessions() as s:
        assert s.scalars(select(ChatMessage).order_by(ChatMessage.id.desc())).first().status == PENDING


@pytest.mark.parametrize(("content", "content_type"), WRONG_BODIES, ids=range(len(WRONG_BODIES)))
def test_chat_refuses_a_wrong_body_politely_and_stores_nothing(chat_client, sessions, content, content_type):
    response = chat_client.post(
        "/api/chat/messages", content=content, headers={**HEADERS, "content-type": content_type}
    )
    _assert_polite_refusal(response)
    assert _stored(sessions) == []


@pytest.mark.parametrize("content", ODD_BUT_TEXT)
def test_chat_keeps_or_politely_refuses_odd_text(chat_client, sessions, content):
    response = chat_client.post(
        "/api/chat/messages", content=content, headers={**HEADERS, "content-type": "application/json"}
    )
    if response.status_code == 200:
        assert _stored(sessions) == [str(json.loads(content)["text"])]
    else:
        _assert_polite_refusal(response)
        assert _stored(sessions) == []


@pytest.mark.parametrize(
    "after", ["-1", "abc", "1e3", "99999999999999999999999", "9223372036854775808", "", "0x10", "１"]
)
def test_a_hostile_reply_cursor_is_no_server_error(chat_client, after):
    for response in (
        chat_client.get(f"/api/chat/updates?after={after}"),
        chat_client.post(f"/api/chat/messages?after={after}", json={"text": "你好"}, headers=HEADERS),
    ):
        assert response.status_code < 500, (after, response.status_code, response.text[:300])


@pytest.mark.parametrize("cookie", ["", "x", "a.b.c", "%E2%80%AE", "'; DROP TABLE residents;--", "A" * 4000])
def test_a_forged_visitor_cookie_is_no_server_error(chat_client, cookie):
    chat_client.cookies.set(COOKIE, cookie.encode("utf-8", "surrogateescape").decode("latin-1"))
    assert chat_client.get("/api/chat/history").status_code == 200
    assert chat_client.post("/api/chat/messages", json={"text": "你好"}, headers=HEADERS).status_code == 200


@pytest.mark.parametrize("value", [*HOSTILE[8:16], "%00", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "GZ20261121-0001%0a"])
def test_hostile_path_parameters_are_a_chinese_404(chat_client, value):
    for path in (f"/api/tickets/{value}", f"/api/photos/{value}"):
        response = chat_client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert _is_chinese(response.json()["detail"])


# Console: resident text is escaped -------------------------------------------------


@pytest.fixture()
def admin(settings, registry):
    with console_app(settings, registry, {"admin": {}}) as app:
        client, _ = login(app, "admin")
        yield client


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.sampled_from([t for t in HOSTILE if t.strip()]), TRICKY_TEXT.filter(str.strip)))
def test_a_ticket_page_shows_the_residents_words_escaped(admin, registry, text):
    """Markup a resident typed is shown as text on the console, never run."""
    with registry.begin() as s:
        number = file_ticket(s, now=NOW, description=text, place_text=text[:200]).number
    page = admin.get(f"/console/tickets/{number}")
    assert page.status_code == 200
    stored = text.replace(NUL, REPLACEMENT)  # no database keeps NUL (backend/db.py): the mark shows where it was
    assert str(escape(stored[:MAX_DESCRIPTION])) in page.text
    for raw in ("<script>alert(1)</script>", "<img src=x onerror"):
        assert raw not in page.text
