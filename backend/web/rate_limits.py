"""Per-sender rate limits on the public endpoints: one noisy or hostile caller cannot drown the rest.

Each public entry point gets a token bucket per caller — the web chat per
visitor (its signed cookie, else its address), the triage API and Open311
per client address — with a burst for a person typing fast and a steady
rate no person keeps up. Over the limit the answer is 429 with
``Retry-After`` and a Chinese explanation; the chat page puts the text
back into the input box, so nothing typed is lost.

The buckets live in the web process's memory (bounded: the least recently
seen callers are forgotten first). With several web processes behind a
load balancer each has its own buckets, so the effective limit is that
many times higher; put a limit on the load balancer too.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request

from backend.web.identity import visitor_id

MAX_CALLERS = 50_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class SenderLimiter:
    """Token buckets keyed by caller: ``burst`` at once, then ``per_minute``."""

    def __init__(self, *, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token for ``key``: 0 when allowed, else the seconds until the next one."""
        now = self.clock()
        bucket = self._buckets.pop(key, None) or _Bucket(tokens=self.burst, updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket  # most recently seen last
        while len(self._buckets) > MAX_CALLERS:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def by_visitor(request: Request) -> str:
    """The web chat's caller: the visitor cookie, or the address before it has one."""
    visitor = visitor_id(request)
    return f"visitor:{visitor}" if visitor else f"address:{_address(request)}"


def by_address(request: Request) -> str:
    """An API caller: its address."""
    return f"address:{_address(request)}"


KEYS: dict[str, Callable[[Request], str]] = {
    "chat": by_visitor,
    "photos": by_visitor,
    "triage": by_address,
    "open311": by_address,
}


def install(app: Any, per_minute: int) -> None:
    """Give the app its limiters: ``per_minute`` chat messages per visitor (0: no limits).

    The others follow from it: photos a third of it, the triage API and
    Open311 (a platform's tool calling) four times it.
    """
    if per_minute <= 0:
        app.state.rate_limits = {}
        return
    app.state.rate_limits = {
        "chat": SenderLimiter(per_minute=per_minute, burst=20),
        "photos": SenderLimiter(per_minute=max(1, per_minute // 3), burst=5),
        "triage": SenderLimiter(per_minute=per_minute * 4, burst=30),
        "open311": SenderLimiter(per_minute=per_minute * 4, burst=30),
    }


def limit(scope: str) -> Callable[[Request], None]:
    """A FastAPI dependency that refuses (429) a caller over the app's ``scope`` limit."""
    key = KEYS[scope]

    def check(request: Request) -> None:
        limiter = getattr(request.app.state, "rate_limits", {}).get(scope)
        wait = limiter.take(key(request)) if limiter is not None else 0.0
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise HTTPException(
                status_code=429,
                detail=f"您发得太快了，请等 {seconds} 秒再发。刚才那条没有发出，内容还在输入框里。",
                headers={"Retry-After": str(seconds)},
            )

    return check
