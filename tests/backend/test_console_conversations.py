"""The console's conversation log against a real Rasa tracker store: list, transcript, exports, roles.

The store is written by Rasa's own SQLTrackerStore; the console reads it
through an engine that cannot write. Phones and ID numbers never appear
unmasked in a page or an export; grid members, community staff and
departments cannot read any of it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from backend.console.senders import sender_label
from backend.console.tracker_access import read_only_engine
from backend.models import AuditEntry
from backend.settings import load_settings
from tests.backend import tracker_data as td
from tests.backend.test_console import NOW, csrf_of, login
from tests.backend.test_console import app as console_app  # noqa: F401 - the console app fixture
from tests.factories import file_ticket

PHONE, ID_CARD = "13812345678", "110101199003071234"
RESIDENT_WEB = "web:visitor-1"
RESIDENT_TG = "telegram:987654321"


@pytest.fixture()
def tracker_path(tmp_path):
    return tmp_path / "tracker.db"


@pytest.fixture()
def settings(database_url, tmp_path, tracker_path):
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "RASA_TOKEN": "test-rasa-token",
            "MODEL_DIR": str(tmp_path / "models"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "TRACKER_STORE_URL": f"sqlite:///{tracker_path}",
            "REVIEW_NLU_FILE": str(tmp_path / "nlu" / "review.yml"),
        }
    )


@pytest.fixture()
def app(console_app):  # noqa: F811 - the imported fixture, requested by name
    """The console app of tests/backend/test_console.py, on this module's settings."""
    return console_app


@pytest.fixture()
def store(tracker_path, registry):
    td.write(
        tracker_path,
        {
            RESIDENT_WEB: [
                td.user(f"3号楼电梯坏了，我电话{PHONE}，身份证{ID_CARD}", "elevator", 0.91),
                td.action("action_listen"),
                td.bot(f"好的，已记下您的电话 {PHONE}。要登记成工单吗？", "登记", "先不用"),
                td.user("/affirm", "affirm", 1.0),
                td.user("<script>alert(1)</script>那个东西又响了", "nlu_fallback", 0.3, guess=("noise", 0.22)),
                td.action("action_default_fallback"),
                td.bot("抱歉，我没太听懂。"),
            ],
            RESIDENT_TG: [
                td.user('=HYPERLINK("http://x")路灯不亮', "streetlight", 0.41),
                td.bot("请问在哪条路？"),
            ],
        },
    )
    td.write(tracker_path, {"web:later": [td.user("谢谢", "thanks", 0.99), td.bot("不客气")]},
             start=td.START + 3 * 86400)  # fmt: skip
    with registry.begin() as s:
        number = file_ticket(s, now=NOW, channel="web", sender="visitor-1").number
    return number


def page_of(client, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    return response.text


# --- list and transcript ----------------------------------------------------------------------


def test_the_list_shows_channel_turns_tickets_and_flags(app, store):
    client, _ = login(app, "operator")
    html = page_of(client, "/console/conversations")
    shown = re.sub(r'href="[^"]*"', "", html)
    assert sender_label(RESIDENT_TG) in shown and "987654321" not in shown  # a chat id is never shown
    rows = {row.split("</tr>")[0] for row in html.split("<tr")[2:]}
    web = next(r for r in rows if sender_label(RESIDENT_WEB) in r)
    assert store in web and "没听懂" in web and "<td>3</td>" in web  # 3 resident turns
    tg = next(r for r in rows if sender_label(RESIDENT_TG) in r)
    assert "把握不大" in tg and "没听懂" not in tg and "Telegram" in tg
    later = next(r for r in rows if sender_label("web:later") in r)
    assert "tag" not in later and "—" in later
    assert html.index(sender_label("web:later")) < html.index(sender_label(RESIDENT_WEB))  # newest first


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("channel=telegram", {"telegram"}),
        ("channel=web", {"web:visitor-1", "web:later"}),
        ("flagged=1", {"telegram", "web:visitor-1"}),
        ("has_ticket=1", {"web:visitor-1"}),
        ("since=2026-11-24", {"web:later"}),
        ("until=2026-11-23", {"telegram", "web:visitor-1"}),
        ("q=" + quote("电梯坏了"), {"web:visitor-1"}),
        ("q=" + PHONE, {"web:visitor-1"}),  # the real text is searched, the page stays masked
        ("q=" + quote("没有这句"), set()),
        ("q=" + quote("%"), set()),  # a LIKE wildcard is just a character
    ],
)
def test_filters_and_search(app, store, query, expected):
    client, _ = login(app, "admin")
    html = page_of(client, f"/console/conversations?{query}")
    names = {"telegram": RESIDENT_TG, "web:visitor-1": RESIDENT_WEB, "web:later": "web:later"}
    shown = {name for name, sender in names.items() if sender_label(sender) in html}
    assert shown == expected, query
    assert PHONE not in html.split("<table")[1]  # only the search box says what was searched


def test_the_list_is_paged(app, store, tracker_path):
    td.write(tracker_path, {f"web:many-{i:02d}": [td.user("你好", "greet", 0.99)] for i in range(55)},
             start=td.START + 10 * 86400)  # fmt: skip
    client, _ = login(app, "admin")
    first = page_of(client, "/console/conversations")
    assert first.count('href="/console/conversations/web%3Amany-') == 50 and "page=2" in first
    second = page_of(client, "/console/conversations?page=2")
    assert second.count("web%3Amany-") == 5 and "web%3Avisitor-1" in second and "page=3" not in second


def test_the_transcript_shows_each_message_with_intent_confidence_and_answers_masked(app, store):
    client, _ = login(app, "operator")
    html = page_of(client, f"/console/conversations/{quote(RESIDENT_WEB)}")
    assert PHONE not in html and ID_CARD not in html
    assert "138****5678" in html and "110101********1234" in html
    assert "识别为 <strong>电梯</strong>" in html and "elevator" not in html and "把握 91%" in html
    assert "好的，已记下您的电话 138****5678" in html and "登记" in html and "先不用" in html
    assert "按钮 / 系统消息" in html  # /affirm is a button, not words
    assert (
        "识别为 <strong>没听懂</strong>" in html and "最接近 未命名的意图（22%）" in html and "nlu_fallback" not in html
    )
    assert store in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert client.get("/console/conversations/web:nobody").status_code == 404
    with app.state.sessions() as s:
        views = s.query(AuditEntry).filter_by(action="conversations.transcript").all()
        assert [v.target for v in views] == [RESIDENT_WEB, "web:nobody"]


def test_a_missing_tracker_store_is_said_plainly(app, tracker_path):
    client, _ = login(app, "admin")
    html = page_of(client, "/console/conversations")
    assert "对话记录库暂时打不开" in html
    assert client.get("/console/conversations/export.csv").status_code == 503
    assert not tracker_path.exists()  # reading never creates it


# --- exports ----------------------------------------------------------------------------------


def test_both_exports_are_masked_filtered_and_audited(app, store):
    client, _ = login(app, "operator")
    jsonl = client.get("/console/conversations/export.jsonl?channel=web")
    assert jsonl.status_code == 200 and "attachment" in jsonl.headers["content-disposition"]
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert {r["conversation"] for r in rows} == {"web:visitor-1", "web:later"}
    first = next(r for r in rows if r["speaker"] == "resident" and r["conversation"] == RESIDENT_WEB)
    assert first["text"] == "3号楼电梯坏了，我电话138****5678，身份证110101********1234"
    assert first["intent"] == "elevator" and first["confidence"] == 0.91
    assert any(r["fallback"] and "alert" in r["text"] for r in rows)
    assert PHONE not in jsonl.text and ID_CARD not in jsonl.text

    response = client.get("/console/conversations/export.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert PHONE not in response.text and ID_CARD not in response.text
    table = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert len(table) == 9  # every resident message and bot answer of the three conversations
    tg = next(r for r in table if r["conversation"].startswith("telegram"))
    assert tg["text"].startswith("'=HYPERLINK")  # a spreadsheet will not run it
    assert tg["low_confidence"] == "True"
    with app.state.sessions() as s:
        exports = s.query(AuditEntry).filter_by(action="conversations.export").all()
        assert [(e.target, e.detail["channel"]) for e in exports] == [("jsonl", "web"), ("csv", "")]


# --- read only --------------------------------------------------------------------------------


def test_the_console_reads_the_tracker_store_without_changing_it(app, store, tracker_path, settings):
    before = td.digest(tracker_path)
    client, _ = login(app, "admin")
    paths = ["/console/conversations?q=x", f"/console/conversations/{quote(RESIDENT_WEB)}", "/console/review",
             "/console/conversations/export.csv", "/console/conversations/export.jsonl"]  # fmt: skip
    for path in paths:
        assert client.get(path).status_code == 200
    engine = read_only_engine(settings.tracker_store_url)
    with pytest.raises(OperationalError, match="readonly"):
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM events"))
    with pytest.raises(OperationalError, match="readonly"):
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE sneaky (x INTEGER)"))
    assert td.digest(tracker_path) == before


# --- who may read it --------------------------------------------------------------------------

ROUTES = [
    ("get", "/console/conversations"),
    ("get", f"/console/conversations/{quote(RESIDENT_WEB)}"),
    ("get", "/console/conversations/export.jsonl"),
    ("get", "/console/conversations/export.csv"),
    ("get", "/console/review"),
    ("post", f"/console/conversations/{quote(RESIDENT_WEB)}/flag"),
    ("post", "/console/review/1/label"),
]


@pytest.mark.parametrize("role", ["grid_member", "community_staff", "department"])
def test_roles_without_the_permission_cannot_read_any_conversation(app, store, role):
    client, _ = login(app, role)
    csrf = csrf_of(client, "/console/tickets")
    for method, path in ROUTES:
        if method == "get":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf": csrf, "event_id": "1", "choice": "elevator"})
        assert response.status_code == 403, (role, path)
        assert PHONE[-4:] not in response.text and "电梯坏了" not in response.text
    page = client.get("/console/tickets").text
    assert "/console/conversations" not in page and "/console/review" not in page  # no links either
    with app.state.sessions() as s:
        refused = s.query(AuditEntry).filter_by(outcome="refused").count()
        assert refused == len(ROUTES)


def test_a_visitor_who_is_not_logged_in_goes_to_the_login_page(app, store):
    from fastapi.testclient import TestClient

    client = TestClient(app)
    for _, path in ROUTES[:5]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/console/login")
