"""The staff's points API (JSON) under ``/api/console/points``: the same work as the console pages.

Authenticated by the console's session cookie and checked by the same
:func:`backend.web.console.auth.staff` (permissions, scope, audit of
refusals). Every write needs the header ``X-CSRF-Token`` equal to the
session's CSRF token (``GET /api/console/points/csrf`` tells it to a
logged-in page). Not logged in → 401, not allowed or a wrong token → 403,
both ``{"detail": "…"}`` in Chinese; a resident or community outside the
account's scope is a 404 like a missing one.

This module holds what every part of the API shares (its router, the staff
check, refusals as JSON) and the CSRF token's route; the resources are
:mod:`~backend.web.console.points_api_residents`,
:mod:`~backend.web.console.points_api_catalogue` and
:mod:`~backend.web.console.points_api_ranking`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.errors import DomainError, NotFound
from backend.points.ledger import CapReached, NotEnoughPoints
from backend.web.console.auth import NotLoggedIn, Refused, Staff, require_login_json, staff
from backend.web.deps import Console, ConsoleContext

logger = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"


def api_router() -> APIRouter:
    """A router of the API: under ``/api/console/points``, 401 before anything else when not logged in."""
    return APIRouter(prefix="/api/console/points", tags=["console-points"], dependencies=[Depends(require_login_json)])


router = api_router()


@contextmanager
def api_staff(console: ConsoleContext, permission: str, *, write: bool = False) -> Iterator[Staff]:
    """:func:`staff` for JSON: the CSRF token from the header; 401/403 as JSON instead of pages."""
    token = console.request.headers.get(CSRF_HEADER, "") if write else None
    try:
        with staff(console, permission, csrf=token, post=write) as me:
            yield me
    except NotLoggedIn:
        raise HTTPException(status_code=401, detail="请先登录工作台。") from None
    except Refused as exc:
        raise HTTPException(status_code=403, detail=exc.why) from None


def failed(exc: DomainError) -> JSONResponse:
    """A refused piece of work as JSON (after its audit entry, which commits with the transaction)."""
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, (NotEnoughPoints, CapReached)) else 400
    return JSONResponse({"detail": str(exc)}, status_code=status)


class CsrfOut(BaseModel):
    """The session's CSRF token."""

    csrf_token: str = Field(description=f"send it back in the {CSRF_HEADER} header of every write")


@router.get("/csrf", response_model=CsrfOut)
def csrf_token(console: Console) -> CsrfOut:
    """The session's CSRF token, for a page that calls the write routes."""
    with api_staff(console, "console.home") as me:
        return CsrfOut(csrf_token=str(me.login.csrf_token))
