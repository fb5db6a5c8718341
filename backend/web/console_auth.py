"""Console login, sessions in the request, permission checks and CSRF.

Every console route runs inside :func:`staff`: it finds the session behind
the ``sst_console`` cookie (HttpOnly, SameSite=Strict), checks the route's
permission (:mod:`backend.console.access`) and, for a form post, the CSRF
token the session issued. Not logged in → the login page; not allowed →
403, and the refusal is audited. The login form has its own CSRF check: a
random nonce in a cookie that must come back signed in the form.
"""

from __future__ import annotations

import hmac
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

from backend.console import audit
from backend.console.access import PERMISSIONS, allowed
from backend.console.accounts import ABSOLUTE, LoginRefused, current, log_in, log_out
from backend.models import ConsoleAccount, ConsoleSession
from backend.models.accounts import ROLE_NAMES

router = APIRouter()

COOKIE = "sst_console"
LOGIN_NONCE_COOKIE = "sst_login_nonce"
LOGIN_FORM_MAX_AGE = 3600


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
def staff(request: Request, permission: str, *, csrf: str | None = None, post: bool = False) -> Iterator[Staff]:
    """Open a transaction as the logged-in person, checking the permission and, for posts, the CSRF token.

    Raises:
        NotLoggedIn: no valid session.
        Refused: the role lacks ``permission`` or the CSRF token is wrong (both audited).
    """
    assert permission in PERMISSIONS, permission
    now = datetime.now(timezone.utc)
    with request.app.state.sessions.begin() as db:
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


def require_login_json(request: Request) -> None:
    """A dependency for the staff JSON API: 401 before anything else (even before the body is validated).

    FastAPI validates a request body before the route runs; without this a
    caller who is not logged in would learn the body's schema from a 422.
    """
    with request.app.state.sessions.begin() as db:
        if current(session=db, token=request.cookies.get(COOKIE), now=datetime.now(timezone.utc)) is None:
            raise HTTPException(status_code=401, detail="请先登录工作台。")


def render(request: Request, template: str, person: Staff | None, **context: Any) -> HTMLResponse:
    """A console page with the navigation this person may use."""
    return request.app.state.templates.TemplateResponse(
        request,
        template,
        {"me": person, "role_names": ROLE_NAMES, **context},
    )


def install_handlers(app: Any) -> None:
    """Turn :class:`NotLoggedIn` into the login page and :class:`Refused` into a 403 page."""

    async def to_login(request: Request, exc: NotLoggedIn) -> Response:
        return RedirectResponse(f"/console/login?next={quote(exc.next_path)}", status_code=303)

    async def refused(request: Request, exc: Refused) -> Response:
        page = render(request, "console_refused.html", None, why=exc.why)
        page.status_code = 403
        return page

    app.add_exception_handler(NotLoggedIn, to_login)
    app.add_exception_handler(Refused, refused)


def _login_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.secret_key, salt="console-login")


def _safe_next(next_path: str | None) -> str:
    """Only a path inside the console, never another site."""
    if next_path and next_path.startswith("/console") and not next_path.startswith("//"):
        return next_path
    return "/console"


def _login_page(request: Request, *, error: str | None, next_path: str, status: int = 200) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    page = render(
        request,
        "console_login.html",
        None,
        error=error,
        next_path=_safe_next(next_path),
        login_token=_login_serializer(request).dumps(nonce),
    )
    page.status_code = status
    page.set_cookie(
        LOGIN_NONCE_COOKIE, nonce, max_age=LOGIN_FORM_MAX_AGE, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/console",
    )  # fmt: skip
    return page


@router.get("/console/login", response_class=HTMLResponse, tags=["console"])
def login_form(request: Request, next: str = "/console") -> HTMLResponse:
    """The login page."""
    return _login_page(request, error=None, next_path=next)


@router.post("/console/login", tags=["console"])
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    login_token: str = Form(""),
    next: str = Form("/console"),
) -> Response:
    """Check the password, open a session, and go where the person was going."""
    try:
        nonce = _login_serializer(request).loads(login_token, max_age=LOGIN_FORM_MAX_AGE)
    except BadSignature:
        nonce = None
    expected = request.cookies.get(LOGIN_NONCE_COOKIE) or ""
    if not nonce or not hmac.compare_digest(str(nonce).encode(), expected.encode()):
        return _login_page(request, error="登录页已过期，请再输入一次。", next_path=next, status=400)
    now = datetime.now(timezone.utc)
    refusal: str | None = None
    with request.app.state.sessions.begin() as db:
        try:
            token = log_in(
                session=db, username=username, password=password[:1024], now=now, client=client_of(request)
            ).token
        except LoginRefused as exc:
            refusal = str(exc)  # caught inside the transaction: the failed attempt's audit entry is kept
    if refusal is not None:
        return _login_page(request, error=refusal, next_path=next, status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, token, max_age=int(ABSOLUTE.total_seconds()), httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/console")
    return response


@router.post("/console/logout", tags=["console"])
def logout(request: Request, csrf: str = Form("")) -> Response:
    """End the session (the form carries the CSRF token like every other)."""
    now = datetime.now(timezone.utc)
    with request.app.state.sessions.begin() as db:
        found = current(session=db, token=request.cookies.get(COOKIE), now=now)
        if found is not None and hmac.compare_digest(csrf.encode(), str(found[1].csrf_token).encode()):
            log_out(session=db, token=request.cookies.get(COOKIE), now=now, client=client_of(request))
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
