"""Triage through the real stack: the conversation, the API and the command line agree."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.e2e.stack import say, texts

pytestmark = pytest.mark.e2e


def test_a_clear_request_is_explained_with_matter_handler_and_deadline(running):
    answer = texts(say(running, f"e2e-{uuid.uuid4().hex}", "3号楼电梯又坏了，停在五楼一动不动，老人上下楼太难了"))
    assert "大家事" in answer and "电梯" in answer and "物业" in answer and "23:59" in answer


def test_a_leak_without_a_place_gets_one_question_and_the_answer_decides(running):
    sender = f"e2e-{uuid.uuid4().hex}"
    answers = say(running, sender, "漏水了，滴滴答答一整天了")
    assert "是在您家里、楼道小区里，还是外面马路上？" in texts(answers)
    buttons = answers[-1]["buttons"]
    assert [b["title"] for b in buttons] == ["在我家里", "楼道或小区里", "外面马路上"]
    answer = texts(say(running, sender, buttons[1]["payload"]))
    assert "大家事" in answer and "楼道及公共部位" in answer


def test_typing_the_place_works_like_the_button(running):
    sender = f"e2e-{uuid.uuid4().hex}"
    assert "马路上" in texts(say(running, sender, "漏水了，滴滴答答一整天了"))
    answer = texts(say(running, sender, "在外面马路上"))
    assert "公家事" in answer and "水电气暖" in answer


def test_an_emergency_gets_the_numbers_first(running):
    answer = texts(say(running, f"e2e-{uuid.uuid4().hex}", "着火了！！楼道里全是烟，快来人啊"))
    assert "119" in answer and "110" in answer and "120" in answer


LONG_COMPLAINT = "望江路上的井盖没了好几天了，晚上路过的人看不见很危险。" * 200  # about 5,000 characters


@pytest.mark.parametrize(
    "text",
    [
        "",
        "😀😀😀",
        "<script>alert(1)</script>",
        "' OR 1=1; --",
        "Hello, is anyone there?",
        "電梯壞了",
        "a\x00b\x07c",
        LONG_COMPLAINT,
    ],
)
def test_bad_input_gets_a_sensible_chinese_answer(running, text):
    answers = say(running, f"e2e-{uuid.uuid4().hex}", text or " ")
    assert answers and any("\u4e00" <= ch <= "\u9fff" for ch in texts(answers))


def test_triage_api_through_the_running_rasa(running):
    r = httpx.post(
        f"{running.web_url}/api/triage", json={"text": "学府街的路灯坏了一个多礼拜了，晚上黑乎乎的"}, timeout=30
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["kind"], body["category"], body["matter"]) == ("request", "streetlight", "public")
    assert body["entities"]["road"] == "学府街"
    other = httpx.post(f"{running.web_url}/api/triage", json={"text": "你好呀"}, timeout=30).json()
    assert other["kind"] == "other" and other["category"] is None


def test_command_line_triage_keeps_order_and_reports_bad_lines(running):
    lines = [
        {"text": "三号楼电梯又坏了"},
        "not json",
        {"text": "楼上邻居天天半夜剁肉，吵得睡不着"},
        {"text": "你好"},
    ]
    stdin = "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines)
    out = [json.loads(line) for line in running.command("triage", stdin=stdin).splitlines()]
    assert len(out) == 4
    assert out[0]["category"] == "elevator" and out[0]["entities"]["building"] == 3
    assert out[1]["line"] == 2 and "JSON" in out[1]["error"]
    assert out[2]["category"] == "neighbor_dispute" and out[2]["matter"] == "private"
    assert out[3]["kind"] == "other"
