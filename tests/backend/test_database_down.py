"""The backend's database unreachable: a polite 503 that says the message was not taken, never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend import messages
from backend.settings import load_settings
from backend.web.app import create_app
from tests.e2e.stack import free_port


def test_a_message_to_a_dead_database_gets_503_in_chinese(tmp_path):
    settings = load_settings(
        {
            "DATABASE_URL": f"postgresql://santong@127.0.0.1:{free_port()}/santong",  # nothing listens there
            "SECRET_KEY": "k",
            "RASA_TOKEN": "t",
            "MODEL_DIR": str(tmp_path / "models"),
        }
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.get("/")
        response = client.post("/api/chat/messages", json={"text": "路灯坏了"}, headers={"X-Requested-With": "santong"})
        assert response.status_code == 503 and response.json()["detail"] == messages.STORE_DOWN
        assert response.headers["Retry-After"] == "30"
        tickets = client.get("/api/tickets")
        assert tickets.status_code == 503
