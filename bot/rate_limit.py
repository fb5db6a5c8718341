"""Telegram's sending limits, kept by the one process that sends.

Telegram asks bots to send about one message per second to a chat and no
more than about 30 per second overall, and answers 429 with
``retry_after`` when a bot goes faster. :class:`RateLimiter` keeps both
limits as token buckets (a chat may get a short burst, so a two-part answer
is not held back a second, but not a stream), and :meth:`RateLimiter.hold`
stops a chat until the time a 429 named.

The clock and the sleep are injectable so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

PER_CHAT_PER_SECOND = 1.0
CHAT_BURST = 3
OVERALL_PER_SECOND = 30.0
# Waits shorter than this are rounding, not waiting (a clock cannot add 1e-16 to 2.03).
EPSILON = 1e-6


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    updated: float
    not_before: float = 0.0

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 when one is)."""
        self.refill(now)
        gate = max(0.0, self.not_before - now)
        wait = max(gate, 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate)
        return 0.0 if wait < EPSILON else wait


@dataclass
class RateLimiter:
    """Token buckets per chat and overall; :meth:`acquire` waits for a slot in both."""

    per_chat: float = PER_CHAT_PER_SECOND
    chat_burst: int = CHAT_BURST
    overall: float = OVERALL_PER_SECOND
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _chats: dict[int, _Bucket] = field(default_factory=dict)
    _all: _Bucket | None = None

    def _bucket(self, chat_id: int, now: float) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) > 10_000:  # forget chats that have been quiet long enough to be full again
                self._chats = {
                    k: b for k, b in self._chats.items() if now - b.updated < self.chat_burst / self.per_chat
                }
            bucket = self._chats[chat_id] = _Bucket(self.per_chat, self.chat_burst, self.chat_burst, now)
        return bucket

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` keeps both limits, and take the slot."""
        if self._all is None:
            self._all = _Bucket(self.overall, self.overall, self.overall, self.clock())
        while True:
            now = self.clock()
            chat = self._bucket(chat_id, now)
            wait = max(chat.wait(now), self._all.wait(now))
            if wait <= 0:
                chat.tokens = max(0.0, chat.tokens - 1)
                self._all.tokens = max(0.0, self._all.tokens - 1)
                return
            await self.sleep(wait)

    def hold(self, chat_id: int, seconds: float) -> None:
        """Send nothing to ``chat_id`` for ``seconds`` (Telegram's ``retry_after``)."""
        now = self.clock()
        chat = self._bucket(chat_id, now)
        chat.not_before = max(chat.not_before, now + seconds)

    def held_for(self, chat_id: int) -> float:
        """Seconds ``chat_id`` is still held by a 429 (0 when it is not)."""
        bucket = self._chats.get(chat_id)
        return 0.0 if bucket is None else max(0.0, bucket.not_before - self.clock())
