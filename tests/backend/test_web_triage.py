import json

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from backend.rasa_auth import jwt_secret
from backend.rasa_client import RasaClient
from backend.web.app import create_app
from tests.rasa_stub import RasaStub


@pytest.fixture()
def nlu():
    state = {
        "down": False,
        "seen": [],
        "parse": {"intent": {"name": "elevator", "confidence": 0.93}, "entities": []},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if state["down"]:
            return httpx.Response(500)
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        claims = jwt.decode(bearer, jwt_secret("tok"), algorithms=["HS256"]) if bearer else {}
        state["seen"].append(
            (request.url.params.get("token"), claims.get("user", {}).get("role"), json.loads(request.content)["text"])
        )
        return httpx.Response(200, json=state["parse"])

    state["handler"] = handler
    return state


@pytest.fixture()
def client(settings, nlu):
    app = create_app(settings)
    with RasaStub(nlu["handler"]) as stub, TestClient(app) as client:
        app.state.rasa = RasaClient(stub.url, token="tok")
        yield client


def test_triage_returns_the_documented_shape(client, nlu):
    body = client.post("/api/triage", json={"text": "三号楼电梯又坏了"}).json()
    assert set(body) == {
        "kind",
        "intent",
        "category",
        "matter",
        "tier",
        "confidence",
        "place_scope",
        "needs_clarification",
        "question",
        "entities",
        "low_confidence",
        "top",
        "choices",
        "problems",
    }
    assert (body["kind"], body["category"], body["matter"], body["tier"]) == (
        "request",
        "elevator",
        "shared",
        "immediate",
    )
    assert body["entities"]["building"] == 3
    assert nlu["seen"] == [(None, "admin", "三号楼电梯又坏了")]  # a signed JWT in the header, no token in the URL
    assert body["problems"] == []


def test_triage_returns_the_problems_the_rasa_server_found(client, nlu):
    text = "滨湖路的路灯坏了一个礼拜了，还有碧湖丽苑5号楼电梯老是卡在三楼"
    problems = [
        {
            "category": "streetlight",
            "name": "路灯照明",
            "summary": "滨湖路的路灯坏了一个礼拜了",
            "text": "…",
            "confidence": 0.99,
        },
        {
            "category": "elevator",
            "name": "电梯",
            "summary": "还有碧湖丽苑5号楼电梯老是卡在三楼",
            "text": "…",
            "confidence": 0.98,
        },
    ]
    nlu["parse"] = {"intent": {"name": "elevator", "confidence": 0.9}, "entities": [], "problems": problems}
    body = client.post("/api/triage", json={"text": text}).json()
    assert [p["category"] for p in body["problems"]] == ["streetlight", "elevator"]


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01"])
def test_empty_input_asks_for_the_problem_without_calling_rasa(client, nlu, text):
    body = client.post("/api/triage", json={"text": text}).json()
    assert body["kind"] == "other" and body["needs_clarification"] and body["question"]
    assert nlu["seen"] == []


def test_a_5000_character_message_is_cut_for_classification(client, nlu):
    r = client.post("/api/triage", json={"text": "电梯" * 2500})
    assert r.status_code == 200
    assert len(nlu["seen"][0][-1]) == 500


def test_rasa_down_is_a_503_with_a_chinese_message(client, nlu):
    nlu["down"] = True
    r = client.post("/api/triage", json={"text": "电梯坏了"})
    assert r.status_code == 503 and "暂时不可用" in r.json()["detail"]


def test_wrong_shape_is_a_422_not_a_500(client):
    assert client.post("/api/triage", json={"txt": 1}).status_code == 422
    assert (
        client.post("/api/triage", content=b"not json", headers={"content-type": "application/json"}).status_code == 422
    )


def test_the_three_most_likely_categories_come_with_their_probabilities(client, nlu):
    ranking = [
        {"name": "pollution", "confidence": 0.55},
        {"name": "greet", "confidence": 0.2},
        {"name": "civility", "confidence": 0.15},
        {"name": "neighbor_dispute", "confidence": 0.06},
        {"name": "street_order", "confidence": 0.04},
    ]
    nlu["parse"] = {"intent": ranking[0], "intent_ranking": ranking, "entities": []}
    body = client.post("/api/triage", json={"text": "工地半夜还在打桩，吵死了"}).json()
    assert body["category"] == "pollution" and body["low_confidence"] is False
    assert body["top"] == [
        {"category": "pollution", "probability": 0.55},
        {"category": "civility", "probability": 0.15},
        {"category": "neighbor_dispute", "probability": 0.06},
    ]


def test_an_emergency_is_kind_emergency_with_its_category(client, nlu):
    ranking = [{"name": "emergency", "confidence": 0.91}, {"name": "elevator", "confidence": 0.05}]
    nlu["parse"] = {"intent": ranking[0], "intent_ranking": ranking, "entities": []}
    body = client.post("/api/triage", json={"text": "5号楼电梯卡在两层中间，里面关着一个老人"}).json()
    assert (body["kind"], body["category"], body["matter"], body["tier"]) == (
        "emergency",
        "elevator",
        "shared",
        "immediate",
    )
    nlu["parse"] = {"intent": {"name": "emergency", "confidence": 0.9}, "entities": []}
    body = client.post("/api/triage", json={"text": "有人持刀抢劫"}).json()
    assert (body["kind"], body["category"], body["matter"]) == ("emergency", "public_safety", "public")
