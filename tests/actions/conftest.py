"""Action tests run against a real migrated SQLite database holding the demo registry."""

import pytest
import yaml
from rasa_sdk import Tracker

from actions import runtime
from backend.registry.file_import import import_registry
from backend.services.residents import import_demo_residents
from backend.settings import PROJECT_ROOT


@pytest.fixture()
def backend(database_url, sessions, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "uploads"))
    runtime.sessions.cache_clear()
    config = PROJECT_ROOT / "config"
    with sessions.begin() as s:
        import_registry(session=s, data=yaml.safe_load((config / "registry.demo.yml").read_text(encoding="utf-8")))
        import_demo_residents(
            session=s, data=yaml.safe_load((config / "residents.demo.yml").read_text(encoding="utf-8"))
        )
    yield sessions
    runtime.sessions.cache_clear()


def make_tracker(sender, text="好的", intent="affirm", slots=None, active_loop=None, events=None, entities=None):
    """A tracker as the action server receives it: latest message, slots, events."""
    return Tracker(
        sender_id=sender,
        slots=dict(slots or {}),
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities or [],
        },
        events=events or [{"event": "user", "text": text}],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )
