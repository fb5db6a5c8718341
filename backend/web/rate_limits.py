"""Per-sender rate limits on the public endpoints: one noisy or hostile caller cannot drown the rest.

Each public entry point gets a token bucket per caller — the web chat per
visitor (its signed cookie, else its address), the triage API and Open311
per client address — with a burst for a person typing fast and a steady
rate no person keeps up. Because a cookie is free to ask for, the chat has
buckets per client address too: new visitors (cookies handed out), all
chat messages and photos together, and history reads; several residents
behind one address (an office, a carrier's NAT) fit in them, one caller
rotating cookies does not multiply its allowance. The address is
``request.client.host``, which the server takes from ``X-Forwarded-For``
only for proxies named in its configuration (``TRUSTED_PROXIES``; behind a
proxy that is not named, every resident shares the proxy's allowance).
Addresses named in ``RATE_LIMIT_EXEMPT`` (a load test from this machine) are
not limited per address, each visitor still is. Over the limit the answer is 429 with
``Retry-After`` and a Chinese explanation; the chat page puts the text
back into the input box, so nothing typed is lost.

Where ``REDIS_URL`` is set (the production profile, several web processes
behind a load balancer) the buckets live in Redis, shared by every web
process, each update one atomic script on Redis's own clock; otherwise in
the web process's memory (bounded: the least recently seen callers are
forgotten first). When Redis cannot be reached the shared limiter lets the
message through and logs it: a resident is never refused because the
limiter is down.

The check is a coroutine on the web app's event loop, Redis's answer awaited
with its asyncio client: as a plain function FastAPI ran it in a worker
thread for every message, whose hand-over cost CPU and latency (make bench).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio
import redis.exceptions
from fastapi import HTTPException, Request

from backend import messages
from backend.settings import Settings
from backend.web.identity import cookie_key

logger = logging.getLogger(__name__)

MAX_CALLERS = 50_000
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_REST_SECONDS = 5.0  # after a failure Redis is not asked again for this long: no 0.5 s wait per message
WARN_EVERY_SECONDS = 60.0
# Console logins per client address: a burst for an office of colleagues behind one address, then a steady
# rate no person keeps up. It holds whatever username is tried (the lockout counts per username).
LOGIN_BURST = 20
LOGIN_PER_MINUTE = 10


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


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def by_visitor(request: Request) -> str:
    """The web chat's caller: the visitor cookie (its signature checked, nothing looked up), else its address."""
    key = cookie_key(request, request.app.state.settings.secret_key)
    return f"visitor:{key}" if key else f"address:{_address(request)}"


# Per-address buckets of the chat, which the addresses of RATE_LIMIT_EXEMPT are not held to.
CHAT_ADDRESS_SCOPES = frozenset({"chat_address", "history", "visitors"})


def _is_exempt(host: str, exempt: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    if not exempt:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in exempt)


def by_address(request: Request) -> str:
    """An API caller: its address."""
    return f"address:{_address(request)}"


KEYS: dict[str, Callable[[Request], str]] = {
    "chat": by_visitor,
    "photos": by_visitor,
    "chat_address": by_address,
    "history": by_address,
    "visitors": by_address,
    "triage": by_address,
    "open311": by_address,
}


LIMITS = {  # scope: (the chat's per-minute rate times this fraction, rounded down; burst)
    "chat": ((1, 1), 20),
    "photos": ((1, 3), 5),
    "chat_address": ((3, 1), 60),  # every message and photo from one address, whatever its cookies
    "history": ((1, 1), 20),
    "visitors": ((1, 3), 10),  # new visitor cookies handed out to one address
    "triage": ((4, 1), 30),
    "open311": ((4, 1), 30),
}


def install(app: Any, per_minute: int, redis_url: str = "", exempt: tuple[str, ...] = ()) -> None:
    """Give the app its limiters: ``per_minute`` chat messages per visitor (0: no limits).

    The others follow from it: photos a third of it, the triage API and
    Open311 (a platform's tool calling) four times it; per address, chat
    messages three times it (burst 60), history reads as many (burst 20) and
    new visitors a third of it (burst 10). With ``redis_url``
    they are shared by every web process through Redis. Callers from the
    ``exempt`` addresses or networks skip the per-address chat buckets.
    """
    limits: dict[str, Limiter] = {}
    if per_minute > 0:
        client = LoopRedis(redis_url) if redis_url else None
        for scope, ((times, over), burst) in LIMITS.items():
            rate = max(1, per_minute * times // over)
            limits[scope] = (
                SharedSenderLimiter(client, scope=scope, per_minute=rate, burst=burst)
                if client is not None
                else SenderLimiter(per_minute=rate, burst=burst)
            )
    app.state.rate_limits = limits
    app.state.rate_limit_exempt = tuple(ipaddress.ip_network(item, strict=False) for item in exempt)


def login_limiter(settings: Settings) -> Limiter | None:
    """The console's login limiter per client address (none when the rate limits are off).

    Shared through Redis by every web process when ``REDIS_URL`` is set, like the other rate limits.
    """
    if settings.rate_limit_per_minute > 0 and settings.redis_url:
        return SharedSenderLimiter(LoopRedis(settings.redis_url), scope="login", per_minute=LOGIN_PER_MINUTE,
                                   burst=LOGIN_BURST)  # fmt: skip
    if settings.rate_limit_per_minute > 0:
        return SenderLimiter(per_minute=LOGIN_PER_MINUTE, burst=LOGIN_BURST)
    return None


async def wait_for(request: Request, scope: str) -> float:
    """Spend one of the caller's ``scope`` tokens: 0 when allowed, else the seconds to wait."""
    limiter = getattr(request.app.state, "rate_limits", {}).get(scope)
    if limiter is None:
        return 0.0
    if scope in CHAT_ADDRESS_SCOPES and _is_exempt(_address(request), request.app.state.rate_limit_exempt):
        return 0.0
    return await limiter.take(KEYS[scope](request))


def too_fast(wait: float, text: str = messages.TOO_FAST_CHAT) -> HTTPException:
    """The 429 for a caller who must wait ``wait`` seconds, ``text`` telling them how long."""
    seconds = max(1, math.ceil(wait))
    return HTTPException(status_code=429, detail=text.format(seconds=seconds), headers={"Retry-After": str(seconds)})


def limit(*scopes: str) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency that refuses (429) a caller over any of the app's ``scopes`` limits.

    The scopes are checked in order and the first refusal stops: a refused
    message spends no token of the later ones.
    """
    for scope in scopes:
        KEYS[scope]  # an unknown scope fails when the route is declared, not at the first request

    async def check(request: Request) -> None:
        for scope in scopes:
            wait = await wait_for(request, scope)
            if wait > 0:
                raise too_fast(wait)

    return check
