"""The staff's points API for residents: a resident's ledger, an adjustment, volunteer hours.

Access, CSRF and refusals as :mod:`backend.web.console.points_api` describes.
"""

from __future__ import annotations

import logging
import uuid

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.errors import DomainError
from backend.models import Resident
from backend.points import staff_work
from backend.web.console.points_api import api_router, api_staff, failed
from backend.web.console.points_input import resident_in_scope
from backend.web.deps import Console

logger = logging.getLogger(__name__)

router = api_router()


class EntryOut(BaseModel):
    """One ledger entry."""

    day: str
    amount: int
    rule: str = Field(description="规则中文名")
    reason: str
    source: str
    actor: str


class LedgerOut(BaseModel):
    """A resident's balance and latest entries, newest first."""

    code: str
    name: str
    phone: str = Field(description="masked, 138****5678")
    community: str
    balance: int = Field(description="the sum of the ledger")
    entries: list[EntryOut]


class AdjustmentIn(BaseModel):
    """An adjustment: amount (±) and a mandatory reason."""

    amount: int = Field(ge=-10_000, le=10_000, description="positive adds, negative deducts; not 0")
    reason: str = Field(max_length=staff_work.REASON_MAX, description="mandatory")
    ref: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="id of this adjustment (8–64 of A-Z a-z 0-9 _ -); repeating it does not apply twice",
    )


class AdjustmentOut(BaseModel):
    """The adjustment's entry and the new balance."""

    amount: int
    reason: str
    balance: int


class VolunteerIn(BaseModel):
    """Volunteer hours for a resident."""

    resident: str = Field(max_length=64, description="resident code (R…) or kept mobile number")
    hours: int = Field(ge=1, le=12)
    activity: str = Field(default="", max_length=staff_work.ACTIVITY_MAX)
    log_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        description="id of this log (8–64 of A-Z a-z 0-9 _ -); repeating it pays once",
    )
    member: str = Field(default="", max_length=32, description="grid member code (ignored for a grid member)")


class VolunteerOut(BaseModel):
    """What the volunteer log did."""

    amount: int
    reason: str
    duplicate: bool
    capped: bool
    message: str


@router.get("/residents/{reference}", response_model=LedgerOut)
def resident_ledger(console: Console, reference: str) -> LedgerOut:
    """A resident's balance and latest entries (by resident code; a kept phone number works too)."""
    with api_staff(console, "points.view") as me:
        resident = resident_in_scope(me, reference)
        me.audit("points.lookup", target=str(resident.code), via="api")
        found = staff_work.ledger_of(session=me.db, resident=resident)
        return LedgerOut(
            code=found.code,
            name=found.name,
            phone=found.phone,
            community=found.community,
            balance=found.balance,
            entries=[EntryOut(**line.__dict__) for line in found.lines],
        )


@router.post(
    "/residents/{reference}/adjustments",
    response_model=AdjustmentOut,
    status_code=201,
    responses={400: {}, 401: {}, 403: {}, 404: {}, 409: {"description": "would go below zero"}},
)
def adjustment(console: Console, reference: str, body: AdjustmentIn) -> AdjustmentOut | JSONResponse:
    """An audited adjustment with a mandatory reason; a deduction below zero is refused (409)."""
    with api_staff(console, "points.adjust", write=True) as me:
        resident = resident_in_scope(me, reference)
        try:
            with me.db.begin_nested():
                entry = staff_work.adjust(
                    session=me.db, account=me.account, resident=resident, amount=body.amount, reason=body.reason,
                    ref=body.ref, now=me.now,
                )  # fmt: skip
                me.audit("points.adjust", target=str(resident.code), amount=int(entry.amount),
                         reason=body.reason[:200], via="api")  # fmt: skip
        except DomainError as exc:
            me.audit("points.adjust", target=str(resident.code), outcome="failed", why=str(exc), via="api")
            return failed(exc)
        return AdjustmentOut(
            amount=int(entry.amount),
            reason=str(entry.reason),
            balance=staff_work.ledger.balance(session=me.db, resident=resident),
        )


@router.post(
    "/volunteer",
    response_model=VolunteerOut,
    responses={400: {}, 401: {}, 403: {}, 404: {}, 409: {"description": "this month's cap is used up"}},
)
def volunteer(console: Console, body: VolunteerIn) -> VolunteerOut | JSONResponse:
    """Volunteer hours through the earning service: the same log id pays once, monthly caps apply."""
    with api_staff(console, "points.volunteer", write=True) as me:
        try:
            with me.db.begin_nested():
                result = staff_work.log_volunteer(
                    session=me.db, account=me.account, reference=body.resident, hours=body.hours,
                    activity=body.activity, log_id=body.log_id, member_code=body.member, now=me.now,
                )  # fmt: skip
                target = me.db.get(Resident, result.entry.resident_id)
                me.audit(
                    "points.volunteer", target=str(target.code) if target else None, log_id=body.log_id,
                    hours=body.hours, activity=body.activity, amount=int(result.entry.amount),
                    duplicate=result.duplicate, capped=result.capped, via="api",
                )  # fmt: skip
        except DomainError as exc:
            me.audit("points.volunteer", outcome="failed", why=str(exc), log_id=body.log_id, via="api")
            return failed(exc)
        return VolunteerOut(
            amount=int(result.entry.amount),
            reason=str(result.entry.reason),
            duplicate=result.duplicate,
            capped=result.capped,
            message=staff_work.volunteer_message(result),
        )
