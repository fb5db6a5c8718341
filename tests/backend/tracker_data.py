"""Conversations written into a real Rasa SQL tracker store (Rasa's own SQLTrackerStore, so Rasa's schema)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("rasa")

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

START = 1_795_300_000.0  # 2026-11-22 06:26 in the district


def user(text: str, intent: str, confidence: float, guess: tuple[str, float] | None = None) -> tuple[str, Any]:
    """A resident message as the NLU parsed it (``guess``: the best real intent under a fallback)."""
    ranking = [{"name": guess[0], "confidence": guess[1]}] if guess else [{"name": intent, "confidence": confidence}]
    parse = {"intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking, "entities": [],
             "text": text}  # fmt: skip
    return ("user", UserUttered(text, intent={"name": intent, "confidence": confidence}, parse_data=parse))


def bot(text: str, *buttons: str) -> tuple[str, Any]:
    """An answer of the bot, with buttons."""
    data = {"buttons": [{"title": b, "payload": f"/b{i}"} for i, b in enumerate(buttons)]} if buttons else {}
    return ("bot", BotUttered(text, data=data))


def action(name: str) -> tuple[str, Any]:
    """An action the dialogue ran (``action_default_fallback`` when it gave up)."""
    return ("action", ActionExecuted(name))


def write(path: Path, conversations: dict[str, list[tuple[str, Any]]], *, start: float = START) -> None:
    """Append the conversations' events to the tracker store at ``path`` (one second apart)."""
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    clock = start
    for sender, steps in conversations.items():
        tracker = asyncio.run(store.retrieve(sender)) or DialogueStateTracker(sender, slots=[])
        for _, event in steps:
            event.timestamp = clock
            clock += 1
            tracker.update(event)
        asyncio.run(store.save(tracker))
    store.engine.dispose()


def digest(path: Path) -> str:
    """The file's SHA-256, to show a reader did not change it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
