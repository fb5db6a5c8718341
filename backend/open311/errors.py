"""The Open311 API's refusal: a domain error carrying the HTTP status it answers with.

Every module of the package raises it for bad input, so the routes turn any
refusal into an Open311 error list instead of a 500.
"""

from __future__ import annotations

from backend.errors import DomainError


class Open311Error(DomainError):
    """A request the Open311 API refuses, with the HTTP status it answers with."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def bad(description: str) -> Open311Error:
    """A 400 with ``description``."""
    return Open311Error(400, description)
