"""One simulated resident's conversation, through the web chat, Telegram, or a bare Rasa server.

The conversation is the one the stack exists for: a problem reported in
the resident's words, the report form (contact, place if it was not
understood, the summary confirmed), the ticket number in the answer, then
"查询 <number>" and "我有多少积分". The resident reads each answer and
answers what was asked, as a person would, so a form that asks in a
different order still completes; an answer that is not the step it should
be is counted as unexpected, and the conversation starts over.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
from itsdangerous import URLSafeSerializer

from bench.figures import Sample, Samples
from tests.fake_bot_api import FakeBotAPI, button_update, text_update

NUMBER = re.compile(r"GZ\d{8}-\d{4}")
ANSWER_TIMEOUT = 30.0

# Reports as residents type them, each with the place to give if the form asks for it.
REPORTS = [
    ("建设路上的井盖松了，一踩就晃", "建设路"),
    ("锦秀花园5栋的电梯又坏了，我家老人下不了楼，急死了", "锦绣花园5号楼"),
    ("学府街东头的路灯有三盏不亮了，晚上黑乎乎的", "学府街"),
    ("碧湖丽苑2幢楼道里堆满了纸箱和旧家具，着火了都跑不出去", "碧湖丽苑2幢"),
    ("和园新村4号楼的楼道灯坏了，晚上上楼看不见", "和园新村4号楼"),
    ("和园新村5号楼门口的垃圾桶满了好几天没人清", "和园新村5号楼"),
    ("望江新村9号楼单元门坏了，关不上", "望江新村9号楼"),
    ("望江路上的井盖没了", "望江路"),
]


@dataclass
class Answer:
    """The bot's answer to one message: its text, its buttons (title → payload), and how long the first part took."""

    text: str
    buttons: dict[str, str]
    latency_ms: float
    empty: bool


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
        except (aiohttp.ClientError, asyncio.TimeoutError):
            body = {"replies": []}
        replies = body.get("replies") or []
        if replies:
            self.after = max(int(r["id"]) for r in replies)
        parts = [{"text": r.get("text"), "buttons": r.get("buttons")} for r in replies]
        return _answer(parts, started, None)

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


async def _step(channel: Channel, samples: Samples, step: str, text: str, wanted: tuple[str, ...]) -> Answer | None:
    """Say ``text`` (step ``step``); the answer if it is one of ``wanted`` (any when empty), else None."""
    answer = await channel.say(text, wanted)
    fits = not answer.empty and (not wanted or any(w in answer.text or w in answer.buttons for w in wanted))
    said = "" if fits else f"{channel.entry}: {text!r} → {answer.text[:80]!r}"
    samples.add(Sample(channel.entry, time.monotonic(), answer.latency_ms, answer.empty, not fits, said, step))
    return answer if fits else None


async def report_conversation(channel: Channel, samples: Samples, rng: random.Random, think: float = 0.0) -> bool:
    """Report a problem to a filed ticket, ask its status and the points; whether it got to the end."""

    async def pause() -> None:
        if think:
            await asyncio.sleep(rng.uniform(0.75 * think, 1.25 * think))

    text, place = rng.choice(REPORTS)
    offer = await _step(channel, samples, "report", text, ("登记工单",))
    if offer is None:
        return False
    await pause()
    asks = ("手机号", "在哪", "请核对", "反映过", "急不急")
    answer = await _step(channel, samples, "form", offer.buttons["登记工单"], asks)
    for _ in range(6):  # answer what the form asks, whatever its order
        if answer is None:
            return False
        if "请核对" in answer.text:
            break
        await pause()
        if "反映过" in answer.text:  # someone reported it already: this resident's case is different
            reply = "/deny"
        elif "急不急" in answer.text:
            reply = "一般"
        elif "手机号" in answer.text:
            reply = "不留"
        else:
            reply = place
        answer = await _step(channel, samples, "slot", reply, asks)
    else:
        return False
    await pause()
    filed = await _step(channel, samples, "confirm", "/affirm", ("已登记",))
    number = NUMBER.search(filed.text) if filed else None
    if number is None:
        return False
    await pause()
    if await _step(channel, samples, "status", f"查询 {number.group(0)}", (number.group(0),)) is None:
        return False
    await pause()
    if await _step(channel, samples, "points", "我有多少积分", ("积分",)) is None:
        return False
    samples.conversations += 1
    return True


BARE_SCRIPT = ("/report_start", "不留", "/affirm", "查询 GZ20261203-0001", "我有多少积分")
BARE_STEPS = ("report", "form", "slot", "confirm", "status", "points")


async def bare_conversation(channel: Channel, samples: Samples, rng: random.Random, think: float = 0.0) -> bool:
    """The same messages to a bare Rasa server; without actions its answers are not checked, only timed."""
    text, _ = rng.choice(REPORTS)
    for step, message in zip(BARE_STEPS, (text, *BARE_SCRIPT), strict=True):
        answer = await channel.say(message)
        samples.add(Sample(channel.entry, time.monotonic(), answer.latency_ms, empty=answer.empty, step=step))
        if think:
            await asyncio.sleep(rng.uniform(0.75 * think, 1.25 * think))
    samples.conversations += 1
    return True
