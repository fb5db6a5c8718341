"""The console's points pages for residents: find one, their ledger, adjustments and volunteer hours.

Every page runs inside :func:`backend.web.console.auth.staff` with its
permission (``points.view``, ``points.adjust``, ``points.volunteer``,
``points.catalogue``); every form post carries the session's CSRF token and
is audited, refusals and failures too. The work goes through
:mod:`backend.points.staff_work`, which only calls the points services and
keeps community staff to their community (a resident outside it answers
like a missing one). The resident lookup is a post, so a phone number never
lands in a URL or an access log; the ledger page is addressed by the
resident code. The 爱心超市 and the ranking have their own pages
(:mod:`backend.web.console.points_catalogue`, :mod:`backend.web.console.points_ranking`).
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.errors import DomainError, NotFound
from backend.models import Resident
from backend.points import staff_work
from backend.web.console.auth import Staff, render
from backend.web.console.points_input import form_number, resident_in_scope
from backend.web.console.staff_dependency import staff_posting, staff_with
from backend.web.deps import Console, ConsoleContext

logger = logging.getLogger(__name__)

router = APIRouter()


def _home(console: ConsoleContext, me: Staff, *, status: int = 200, **extra: Any) -> HTMLResponse:
    members = staff_work.volunteer_members(session=me.db, account=me.account) if me.can("points.volunteer") else []
    page = render(
        console,
        "console_points.html",
        me,
        members=members,
        log_id=uuid.uuid4().hex,
        form=extra.pop("form", {}),
        **extra,
    )
    page.status_code = status
    return page


@router.get("/console/points", response_class=HTMLResponse, tags=["console"])
def points_home(console: Console, me: Annotated[Staff, staff_with("points.volunteer")], done: str = "") -> HTMLResponse:
    """Find a resident (points.view), log volunteer hours (points.volunteer), links to the 爱心超市 and ranking."""
    return _home(console, me, done=done or None)


@router.post("/console/points/lookup", tags=["console"])
def lookup(console: Console, me: Annotated[Staff, staff_posting("points.view")], q: str = Form("")) -> Response:
    """Resident code or phone → their ledger page (by code)."""
    try:
        resident = staff_work.find(session=me.db, account=me.account, reference=q)
    except NotFound as exc:
        me.audit("points.lookup", outcome="failed", why=str(exc))
        return _home(console, me, status=404, error=str(exc), form={"q": q[:64]})
    me.audit("points.lookup", target=str(resident.code))
    return RedirectResponse(f"/console/points/residents/{resident.code}", status_code=303)


def _ledger_page(
    console: ConsoleContext, me: Staff, resident: Resident, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    page = render(
        console,
        "console_points_resident.html",
        me,
        ledger=staff_work.ledger_of(session=me.db, resident=resident),
        ref=uuid.uuid4().hex,
        form=extra.pop("form", {}),
        **extra,
    )
    page.status_code = status
    return page


@router.get("/console/points/residents/{code}", response_class=HTMLResponse, tags=["console"])
def resident_page(
    console: Console, me: Annotated[Staff, staff_with("points.view")], code: str, done: str = ""
) -> HTMLResponse:
    """A resident's balance (the sum of their ledger) and entries; the adjustment form for admins."""
    return _ledger_page(console, me, resident_in_scope(me, code), done=done or None)


@router.post("/console/points/residents/{code}/adjust", tags=["console"])
def adjust(
    console: Console,
    me: Annotated[Staff, staff_posting("points.adjust")],
    code: str,
    amount: str = Form(""),
    reason: str = Form(""),
    ref: str = Form(""),
) -> Response:
    """An adjustment (±) with a mandatory reason, through the ledger; a deduction below zero is refused."""
    resident = resident_in_scope(me, code)
    try:
        with me.db.begin_nested():
            entry = staff_work.adjust(
                session=me.db, account=me.account, resident=resident, amount=form_number(amount, "调整分数"),
                reason=reason, ref=ref, now=me.now,
            )  # fmt: skip
            me.audit("points.adjust", target=str(resident.code), amount=int(entry.amount), reason=reason[:200])
    except DomainError as exc:
        me.audit("points.adjust", target=str(resident.code), outcome="failed", why=str(exc), amount=amount[:20])
        return _ledger_page(
            console, me, resident, status=400, error=str(exc), form={"amount": amount[:20], "reason": reason}
        )
    return RedirectResponse(
        f"/console/points/residents/{resident.code}?done={quote(f'已调整 {entry.amount:+d} 分')}", status_code=303
    )


@router.post("/console/points/volunteer", tags=["console"])
def volunteer(
    console: Console,
    me: Annotated[Staff, staff_posting("points.volunteer")],
    resident: str = Form(""),
    hours: str = Form(""),
    activity: str = Form(""),
    log_id: str = Form(""),
    member: str = Form(""),
) -> Response:
    """Volunteer hours for a resident, through the earning service (the same log id pays once; caps apply)."""
    try:
        with me.db.begin_nested():
            result = staff_work.log_volunteer(
                session=me.db, account=me.account, reference=resident, hours=form_number(hours, "时长"),
                activity=activity, log_id=log_id, member_code=member, now=me.now,
            )  # fmt: skip
            target = me.db.get(Resident, result.entry.resident_id)
            me.audit(
                "points.volunteer", target=str(target.code) if target else None, log_id=log_id,
                hours=hours[:4], activity=activity[:100], amount=int(result.entry.amount),
                duplicate=result.duplicate, capped=result.capped,
            )  # fmt: skip
    except DomainError as exc:
        me.audit("points.volunteer", outcome="failed", why=str(exc), log_id=log_id[:64])
        form = {"resident": resident[:64], "hours": hours[:4], "activity": activity[:100], "member": member}
        return _home(console, me, status=400, error=str(exc), form=form)
    return RedirectResponse(f"/console/points?done={quote(staff_work.volunteer_message(result))}", status_code=303)
