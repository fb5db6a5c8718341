"""Idempotent insert-or-update by natural key, shared by the config importers."""

from __future__ import annotations

from collections import Counter
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

T = TypeVar("T")


def upsert(session: Session, model: type[T], key: dict[str, Any], counts: Counter[str], **fields: Any) -> T:
    """Find the row of ``model`` matching ``key``; create it or bring its fields up to date.

    ``counts`` tallies ``created`` / ``updated`` / ``unchanged`` so an import
    can report what it did; a second import of the same file is all
    ``unchanged``.
    """
    row = session.scalars(select(model).filter_by(**key)).one_or_none()
    if row is None:
        row = model(**key, **fields)
        session.add(row)
        session.flush()
        counts["created"] += 1
        return row
    changed = False
    for name, value in fields.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    counts["updated" if changed else "unchanged"] += 1
    return row
