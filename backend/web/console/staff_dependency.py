"""The console's staff member as a route's dependency: ``me: Annotated[Staff, staff_with("tickets.view")]``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Depends

from backend.console.access import PERMISSIONS
from backend.web.console.auth import Staff, staff
from backend.web.deps import Console


class StaffWith:
    """The logged-in staff member with ``permission``, as a route's dependency (the pages that only read).

    ``me: Annotated[Staff, staff_with("tickets.view")]`` opens the
    transaction of :func:`staff` before the route runs and closes it when the
    route returns, before the response is sent. A refusal is audited and
    turned into the 403 page before the route runs. Routes whose permission
    depends on the path, that check a form's CSRF token, or that live in
    :mod:`~backend.web.console.auth` (imported here) use :func:`staff`.
    """

    def __init__(self, permission: str) -> None:
        assert permission in PERMISSIONS, permission
        self.permission = permission

    def __call__(self, console: Console) -> Iterator[Staff]:
        """Open the transaction as the logged-in person with the permission (FastAPI calls this per request)."""
        with staff(console, self.permission) as me:
            yield me


def staff_with(permission: str) -> Any:
    """:class:`StaffWith` as a route's ``Depends``, closed when the route returns (so a failed commit is never a 200).

    FastAPI closes a dependency that yields after the response by default;
    ``scope="function"`` closes it before, as :data:`backend.web.deps.DbTransaction` does.
    """
    return Depends(StaffWith(permission), scope="function")
