"""The console's staff member as a route's dependency: ``me: Annotated[Staff, staff_with("tickets.view")]``.

Pages that only read declare :func:`staff_with`; routes that take a form
post declare :func:`staff_posting`, which also checks the form's ``csrf``
field. Either way the route never runs for someone who may not use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Form, Request

from backend.console.access import PERMISSIONS
from backend.web.console.auth import Staff, staff
from backend.web.deps import Console


class StaffWith:
    """The logged-in staff member with ``permission``, as a route's dependency (the pages that only read).

    ``me: Annotated[Staff, staff_with("tickets.view")]`` opens the
    transaction of :func:`staff` before the route runs and closes it when the
    route returns, before the response is sent. A refusal is audited and
    turned into the 403 page before the route runs.
    """

    def __init__(self, permission: str) -> None:
        assert permission in PERMISSIONS, permission
        self.permission = permission

    def __call__(self, console: Console) -> Iterator[Staff]:
        """Open the transaction as the logged-in person with the permission (FastAPI calls this per request)."""
        with staff(console, self.permission) as me:
            yield me


class StaffPosting:
    """The logged-in staff member with a permission who posted a form carrying the session's CSRF token.

    ``permission`` is a permission's name, or a function of the request that
    names it (a route whose permission depends on its path, such as a
    ticket's step); that function raises ``HTTPException`` for a path that
    names nothing. A wrong token is refused and audited like a missing
    permission, before the route runs.
    """

    def __init__(self, permission: str | Callable[[Request], str]) -> None:
        assert callable(permission) or permission in PERMISSIONS, permission
        self.permission = permission

    def __call__(self, console: Console, csrf: Annotated[str, Form()] = "") -> Iterator[Staff]:
        """Open the transaction as the person who posted (FastAPI calls this per request, with the form's field)."""
        permission = self.permission(console.request) if callable(self.permission) else self.permission
        with staff(console, permission, csrf=csrf, post=True) as me:
            yield me


def staff_with(permission: str) -> Any:
    """:class:`StaffWith` as a route's ``Depends``, closed when the route returns (so a failed commit is never a 200).

    FastAPI closes a dependency that yields after the response by default;
    ``scope="function"`` closes it before, as :data:`backend.web.deps.DbTransaction` does.
    """
    return Depends(StaffWith(permission), scope="function")


def staff_posting(permission: str | Callable[[Request], str]) -> Any:
    """:class:`StaffPosting` as a route's ``Depends``, closed when the route returns, as :func:`staff_with` is."""
    return Depends(StaffPosting(permission), scope="function")
