"""The review queue against a real Rasa tracker store: the scan, flagging, labelling and the review file.

The scan is idempotent and remembers how far it read; an operator flags a
message but only an admin labels; an accepted label lands in the review
file as valid Rasa NLU data (loaded back with Rasa's own loader), masked,
never twice and never when data/nlu already has it; hand-written files are
not touched; "ignore" writes nothing.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from sqlalchemy import select

from backend.console import review_file
from backend.console.review_queue import NLU_FOLDER, scan
from backend.console.tracker_access import read_only_engine
from backend.models import AuditEntry, ReviewCursor, ReviewItem
from backend.settings import ConfigError, load_settings
from backend.worker import review_round, surviving
from tests.backend import tracker_data as td
from tests.backend.test_console import app as console_app  # noqa: F401 - the console app fixture
from tests.backend.test_console import csrf_of, login

PHONE = "13812345678"
HUM = "我家楼下那个东西一直嗡嗡响，吵得睡不着"
WELL = "小区门口的井盖不见了"
KNOWN = "电梯又坏了"  # already in data/nlu/requests_shared_building.yml
CALL = f"我电话{PHONE}麻烦回个电话，楼道灯坏了"
CALL_MASKED = "我电话138****5678麻烦回个电话，楼道灯坏了"
FINE = "路灯好像不太亮"


@pytest.fixture()
def tracker_path(tmp_path):
    return tmp_path / "tracker.db"


@pytest.fixture()
def review_path(tmp_path):
    return tmp_path / "nlu" / "review.yml"


@pytest.fixture()
def settings(database_url, tmp_path, tracker_path, review_path):
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "RASA_TOKEN": "test-rasa-token",
            "MODEL_DIR": str(tmp_path / "models"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "TRACKER_STORE_URL": f"sqlite:///{tracker_path}",
            "REVIEW_NLU_FILE": str(review_path),
            "REVIEW_CONFIDENCE_THRESHOLD": "0.5",
        }
    )


@pytest.fixture()
def app(console_app):  # noqa: F811 - the imported fixture, requested by name
    return console_app


@pytest.fixture()
def store(tracker_path, registry):
    td.write(
        tracker_path,
        {
            "web:a": [
                td.user(HUM, "nlu_fallback", 0.3, guess=("pollution", 0.21)),
                td.action("action_default_fallback"),
                td.bot("抱歉，我没太听懂。"),
                td.user(KNOWN, "elevator", 0.45),
                td.bot("是电梯的问题吗？"),
            ],
            "web:b": [
                td.user(WELL, "road", 0.8),
                td.action("action_default_fallback"),  # the dialogue gave up although the NLU was sure
                td.user("/affirm", "affirm", 0.2),  # a button: never queued
            ],
            "web:c": [td.user(CALL, "building_common", 0.42), td.user(FINE, "streetlight", 0.95)],
        },
    )


def queued(sessions):
    with sessions() as s:
        return {(i.text, i.reason, i.predicted_intent, i.status) for i in s.scalars(select(ReviewItem))}


def item_id(sessions, text):
    with sessions() as s:
        return s.scalars(select(ReviewItem.id).where(ReviewItem.text == text)).one()


def nlu_digests():
    return {p.name: td.digest(p) for p in sorted(NLU_FOLDER.rglob("*")) if p.is_file()}


def examples(path):
    data = load_data(str(path))
    return sorted((e.get("text"), e.get("intent"), len(e.get("entities") or [])) for e in data.training_examples)


# --- the scan ---------------------------------------------------------------------------------


def test_the_scan_queues_fallbacks_and_unsure_messages_once(sessions, store, settings, tracker_path):
    tracker = read_only_engine(settings.tracker_store_url)
    with sessions.begin() as s:
        assert scan(session=s, tracker=tracker, threshold=0.5) == 4
    assert queued(sessions) == {
        (HUM, "fallback", "pollution", "open"),
        (KNOWN, "low_confidence", "elevator", "open"),
        (WELL, "fallback", "road", "open"),
        (CALL_MASKED, "low_confidence", "building_common", "open"),  # masked at rest
    }
    with sessions.begin() as s:
        assert scan(session=s, tracker=tracker, threshold=0.5) == 0
        last = s.get(ReviewCursor, "tracker").last_event_id
    assert last > 0
    td.write(tracker_path, {"web:c": [td.user("垃圾站那边臭得很", "estate_sanitation", 0.31)]})
    assert review_round(sessions=sessions, settings=settings) == 1  # the worker's round: only the new one
    assert review_round(sessions=sessions, settings=settings) == 0
    with sessions() as s:
        assert len(s.scalars(select(ReviewItem)).all()) == 5


def test_a_message_with_a_nul_character_is_queued_with_the_rest_of_its_text(sessions, settings, tracker_path, registry):
    """PostgreSQL refuses NUL in text: once this stopped the worker (and every notification) in CI."""
    td.write(tracker_path, {"web:nul": [td.user("a\x00b\x07c 井盖\x00没了", "nlu_fallback", 0.2, guess=("road", 0.2))]})
    assert review_round(sessions=sessions, settings=settings) == 1
    with sessions() as s:
        [item] = s.scalars(select(ReviewItem)).all()
    assert item.text.startswith("a\ufffdb") and item.text.endswith("井盖\ufffd没了")


def test_a_failing_worker_task_is_logged_and_the_next_task_still_runs(caplog):
    ran = []
    with surviving("review queue"):
        raise ValueError("A string literal cannot contain NUL (0x00) characters.")
    with surviving("notifications"):
        ran.append("notifications")
    assert ran == ["notifications"]
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "review queue" in record.getMessage() and record.exc_info is not None


def test_a_tracker_store_started_afresh_is_read_again_without_duplicates(sessions, store, settings):
    tracker = read_only_engine(settings.tracker_store_url)
    with sessions.begin() as s:
        scan(session=s, tracker=tracker, threshold=0.5)
        s.get(ReviewCursor, "tracker").last_event_id = 10_000  # further than the store goes now
    with sessions.begin() as s:
        assert scan(session=s, tracker=tracker, threshold=0.5) == 0
        assert s.get(ReviewCursor, "tracker").last_event_id < 10_000
    assert len(queued(sessions)) == 4


def test_a_higher_threshold_queues_more(sessions, store, settings):
    with sessions.begin() as s:
        assert scan(session=s, tracker=read_only_engine(settings.tracker_store_url), threshold=0.99) == 5
    assert (FINE, "low_confidence", "streetlight", "open") in queued(sessions)


def test_the_threshold_setting_must_be_a_fraction(settings, database_url):
    for bad in ("1.5", "-0.1", "abc"):
        with pytest.raises(ConfigError, match="REVIEW_CONFIDENCE_THRESHOLD"):
            load_settings({"SECRET_KEY": "x", "RASA_TOKEN": "y", "REVIEW_CONFIDENCE_THRESHOLD": bad})
    assert load_settings({"SECRET_KEY": "x", "RASA_TOKEN": "y"}).review_confidence_threshold == 0.6  # the default


# --- flagging ---------------------------------------------------------------------------------


def event_id_of(html, text):
    block = html.split(text)[0]
    return re.findall(r'id="m(\d+)"', block)[-1]


def test_an_operator_flags_a_message_from_the_transcript_but_cannot_label(app, store, review_path):
    client, _ = login(app, "operator")
    page = client.get("/console/conversations/web%3Ac").text
    event = event_id_of(page, FINE)
    csrf = csrf_of(client, "/console/conversations/web%3Ac")
    for _ in range(2):  # twice: still one item
        response = client.post("/console/conversations/web%3Ac/flag", data={"csrf": csrf, "event_id": event})
        assert response.status_code == 200 and FINE in response.text
    assert "这条已经在待标注队列里了" in response.text
    assert (FINE, "flagged", "streetlight", "open") in queued(app.state.sessions)
    button = event_id_of(client.get("/console/conversations/web%3Ab").text, "/affirm")
    refused = client.post("/console/conversations/web%3Ab/flag", data={"csrf": csrf, "event_id": button})
    assert refused.status_code == 400 and "按钮操作" in refused.text
    elsewhere = client.post("/console/conversations/web%3Aa/flag", data={"csrf": csrf, "event_id": event})
    assert elsewhere.status_code == 400 and "没有找到" in elsewhere.text  # an event of another conversation
    queue = client.get("/console/review")
    assert queue.status_code == 200 and FINE in queue.text and "choice" not in queue.text  # no label forms
    item = item_id(app.state.sessions, FINE)
    label = client.post(f"/console/review/{item}/label", data={"csrf": csrf, "choice": "streetlight"})
    assert label.status_code == 403 and not review_path.exists()
    with app.state.sessions() as s:
        flags = s.scalars(select(AuditEntry).where(AuditEntry.action == "conversations.flag")).all()
        assert [f.outcome for f in flags] == ["ok", "ok", "failed", "failed"]


def test_a_form_without_the_csrf_token_changes_nothing(app, store, review_path):
    client, _ = login(app, "admin")
    client.get("/console/review")
    item = item_id(app.state.sessions, HUM)
    assert client.post(f"/console/review/{item}/label", data={"choice": "pollution"}).status_code == 403
    assert client.post("/console/conversations/web%3Ac/flag", data={"event_id": "1"}).status_code == 403
    assert not review_path.exists()
    assert len(queued(app.state.sessions)) == 4 and all(q[3] == "open" for q in queued(app.state.sessions))


# --- labelling --------------------------------------------------------------------------------


def test_an_admin_labels_and_the_review_file_is_valid_masked_and_deduplicated(app, store, review_path):
    before = nlu_digests()
    client, _ = login(app, "admin")
    page = client.get("/console/review")
    assert page.status_code == 200 and "采纳" in page.text and PHONE not in page.text
    rows = {row.split("</tr>")[0] for row in page.text.split("<tr")[2:]}
    hum = next(r for r in rows if HUM in r)
    assert "pollution" in hum and 'value="pollution" selected' not in hum  # a fallback's guess is not offered
    assert 'value="elevator" selected' in next(r for r in rows if KNOWN in r)  # an unsure one's is
    csrf = csrf_of(client, "/console/review")

    def label(text, choice):
        return client.post(f"/console/review/{item_id(app.state.sessions, text)}/label",
                           data={"csrf": csrf, "choice": choice})  # fmt: skip

    assert "已写入训练数据" in label(HUM, "pollution").text
    assert "已写入训练数据" in label(CALL_MASKED, "building_common").text
    assert "训练数据里已经有同样的句子" in label(KNOWN, "elevator").text  # data/nlu has it already
    assert examples(review_path) == sorted([(HUM, "pollution", 0), (CALL_MASKED, "building_common", 0)])
    assert PHONE not in review_path.read_text(encoding="utf-8")
    again = label(HUM, "pollution")
    assert again.status_code == 400 and "已经处理过了" in again.text
    assert nlu_digests() == before  # hand-written files untouched
    with app.state.sessions() as s:
        done = {i.text: (i.status, i.label) for i in s.scalars(select(ReviewItem))}
        assert done[KNOWN] == ("accepted", "elevator") and done[WELL] == ("open", None)
        assert s.query(AuditEntry).filter_by(action="review.label", outcome="ok").count() == 3


def test_ignore_writes_nothing_and_an_unknown_intent_is_refused(app, store, review_path):
    client, _ = login(app, "admin")
    client.get("/console/review")
    csrf = csrf_of(client, "/console/review")
    well = item_id(app.state.sessions, WELL)
    for bad in ("drop_table", "nlu_fallback", "action_submit_report", ""):
        response = client.post(f"/console/review/{well}/label", data={"csrf": csrf, "choice": bad})
        assert response.status_code == 400 and "没有这个意图" in response.text, bad
    ignored = client.post(f"/console/review/{well}/label", data={"csrf": csrf, "choice": "road", "ignore": "1"})
    assert "已忽略" in ignored.text
    assert not review_path.exists()
    with app.state.sessions() as s:
        assert s.get(ReviewItem, well).status == "ignored"
    assert "已忽略" in client.get("/console/review?status=ignored").text


def test_normalised_duplicates_are_written_once(review_path):
    def add(intent, text):
        return review_file.add_example(review=review_path, nlu_folder=NLU_FOLDER, intent=intent, text=text)

    assert add("streetlight", "路灯 不亮了！")
    assert not add("streetlight", "路灯不亮了")
    assert not add("road", "路灯不亮了。")  # the same words under another intent would only confuse
    assert not add("elevator", "电梯又坏了!!")  # data/nlu has it
    assert examples(review_path) == [("路灯 不亮了！", "streetlight", 0)]


def test_strange_text_stays_one_plain_example(app, store, tracker_path, review_path):
    nasty = '[电梯](place) 坏了\n  - intent: greet\n<b>"x"</b>: {y}'
    td.write(tracker_path, {"web:d": [td.user(nasty, "elevator", 0.2)]})
    client, _ = login(app, "admin")
    page = client.get("/console/review").text
    assert "<b>" not in page and "&lt;b&gt;" in page
    csrf = csrf_of(client, "/console/review")
    item = item_id(app.state.sessions, nasty)
    assert client.post(f"/console/review/{item}/label", data={"csrf": csrf, "choice": "elevator"}).status_code == 200
    assert examples(review_path) == [('［电梯］(place) 坏了 - intent: greet <b>"x"</b>: {y}', "elevator", 0)]


def test_a_file_the_console_did_not_write_is_never_changed(tmp_path):
    hand = tmp_path / "conversation.yml"
    hand.write_text((NLU_FOLDER / "conversation.yml").read_text(encoding="utf-8"), encoding="utf-8")
    before = td.digest(hand)
    with pytest.raises(review_file.ReviewFileError, match="不是工作台写的文件"):
        review_file.add_example(review=hand, nlu_folder=NLU_FOLDER, intent="greet", text="早上好呀各位")
    assert td.digest(hand) == before
    assert not list(tmp_path.glob(".review-*"))  # no temporary file left behind


def test_the_queue_links_to_the_message_in_its_conversation(app, store):
    client, _ = login(app, "operator")
    page = client.get("/console/review").text
    with app.state.sessions() as s:
        item = s.scalars(select(ReviewItem).where(ReviewItem.text == WELL)).one()
    assert f'href="/console/conversations/{quote("web:b", safe="")}#m{item.event_id}"' in page
