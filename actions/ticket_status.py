"""Answer "我的工单" and "查询 GZ…": the resident's tickets and one ticket's timeline.

A resident sees only tickets they filed or follow; someone else's number
gets exactly the answer a number that does not exist gets. A followed
ticket is shown as :mod:`backend.tickets.visibility` allows a follower to
see it: the handling, never the reporter's words.
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
from backend.messages import TIMELINE_KIND_NAMES
from backend.privacy import mask_text
from backend.tickets.service import get_ticket_for_resident, tickets_for_resident
from backend.tickets.visibility import TicketView, TimelineEntry, summary_of, view_of
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
                view = view_of(session=session, ticket=ticket, viewer=resident, now=now, table=table)
                shown: dict[str, Any] = {
                    "number": view.number,
                    "category_name": view.category_name,
                    "status": view.status_name,
                    "deadline": _when(view.deadline),
                    "timeline": timeline_text(view),
                }
                if view.own:
                    dispatcher.utter_message(response="utter_ticket_detail", **shown)
                else:  # someone else's ticket the resident follows: the registry's place, the handling only
                    dispatcher.utter_message(response="utter_ticket_detail_followed", place=view.place or "—", **shown)
                return []
            tickets = tickets_for_resident(session=session, resident=resident)
            if not tickets:
                dispatcher.utter_message(response="utter_no_tickets")
                return []
            lines = []
            for t in tickets:
                line = summary_of(t, viewer=resident, now=now, table=table)
                lines.append(
                    f"{line.number} {line.category_name} · {line.status_name} · 时限 {_when(line.deadline)}"
                    + ("（已超期）" if line.overdue else "")
                    + ("" if line.own else "（关注）")
                )
            dispatcher.utter_message(response="utter_ticket_list", tickets="\n".join(lines))
        return []


def timeline_text(view: TicketView) -> str:
    """The timeline the viewer may read, one line an entry, each labelled.

    An entry that changes the status is labelled with the new status; one that
    does not (a 进展 note, the wait for dispatch) with what kind of entry it is.
    Notes are masked even for the owner: what the chat says is kept in the chat's
    replies and Rasa's tracker, where the owner's own raw numbers do not belong.
    """
    return "\n".join(f"· {_when(e.at)} {entry_label(e)}{_note(e)}" for e in view.timeline)


def entry_label(entry: TimelineEntry) -> str:
    """The new status's name, else the entry's kind in words (进展, 待派单 …); empty when the note says it all."""
    if entry.status_name:
        return entry.status_name
    label = TIMELINE_KIND_NAMES.get(entry.kind, "")
    if label and entry.note and entry.note.startswith(label):
        return ""  # 补充地点：… already names itself
    return label


def _note(entry: TimelineEntry) -> str:
    if not entry.note:
        return ""
    return ("：" if entry_label(entry) else "") + mask_text(entry.note)
