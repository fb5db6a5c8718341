"""Console login, sessions in the request, permission checks and CSRF.

Every console route runs inside :func:`staff`, declared as its dependency
(:mod:`backend.web.console.staff_dependency`; the JSON API wraps it in
``api_staff``): it finds the session behind
the ``sst_console`` cookie (HttpOnly, SameSite=Strict), checks the route's
permission (:mod:`backend.console.access`) and, for a form post, the CSRF
token the session issued. Not logged in → the login page; not allowed →
403, and the refusal is audited. The login form has its own CSRF check: a
random nonce in a cookie that must come back signed in the form.

A login passes three limits before its password is checked: the client
address's token bucket (429), a free slot among the process's password
checks, waited for on the event loop (503 after a few seconds), and the
username's lockout (:mod:`backend.console.login_lockout`); admins lift a
lock in :mod:`backend.web.console.accounts`.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend import labels
from backend.console import audit, passwords
from backend.console.access import PERMISSIONS, allowed
from backend.console.login import ABSOLUTE, current, log_in, log_out
from backend.console.login_lockout import LoginRefused
from backend.models import ConsoleAccount, ConsoleSession
from backend.models.accounts import ROLE_NAMES
from backend.settings import Settings
from backend.web.deps import Console, ConsoleContext, DbTransaction, LoginLimiter, Sessions, console_of
from backend.web.rate_limits import LOGIN_BURST as LOGIN_BURST  # the login limits live with the other limits
from backend.web.rate_limits import LOGIN_PER_MINUTE as LOGIN_PER_MINUTE
from backend.web.rate_limits import by_address

logger = logging.getLogger(__name__)

router = APIRouter()

COOKIE = "sst_console"
LOGIN_NONCE_COOKIE = "sst_login_nonce"
LOGIN_FORM_MAX_AGE = 3600
BUSY_RETRY_SECONDS = 5


class NotLoggedIn(Exception):
    """No valid console session: go to the login page (and come back to ``next_path``)."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


class Refused(Exception):
    """Logged in, but the role may not do this (or the form's CSRF token is wrong)."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


@dataclass
class Staff:
    """The person behind a request, with the database session the route works in."""

    db: Session
    account: ConsoleAccount
    login: ConsoleSession
    now: datetime
    client: str | None

    def can(self, permission: str) -> bool:
        """Whether this person's role carries ``permission`` (for showing buttons and links)."""
        return allowed(self.account, permission)

    def audit(self, action: str, *, target: str | None = None, outcome: str = "ok", **detail: Any) -> None:
        """Record what was done, in the route's transaction."""
        audit.record(session=self.db, account=self.account, action=action, target=target, outcome=outcome,
                     detail=detail, now=self.now, client=self.client)  # fmt: skip


def client_of(request: Request) -> str | None:
    """The caller's address for the audit trail."""
    return request.client.host if request.client else None


@contextmanager
def staff(console: ConsoleContext, permission: str, *, csrf: str | None = None, post: bool = False) -> Iterator[Staff]:
    """Open a transaction as the logged-in person, checking the permission and, for posts, the CSRF token.

    Raises:
        NotLoggedIn: no valid session.
        Refused: the role lacks ``permission`` or the CSRF token is wrong (both audited).
    """
    assert permission in PERMISSIONS, permission
    request = console.request
    now = datetime.now(timezone.utc)
    with console.sessions.begin() as db:
        found = current(session=db, token=request.cookies.get(COOKIE), now=now)
        if found is None:
            raise NotLoggedIn(request.url.path)
        account, login = found
        person = Staff(db=db, account=account, login=login, now=now, client=client_of(request))
        if post and not hmac.compare_digest((csrf or "").encode(), str(login.csrf_token).encode()):
            refusal = ("csrf", "表单已过期或来源不对，请刷新页面后再提交。")
        elif not allowed(account, permission):
            refusal = (permission, f"{ROLE_NAMES.get(str(account.role), '')}账号不能使用这个功能。")
        else:
            yield person
            return
        # The refusal is audited and committed; only then is the person turned away.
        person.audit(refusal[0], target=request.url.path, outcome="refused")
    raise Refused(refusal[1])


def require_login_json(request: Request, sessions: Sessions) -> None:
    """A dependency for the staff JSON API: 401 before anything else (even before the body is validated).

    FastAPI validates a request body before the route runs; without this a
    caller who is not logged in would learn the body's schema from a 422.
    """
    with sessions.begin() as db:
        if current(session=db, token=request.cookies.get(COOKIE), now=datetime.now(timezone.utc)) is None:
            raise HTTPException(status_code=401, detail="请先登录工作台。")


def render(console: ConsoleContext, template: str, person: Staff | None, **context: Any) -> HTMLResponse:
    """A console page with the navigation this person may use."""
    return console.templates.TemplateResponse(
        console.request,
        template,
        {"me": person, "role_names": ROLE_NAMES, "zh": labels, **context},
    )


def install_handlers(app: Any) -> None:
    """Turn :class:`NotLoggedIn` into the login page and :class:`Refused` into a 403 page."""

    async def to_login(request: Request, exc: NotLoggedIn) -> Response:
        return RedirectResponse(f"/console/login?next={quote(exc.next_path)}", status_code=303)

    async def refused(request: Request, exc: Refused) -> Response:
        page = render(console_of(request), "console_refused.html", None, why=exc.why)
        page.status_code = 403
        return page

    app.add_exception_handler(NotLoggedIn, to_login)
    app.add_exception_handler(Refused, refused)


def _login_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="console-login")


def _safe_next(next_path: str | None) -> str:
    """Only a path inside the console, never another site."""
    if next_path and next_path.startswith("/console") and not next_path.startswith("//"):
        return next_path
    return "/console"


def _login_page(console: ConsoleContext, *, error: str | None, next_path: str, status: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    page = render(
        console,
        "console_login.html",
        None,
        error=error,
        next_path=_safe_next(next_path),
        login_token=_login_serializer(console.settings).dumps(nonce),
    )
    page.status_code = status
    page.set_cookie(
        LOGIN_NONCE_COOKIE, nonce, max_age=LOGIN_FORM_MAX_AGE, httponly=True, samesite="strict",
        secure=console.request.url.scheme == "https", path="/console",
    )  # fmt: skip
    return page


@router.get("/console/login", response_class=HTMLResponse, tags=["console"])
def login_form(console: Console, next: str = "/console") -> HTMLResponse:
    """The login page."""
    return _login_page(console, error=None, next_path=next)


def _turned_away(console: ConsoleContext, *, error: str, next_path: str, status: int, retry_after: int) -> HTMLResponse:
    page = _login_page(console, error=error, next_path=next_path, status=status)
    page.headers["Retry-After"] = str(retry_after)
    return page


@router.post("/console/login", tags=["console"])
async def login(
    request: Request,
    console: Console,
    limiter: LoginLimiter,
    username: str = Form(""),
    password: str = Form(""),
    login_token: str = Form(""),
    next: str = Form("/console"),
) -> Response:
    """Check the password, open a session, and go where the person was going.

    A coroutine: a login waiting for a password-check slot holds no worker
    thread; the checking and the database work run in one.
    """
    wait = await limiter.take(by_address(request)) if limiter is not None else 0.0
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        return _turned_away(console, error=f"您这边登录尝试太频繁，请 {seconds} 秒后再试。", next_path=next,
                            status=429, retry_after=seconds)  # fmt: skip
    try:
        nonce = _login_serializer(console.settings).loads(login_token, max_age=LOGIN_FORM_MAX_AGE)
    except BadSignature:
        nonce = None
    expected = request.cookies.get(LOGIN_NONCE_COOKIE) or ""
    if not nonce or not hmac.compare_digest(str(nonce).encode(), expected.encode()):
        return _login_page(console, error="登录页已过期，请再输入一次。", next_path=next, status=400)
    checks = passwords.CHECKS
    if not await checks.acquire_async(passwords.CHECK_WAIT_SECONDS):
        logger.warning("login turned away: %d password checks already running", checks.size)
        return _turned_away(console, error="现在登录的人太多，请过几秒再试。", next_path=next, status=503,
                            retry_after=BUSY_RETRY_SECONDS)  # fmt: skip
    refusal: str | None = None
    try:
        opened = await run_in_threadpool(
            log_in, sessions=console.sessions, username=username, password=password[:1024],
            now=datetime.now(timezone.utc), client=client_of(request),
        )  # fmt: skip
    except LoginRefused as exc:
        refusal = str(exc)
    finally:
        checks.release()
    if refusal is not None:
        return _login_page(console, error=refusal, next_path=next, status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, opened.token, max_age=int(ABSOLUTE.total_seconds()), httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/console")
    return response


@router.post("/console/logout", tags=["console"])
def logout(request: Request, db: DbTransaction, csrf: str = Form("")) -> Response:
    """End the session (the form carries the CSRF token like every other)."""
    now = datetime.now(timezone.utc)
    found = current(session=db, token=request.cookies.get(COOKIE), now=now)
    if found is not None and hmac.compare_digest(csrf.encode(), str(found[1].csrf_token).encode()):
        log_out(session=db, token=request.cookies.get(COOKIE), now=now, client=client_of(request))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
