"""Ticket numbers: GZ + the district's date + a 4-digit sequence per day (GZ20261121-0007).

The counter row of the day is incremented with one UPDATE inside the
creating transaction. The database serialises concurrent UPDATEs of the same
row (SQLite takes the write lock, PostgreSQL the row lock), so two tickets
never get the same number; the row for a new day is created on first use,
and a racing creator that loses the INSERT simply retries the UPDATE.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.categories import DISTRICT_TZ
from backend.models.tickets import TicketSequence

NUMBER = re.compile(r"^GZ([0-9]{8})-([0-9]{4})\Z")  # ASCII digits: \d would accept ٢٠٢٦…


def format_number(day: date, sequence: int) -> str:
    """GZyyyymmdd-NNNN."""
    return f"GZ{day:%Y%m%d}-{sequence:04d}"


def next_number(*, session: Session, now: datetime) -> str:
    """Reserve the next number of the district day of ``now``."""
    day = now.astimezone(DISTRICT_TZ).date()
    for _ in range(5):
        result = session.execute(
            update(TicketSequence)
            .where(TicketSequence.day == day)
            .values(last=TicketSequence.last + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            last = session.scalar(select(TicketSequence.last).where(TicketSequence.day == day))
            return format_number(day, int(last or 0))
        try:
            with session.begin_nested():
                session.add(TicketSequence(day=day, last=0))
        except IntegrityError:
            pass  # another creator made the row first; the UPDATE now finds it
    raise RuntimeError("could not reserve a ticket number")
