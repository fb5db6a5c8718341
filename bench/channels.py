"""The entry points as one simulated resident uses them: the web chat, Telegram through the bridge, a bare Rasa server.

Each channel sends what the resident says and returns the bot's answer (its
text, its buttons, and how long the first part took), so the conversation
script (:mod:`bench.conversation`) is the same on every entry point.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from itsdangerous import URLSafeSerializer

from tests.fake_bot_api import FakeBotAPI, button_update, text_update

ANSWER_TIMEOUT = 30.0


@dataclass
class Answer:
    """The bot's answer to one message: its text, its buttons (title → payload), and how long the first part took."""

    text: str
    buttons: dict[str, str]
    latency_ms: float
    empty: bool
    why: str = ""  # for an empty answer: what came back instead (an HTTP status, an error, the busy notice)


class Channel(Protocol):
    """An entry point as one resident uses it."""

    entry: str

    async def say(self, text: str, wanted: tuple[str, ...] = ()) -> Answer:
        """Send ``text`` (a typed message or a button's payload); the answer, once it holds one of ``wanted``."""
        ...


def _answer(parts: list[dict[str, Any]], started: float, first: float | None) -> Answer:
    text = "\n".join(str(p.get("text") or "") for p in parts)
    buttons = {str(b.get("title")): str(b.get("payload")) for p in parts for b in p.get("buttons") or []}
    latency = ((first if first is not None else time.monotonic()) - started) * 1000
    return Answer(text=text, buttons=buttons, latency_ms=latency, empty=not parts)


class WebChat:
    """A visitor of the web chat page: the page's own HTTP calls, with the visitor's signed cookie."""

    entry = "web"

    def __init__(self, http: aiohttp.ClientSession, base_url: str, secret_key: str) -> None:
        self.http = http
        self.base_url = base_url
        visitor = uuid.uuid4().hex
        self.cookie = "sst_visitor=" + URLSafeSerializer(secret_key, salt="web-visitor").dumps(visitor)
        self.after = 0

    async def say(self, text: str, wanted: tuple[str, ...] = ()) -> Answer:
        """POST the message as the page does; the answers come back in the same response."""
        started = time.monotonic()
        headers = {"Cookie": self.cookie, "X-Requested-With": "santong"}
        url = f"{self.base_url}/api/chat/messages?after={self.after}"
        try:
            async with self.http.post(url, json={"text": text}, headers=headers) as response:
                body = await response.json() if response.status == 200 else {"replies": []}
                why = f"HTTP {response.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            body, why = {"replies": []}, f"{type(exc).__name__}: {exc}"
        replies = body.get("replies") or []
        if replies:
            self.after = max(int(r["id"]) for r in replies)
        parts = [{"text": r.get("text"), "buttons": r.get("buttons")} for r in replies]
        answer = _answer(parts, started, None)
        if answer.empty:
            answer.why = f"{why}, pending {body.get('pending')}, notice {body.get('notice')!r}"
        return answer

    async def everything(self) -> str:
        """Every answer this visitor got, in the order they were stored (the page after a reload)."""
        headers = {"Cookie": self.cookie}
        async with self.http.get(f"{self.base_url}/api/chat/updates?after=0", headers=headers) as response:
            body = await response.json()
        return "\n".join(str(r.get("text") or "") for r in body.get("replies") or [])


class BareRasa:
    """A sender talking to a Rasa server's REST channel directly (the baseline: no backend in between)."""

    entry = "bare"

    def __init__(self, http: aiohttp.ClientSession, rasa_url: str) -> None:
        self.http = http
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender = f"bench:{uuid.uuid4().hex}"

    async def say(self, text: str, wanted: tuple[str, ...] = ()) -> Answer:
        """POST to Rasa's REST channel."""
        started = time.monotonic()
        try:
            async with self.http.post(self.url, json={"sender": self.sender, "message": text}) as response:
                answered = response.status == 200
                parts = await response.json() if answered else []
        except (aiohttp.ClientError, asyncio.TimeoutError):
            answered, parts = False, []
        # Without an action server most of this domain's answers are custom actions, so [] is an answer here.
        return Answer(**{**_answer(parts, started, None).__dict__, "empty": not answered})


@dataclass
class TelegramInbox:
    """What the fake Bot API delivered, sorted per chat as it arrives (looked at every 10 ms).

    One task looks and wakes the chats that got something, so the residents
    waiting for answers cost the load generator nothing while they wait
    (it shares the machine with the stack it measures).
    """

    api: FakeBotAPI
    chats: dict[int, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    arrived: dict[int, asyncio.Event] = field(default_factory=dict)
    cursor: int = 0
    update_ids: Any = field(default_factory=lambda: itertools.count(int(time.time()) % 10**6 * 1000))

    async def run(self, stop: asyncio.Event) -> None:
        """Collect until ``stop`` is set."""
        while not stop.is_set():
            self.collect()
            await asyncio.sleep(0.01)

    def collect(self) -> None:
        """Sort what arrived since the last call into the chats, and wake them."""
        with self.api.lock:
            new = self.api.delivered[self.cursor :]
            self.cursor += len(new)
        now = time.monotonic()
        for message in new:
            chat = int(message["chat_id"])
            self.chats.setdefault(chat, []).append((now, message))
            self.signal(chat).set()

    def signal(self, chat: int) -> asyncio.Event:
        """The event set when something arrives for ``chat``."""
        return self.arrived.setdefault(chat, asyncio.Event())

    async def wait(self, chat: int, deadline: float) -> None:
        """Until something arrives for ``chat`` (or the deadline passes)."""
        event = self.signal(chat)
        try:
            await asyncio.wait_for(event.wait(), timeout=max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
        event.clear()


def _telegram_part(message: dict[str, Any]) -> dict[str, Any]:
    markup = message.get("reply_markup")
    markup = json.loads(markup) if isinstance(markup, str) else markup or {}
    buttons = [
        {"title": b.get("text"), "payload": b.get("callback_data")}
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]
    return {"text": message.get("text"), "buttons": buttons}


class Telegram:
    """A Telegram user: updates pushed into the fake Bot API, answers read from what the bridge sent there."""

    entry = "telegram"

    def __init__(self, inbox: TelegramInbox) -> None:
        self.inbox = inbox
        self.user_id = uuid.uuid4().int % 10**9
        self.seen = 0

    def push(self, text: str) -> None:
        """Send a text message without waiting for its answer."""
        self.inbox.api.push(text_update(next(self.inbox.update_ids), self.user_id, text))

    async def collect(self, pattern: str, timeout: float = ANSWER_TIMEOUT) -> str:
        """Everything delivered to this chat, once it matches ``pattern`` (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        joined = ""
        while time.monotonic() < deadline:
            joined = "\n".join(str(m.get("text") or "") for _, m in self.inbox.chats.get(self.user_id, []))
            if re.search(pattern, joined):
                break
            await self.inbox.wait(self.user_id, deadline)
        return joined

    async def say(self, text: str, wanted: tuple[str, ...] = ()) -> Answer:
        """Push an update (a button's payload as a button press); wait for what the bridge sends back."""
        update_id = next(self.inbox.update_ids)
        if text.startswith("/") and not text.startswith(("/start", "/help", "/mytickets", "/points")):
            update = button_update(update_id, self.user_id, text)  # a payload: the resident pressed its button
        else:
            update = text_update(update_id, self.user_id, text)
        started = time.monotonic()
        self.inbox.api.push(update)
        deadline = started + ANSWER_TIMEOUT
        while time.monotonic() < deadline:
            new = self.inbox.chats.get(self.user_id, [])[self.seen :]
            joined = "\n".join(str(m.get("text") or "") for _, m in new)
            if new and (not wanted or any(w in joined for w in wanted)):
                self.seen += len(new)
                return _answer([_telegram_part(m) for _, m in new], started, new[0][0])
            await self.inbox.wait(self.user_id, deadline)
        new = self.inbox.chats.get(self.user_id, [])[self.seen :]
        self.seen += len(new)
        return _answer([_telegram_part(m) for _, m in new], started, new[0][0] if new else None)
