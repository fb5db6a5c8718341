"""The admins' page of locked login names: who is locked or failing now, and the button that lifts a lock.

A lock comes from :mod:`backend.console.login_lockout` after repeated wrong
passwords; lifting one is audited with the admin who did it.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from backend.console.login_lockout import locked_usernames, unlock
from backend.dates import local
from backend.errors import DomainError
from backend.models import ConsoleAccount
from backend.web.console.auth import Staff, render
from backend.web.console.staff_dependency import staff_posting, staff_with
from backend.web.deps import Console

router = APIRouter()


@router.get("/console/accounts/locked", response_class=HTMLResponse, tags=["console"])
def locked_accounts(
    console: Console, me: Annotated[Staff, staff_with("accounts.manage")], done: str = "", error: str = ""
) -> HTMLResponse:
    """Usernames locked or failing now, each with an unlock button (admins only)."""
    rows = locked_usernames(session=me.db, now=me.now)
    names = {row.username for row in rows}
    known = set(me.db.scalars(select(ConsoleAccount.username).where(ConsoleAccount.username.in_(names))))
    return render(console, "console_locked.html", me, rows=rows, known=known, local=local, done=done[:300] or None,
                  error=error[:300] or None)  # fmt: skip


@router.post("/console/accounts/unlock", tags=["console"])
def unlock_account(me: Annotated[Staff, staff_posting("accounts.manage")], username: str = Form("")) -> Response:
    """Lift a username's lock (admins only); the audit trail keeps who did it."""
    try:
        was_locked = unlock(session=me.db, username=username, now=me.now, by=me.account, client=me.client)
    except DomainError as exc:
        return RedirectResponse(f"/console/accounts/locked?error={quote(str(exc))}", status_code=303)
    name = username.strip().lower()[:64]
    done = f"已解锁 {name}，失败次数已清零。" if was_locked else f"{name} 没有被锁，失败次数已清零。"
    return RedirectResponse(f"/console/accounts/locked?done={quote(done)}", status_code=303)
