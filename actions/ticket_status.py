"""Answer "我的工单" and "查询 GZ…": the resident's tickets and one ticket's timeline.

A resident sees only tickets they filed or follow; someone else's number
gets exactly the answer a number that does not exist gets.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import resident_of, resident_text, sessions
from backend.categories import default_table
from backend.dates import clock, day
from backend.tickets.lifecycle import OPEN_STATUSES, STATUS_NAMES
from backend.tickets.service import get_ticket_for_resident, tickets_for_resident
from backend.triage.entities import extract

logger = logging.getLogger(__name__)


def _when(moment: datetime) -> str:
    return f"{day(moment)} {clock(moment)}"


class ActionTicketStatus(Action):
    """List the resident's tickets, or show one with its timeline."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_ticket_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Look the tickets up and answer in plain Chinese."""
        table = default_table()
        text = resident_text(tracker)
        number = extract(text).get("ticket_no")
        now = datetime.now(timezone.utc)
        with sessions().begin() as session:
            resident = resident_of(session, tracker)
            if number:
                ticket = get_ticket_for_resident(session=session, resident=resident, number=number)
                if ticket is None:
                    dispatcher.utter_message(response="utter_ticket_not_found", number=number)
                    return []
                timeline = "\n".join(
                    f"· {_when(e.at)} {STATUS_NAMES.get(e.to_status or '', '')}{('：' + e.note) if e.note else ''}"
                    for e in ticket.events
                )
                dispatcher.utter_message(
                    response="utter_ticket_detail",
                    number=ticket.number,
                    category_name=table.categories[ticket.category].name,
                    status=STATUS_NAMES[ticket.status],
                    deadline=_when(ticket.deadline),
                    timeline=timeline,
                )
                return []
            tickets = tickets_for_resident(session=session, resident=resident)
            if not tickets:
                dispatcher.utter_message(response="utter_no_tickets")
                return []
            lines = []
            for t in tickets:
                overdue = "（已超期）" if t.status in OPEN_STATUSES and t.deadline < now else ""
                lines.append(
                    f"{t.number} {table.categories[t.category].name} · {STATUS_NAMES[t.status]}"
                    f" · 时限 {_when(t.deadline)}{overdue}"
                )
            dispatcher.utter_message(response="utter_ticket_list", tickets="\n".join(lines))
        return []
