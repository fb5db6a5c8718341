"""Health check: is every part a resident's message passes through up?

``GET /healthz`` checks, at the same time and each within
:data:`TIMEOUT_SECONDS`: the backend database, every Rasa server of
``RASA_URL``, the action server (its ``/health`` beside
``ACTION_ENDPOINT_URL``), the worker's heartbeat (the file it touches every
round) and Redis when ``REDIS_URL`` is set. It answers 503 when a resident
would not be answered:

* the database is down: nothing a resident sends can be kept;
* no Rasa server answers: nobody understands the message;
* the action server is down: Rasa answers nothing, residents wait 30 s
  for "系统繁忙" (Rasa's own channel health still says ok then);
* the worker's heartbeat is stale: messages Rasa missed are never retried
  and ticket news never reaches residents.

Some Rasa servers down (others still answering, the client skips a refused
one) and Redis down (the rate limiter then lets messages through) are
``degraded``: 200, with the part named. The answer names parts, never
addresses or errors (the endpoint is public), and is shared for
:data:`CACHE_SECONDS` so a flood of health checks is not a flood of checks
on the parts behind it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import redis.asyncio
import redis.exceptions
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backend.settings import Settings
from backend.web.deps import AppSettings, HealthMemory, HealthState, Sessions

logger = logging.getLogger(__name__)

router = APIRouter()

TIMEOUT_SECONDS = 1.5
CACHE_SECONDS = 1.0

State = Literal["ok", "down"]


class Part(BaseModel):
    """One part's check: whether it answered, how fast, and why not."""

    name: str
    state: State
    critical: bool
    latency_ms: float
    detail: str | None = None


class Health(BaseModel):
    """The whole answer: ``ok``, ``degraded`` (a non-critical part is down) or ``unavailable`` (503)."""

    status: Literal["ok", "degraded", "unavailable"]
    failing: list[str]
    parts: list[Part]


async def _timed(name: str, critical: bool, check: Awaitable[str | None]) -> Part:
    """Run one check within the timeout; a check returns None when the part is fine, else why not."""
    started = time.monotonic()
    try:
        detail = await asyncio.wait_for(check, timeout=TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        detail = f"no answer within {TIMEOUT_SECONDS:g} s"
    except (aiohttp.ClientError, OSError, SQLAlchemyError, redis.exceptions.RedisError) as exc:
        detail = _reason(exc)
    latency = round((time.monotonic() - started) * 1000, 1)
    state: State = "ok" if detail is None else "down"
    return Part(name=name, state=state, critical=critical, latency_ms=latency, detail=detail)


def _reason(exc: Exception) -> str:
    """A short public reason: the kind of failure, never its message (addresses, SQL, paths)."""
    if isinstance(exc, (aiohttp.ClientConnectorError, ConnectionError, redis.exceptions.ConnectionError)):
        return "connection refused"
    return "error"


async def _database(sessions: Sessions) -> str | None:
    def ping() -> None:
        with sessions() as session:
            session.execute(text("SELECT 1"))

    await asyncio.to_thread(ping)
    return None


async def _http(session: aiohttp.ClientSession, url: str) -> str | None:
    async with session.get(url, allow_redirects=False) as response:
        await response.read()
        return None if response.status == 200 else f"HTTP {response.status}"


def action_server_health_url(action_endpoint_url: str) -> str:
    """``http://host:5055/webhook`` → ``http://host:5055/health`` (rasa-sdk's health endpoint)."""
    parts = urlsplit(action_endpoint_url)
    path = parts.path.rstrip("/")
    if path.endswith("/webhook"):
        path = path[: -len("/webhook")]
    return urlunsplit((parts.scheme, parts.netloc, path + "/health", "", ""))


async def _worker(settings: Settings) -> str | None:
    """Stale when the heartbeat file is missing or older than WORKER_HEARTBEAT_STALE_SECONDS."""
    try:
        age = time.time() - settings.worker_heartbeat_file.stat().st_mtime
    except FileNotFoundError:
        return "no heartbeat yet"
    if age > settings.worker_heartbeat_stale_seconds:
        return f"last heartbeat {age:.0f} s ago"
    return None


async def _redis(url: str) -> str | None:
    client = redis.asyncio.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
    try:
        await client.ping()
    finally:
        await client.close()
    return None


async def check(settings: Settings, sessions: Sessions, memory: HealthMemory) -> Health:
    """Check every part at once; the overall state follows from the critical ones."""
    rasa_urls = [url.strip().rstrip("/") for url in settings.rasa_url.split(",") if url.strip()]
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        checks = [
            _timed("database", True, _database(sessions)),
            *(
                # several servers: any one of them is enough, so none alone is critical (judged below)
                _timed(f"rasa-{i}" if len(rasa_urls) > 1 else "rasa", len(rasa_urls) == 1, _http(session, url + "/"))
                for i, url in enumerate(rasa_urls, start=1)
            ),
            _timed("action_server", True, _http(session, action_server_health_url(settings.action_endpoint_url))),
            _timed("worker", True, _worker(settings)),
        ]
        if settings.redis_url:
            checks.append(_timed("redis", False, _redis(settings.redis_url)))
        parts = list(await asyncio.gather(*checks))
    rasa = [p for p in parts if p.name.startswith("rasa")]
    failing = [p.name for p in parts if p.state == "down"]
    no_rasa = all(p.state == "down" for p in rasa)
    fatal = no_rasa or any(p.critical and p.state == "down" for p in parts)
    status: Literal["ok", "degraded", "unavailable"] = "unavailable" if fatal else "degraded" if failing else "ok"
    seen = (status, tuple(failing))
    if seen != memory.seen:  # log changes, not every probe
        memory.seen = seen
        why = ", ".join(f"{p.name} ({p.detail})" for p in parts if p.detail)
        (logger.warning if failing else logger.info)("health now %s%s", status, f": {why}" if why else "")
    return Health(status=status, failing=failing, parts=parts)


async def cached_check(settings: Settings, sessions: Sessions, memory: HealthMemory) -> Health:
    """:func:`check`, shared by every request within CACHE_SECONDS (one check in flight at a time)."""
    cached: tuple[float, Health] | None = memory.cached
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    async with memory.lock:
        cached = memory.cached
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        health = await check(settings, sessions, memory)
        memory.cached = (time.monotonic(), health)
        return health


UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": Health,
        "description": "a part a resident's message needs is down (database, every Rasa server, the action "
        "server or the worker); `failing` names it",
    }
}


@router.get("/healthz", tags=["ops"], response_model=Health, responses=UNAVAILABLE)
async def healthz(settings: AppSettings, sessions: Sessions, memory: HealthState) -> JSONResponse:
    """200 when a resident would be answered (``degraded`` names a part down that they can do without), else 503."""
    health = await cached_check(settings, sessions, memory)
    code = 503 if health.status == "unavailable" else 200
    headers = {"Cache-Control": "no-store"}
    if code == 503:
        headers["Retry-After"] = "10"
    return JSONResponse(health.dict(), status_code=code, headers=headers)
