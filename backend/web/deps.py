"""What the web app's routes may ask for, declared as FastAPI dependencies.

A route names what it needs in its signature (``sessions: Sessions``,
``settings: AppSettings``, ``console: Console``) instead of reading
``request.app.state``, the pattern of the full-stack FastAPI template. The
objects themselves are made by :func:`backend.web.app.create_app` and its
lifespan and kept on ``app.state``; this is the one module of the routes
that reads them there, at each request, so a test that swaps one on
``app.state`` (the Rasa client, the session factory, the visitor clock) is
obeyed by the next request. The console's staff member is a dependency
too (``me: Annotated[Staff, staff_with("tickets.view")]`` on the pages that
only read, ``staff_posting(…)`` on the form posts, which also checks the
form's CSRF token; both in :mod:`backend.web.console.staff_dependency`). A
refused one is audited before the route runs.

The cheap dependencies are coroutines, so they cost no trip through the
thread pool; those that touch the database are plain functions and run in
it. ``DbSession`` and ``DbTransaction`` close (commit) when the route
returns, before the response is sent, so a failed commit is never a 200.

Middleware and the rate limits (:mod:`backend.web.middleware`,
:mod:`backend.web.rate_limits`) run outside dependency injection, or build
dependencies themselves, and keep reading ``app.state``; so does
:mod:`backend.web.app`, which fills it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Callable, TypeAlias

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from backend.models.base import utcnow
from backend.rasa_client import RasaClient
from backend.settings import Settings
from backend.web import identity
from backend.web.limiters import Limiter
from backend.web.rate_limits import login_limiter
from backend.web.visitor_cookie import VisitorCookie
from backend.web.visitor_memory import Remembered

logger = logging.getLogger(__name__)

# FastAPI evaluates a dependency's annotations at run time, where SQLAlchemy 1.4's sessionmaker takes no
# type parameter (it is generic to the type checker only).
if TYPE_CHECKING:
    SessionFactory: TypeAlias = sessionmaker[Session]
else:
    SessionFactory = sessionmaker


async def get_sessions(request: Request) -> SessionFactory:
    """The app's session factory (made in the lifespan)."""
    sessions: SessionFactory = request.app.state.sessions
    return sessions


Sessions = Annotated[SessionFactory, Depends(get_sessions)]


def get_db(sessions: Sessions) -> Iterator[Session]:
    """One session for the route, closed when the route returns (before the response is sent)."""
    with sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db, scope="function")]


def get_transaction(sessions: Sessions) -> Iterator[Session]:
    """One transaction for the route: committed when it returns, rolled back when it raises, before the response."""
    with sessions.begin() as session:
        yield session


DbTransaction = Annotated[Session, Depends(get_transaction, scope="function")]


async def get_settings(request: Request) -> Settings:
    """The settings the app was made with."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings)]


async def get_rasa(request: Request) -> RasaClient:
    """The client of the Rasa server(s) (made in the lifespan)."""
    rasa: RasaClient = request.app.state.rasa
    return rasa


Rasa = Annotated[RasaClient, Depends(get_rasa)]


async def get_templates(request: Request) -> Jinja2Templates:
    """The Jinja2 templates of the chat page and the console."""
    templates: Jinja2Templates = request.app.state.templates
    return templates


Templates = Annotated[Jinja2Templates, Depends(get_templates)]


async def get_sender_locks(request: Request) -> weakref.WeakValueDictionary[str, asyncio.Lock]:
    """One lock per chat sender, so that their messages reach Rasa one at a time."""
    locks: weakref.WeakValueDictionary[str, asyncio.Lock] = request.app.state.sender_locks
    return locks


SenderLocks = Annotated[weakref.WeakValueDictionary[str, asyncio.Lock], Depends(get_sender_locks)]


async def get_visitor_clock(request: Request) -> Callable[[], datetime]:
    """Now, for the visitor cookies: ``app.state.visitor_clock`` when a test has set one, else the real time."""
    now: Callable[[], datetime] = getattr(request.app.state, "visitor_clock", utcnow)
    return now


VisitorClock = Annotated[Callable[[], datetime], Depends(get_visitor_clock)]


def _remembered(request: Request) -> Remembered:
    state = request.app.state
    remembered: Remembered | None = getattr(state, "visitor_cookies", None)
    if remembered is None:
        remembered = state.visitor_cookies = Remembered()
    return remembered


async def get_visitor_cookie(
    request: Request, sessions: Sessions, settings: AppSettings, now: VisitorClock
) -> VisitorCookie:
    """The request's visitor cookie, with what reading it takes (nothing is looked up yet)."""
    return VisitorCookie(
        request=request,
        sessions=sessions,
        secret_key=settings.secret_key,
        idle_days=settings.visitor_idle_days,
        now=now,
        remembered=_remembered(request),
    )


Cookie = Annotated[VisitorCookie, Depends(get_visitor_cookie)]


def get_visitor(cookie: Cookie) -> str | None:
    """The stable id of the visitor the cookie names, or ``None``: a read, nothing is created or updated."""
    return identity.visitor_id(cookie)


Visitor = Annotated[str | None, Depends(get_visitor)]


@dataclass
class ConsoleContext:
    """What the console's routes work with: the request, the database, the settings and the page templates.

    :func:`backend.web.console.auth.staff` opens the staff member's
    transaction from it, :func:`backend.web.console.auth.render` renders a
    page with it.
    """

    request: Request
    sessions: SessionFactory
    settings: Settings
    templates: Jinja2Templates


async def get_console(
    request: Request, sessions: Sessions, settings: AppSettings, templates: Templates
) -> ConsoleContext:
    """The console context of a route."""
    return ConsoleContext(request=request, sessions=sessions, settings=settings, templates=templates)


Console = Annotated[ConsoleContext, Depends(get_console)]


def console_of(request: Request) -> ConsoleContext:
    """The console context for an exception handler, which runs outside dependency injection."""
    state = request.app.state
    return ConsoleContext(request=request, sessions=state.sessions, settings=state.settings, templates=state.templates)


async def get_login_limiter(request: Request, settings: AppSettings) -> Limiter | None:
    """The app's login limiter per client address, made on first use (none when the rate limits are off)."""
    state = request.app.state
    if not hasattr(state, "login_limiter"):
        state.login_limiter = login_limiter(settings)
    found: Limiter | None = state.login_limiter
    return found


LoginLimiter = Annotated[Limiter | None, Depends(get_login_limiter)]


@dataclass
class HealthMemory:
    """What ``/healthz`` keeps between probes: the last result (briefly), one check at a time, the state logged."""

    cached: tuple[float, Any] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    seen: tuple[str, tuple[str, ...]] = ("ok", ())


async def get_health_memory(request: Request) -> HealthMemory:
    """The app's :class:`HealthMemory`, made on first use."""
    state = request.app.state
    memory: HealthMemory | None = getattr(state, "health_memory", None)
    if memory is None:
        memory = state.health_memory = HealthMemory()
    return memory


HealthState = Annotated[HealthMemory, Depends(get_health_memory)]
