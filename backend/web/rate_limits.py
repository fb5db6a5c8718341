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

Where ``REDIS_URL`` is set the buckets live in Redis, shared by every web
process, otherwise in the web process's memory (:mod:`backend.web.limiters`;
when Redis cannot be reached the message goes through).

The check is a coroutine on the web app's event loop, Redis's answer awaited
with its asyncio client: as a plain function FastAPI ran it in a worker
thread for every message, whose hand-over cost CPU and latency.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request

from backend import messages
from backend.settings import Settings
from backend.web.limiters import Limiter, LoopRedis, SenderLimiter, SharedSenderLimiter
from backend.web.visitor_cookie import cookie_key

logger = logging.getLogger(__name__)

# Console logins per client address: a burst for an office of colleagues behind one address, then a steady
# rate no person keeps up. It holds whatever username is tried (the lockout counts per username).
LOGIN_BURST = 20
LOGIN_PER_MINUTE = 10


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
