"""The token buckets behind the rate limits: in the web process's memory, or in Redis shared by every process.

A bucket per caller key: ``burst`` at once, then ``per_minute``. Where
``REDIS_URL`` is set (the production profile, several web processes behind
a load balancer) the buckets live in Redis, each update one atomic script
on Redis's own clock; otherwise in the web process's memory (bounded: the
least recently seen callers are forgotten first). When Redis cannot be
reached the shared limiter lets the message through and logs it: a
resident is never refused because the limiter is down. Which caller gets
which bucket is :mod:`backend.web.rate_limits`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio
import redis.exceptions

logger = logging.getLogger(__name__)

MAX_CALLERS = 50_000
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_REST_SECONDS = 5.0  # after a failure Redis is not asked again for this long: no 0.5 s wait per message
WARN_EVERY_SECONDS = 60.0


class Limiter(Protocol):
    """Spends one token for a caller: 0 when allowed, else the seconds until the next one."""

    async def take(self, key: str) -> float:
        """See the class."""
        ...


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

    async def take(self, key: str) -> float:
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


# One token bucket in a Redis hash, refilled and spent in one step (a script
# runs alone), on Redis's clock so that web processes on several machines agree.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local stored = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(stored[1]) or burst
local updated = tonumber(stored[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class LoopRedis:
    """One asyncio Redis client per event loop, made on first use there.

    A client's connections belong to the loop that opened them; the web
    server has one loop, a test client may start several.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )

    def client(self) -> redis.asyncio.Redis:
        """The running loop's client."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
            )
        return client


class SharedSenderLimiter:
    """The same token buckets in Redis, shared by every web process: ``burst`` at once, then ``per_minute``.

    A bucket's key expires once it would be full again, so Redis holds only
    the callers seen lately.
    """

    def __init__(
        self,
        clients: Any,
        *,
        scope: str,
        per_minute: float,
        burst: int,
        prefix: str = "santong:rate",
    ):
        """``clients``: a :class:`LoopRedis` (or anything whose ``client()`` gives an asyncio Redis client)."""
        self.clients = clients
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.prefix = f"{prefix}:{scope}:"
        self._sha = hashlib.sha1(_TAKE.encode()).hexdigest()
        self._warned = -WARN_EVERY_SECONDS
        self._resting_until = 0.0

    async def take(self, key: str) -> float:
        """Spend one token for ``key`` in Redis; allowed (0) when Redis cannot be reached or failed just now."""
        if time.monotonic() < self._resting_until:
            return 0.0
        try:
            client = self.clients.client()
            name, rate, burst = self.prefix + key, self.rate, self.burst
            try:
                return float(await client.evalsha(self._sha, 1, name, rate, burst))
            except redis.exceptions.NoScriptError:  # a Redis that has not seen it yet (or restarted): send it whole
                return float(await client.eval(_TAKE, 1, name, rate, burst))
        except (redis.exceptions.RedisError, OSError) as error:
            now = time.monotonic()
            self._resting_until = now + REDIS_REST_SECONDS
            if now - self._warned >= WARN_EVERY_SECONDS:
                self._warned = now
                logger.warning("rate limits not applied: Redis unavailable (%s)", error)
            return 0.0
