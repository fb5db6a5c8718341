"""The console's registry edits: posts from the registry page, validated, audited, then shown.

Only admins (``registry.edit``) may change routing. Each edit goes through
:mod:`backend.registry.edits`, which refuses an edit that would
misroute tickets; the audit entry keeps what it was and what it became.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse, Response

from backend.errors import DomainError, InvalidInput
from backend.registry import edits as registry_edits
from backend.web.console.auth import Staff
from backend.web.console.staff_dependency import staff_posting

router = APIRouter()

EDITS = ("building", "place", "aliases", "department", "member")


def _number(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError as exc:
        raise InvalidInput("楼号要填数字，比如 3。") from exc


@router.post("/console/registry/{edit}", tags=["console"])
def edit_registry(
    me: Annotated[Staff, staff_posting("registry.edit")],
    edit: str,
    estate: str = Form(""),
    number: str = Form(""),
    grid: str = Form(""),
    kind: str = Form(""),
    code: str = Form(""),
    aliases: str = Form(""),
    department: str = Form(""),
    categories: list[str] = Form([]),
    member: str = Form(""),
) -> Response:
    """Make one registry edit and come back to the registry page with what changed or why not."""
    if edit not in EDITS:
        raise HTTPException(status_code=404, detail="没有这个修改。")
    try:
        with me.db.begin_nested():
            if edit == "building":
                change = registry_edits.move_building(me.db, estate_code=estate, number=_number(number), grid_code=grid)
            elif edit == "place":
                change = registry_edits.move_place(me.db, place_code=code, grid_code=grid)
            elif edit == "aliases":
                change = registry_edits.set_aliases(me.db, kind=kind, code=code, text=aliases[:2000])
            elif edit == "department":
                change = registry_edits.set_department_categories(
                    me.db, department_code=department, categories=categories
                )
            else:
                change = registry_edits.move_member(me.db, member_code=member, grid_code=grid)
            me.audit(change.action, target=change.target, before=change.before, after=change.after)
    except DomainError as exc:
        me.audit(f"registry.{edit}", target=(code or estate or department or member)[:128], outcome="failed",
                 why=str(exc))  # fmt: skip
        return RedirectResponse(f"/console?error={quote(str(exc))}#{edit}", status_code=303)
    return RedirectResponse(f"/console?done={quote(change.summary)}#{edit}", status_code=303)
