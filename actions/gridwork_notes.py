"""The note form behind a ticket's step buttons (写进展 / 办结 / 吹哨): ask for the text, then do the step.

The buttons send ``/grid_note{"grid_pending": "resolve GZ…"}``, which opens
``grid_note_form``: it asks for the one thing the step needs (the progress
note, the result, the reason), and :class:`ActionGridNote` carries it out
exactly as the typed command would. A typed step without its text
("办结 GZ…", :mod:`actions.gridwork`) opens the same form, so the member's
next message is the result, not a new report.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.gridwork_steps import NOTE_LIMIT, NOTE_STEPS, tell_done, work_ticket
from actions.runtime import sessions
from backend.errors import DomainError
from backend.gridwork.binding import member_for
from backend.services.residents import split_sender
from backend.triage.entities import extract

logger = logging.getLogger(__name__)


def pending_step(tracker: Tracker) -> tuple[str, str] | None:
    """The (step, ticket number) a note-form button named, or None when it named nothing valid."""
    kind, _, number = str(tracker.get_slot("grid_pending") or "").partition(" ")
    ticket = extract(number).get("ticket_no")
    return (kind, str(ticket)) if kind in NOTE_STEPS and ticket else None


class ActionAskGridNote(Action):
    """Ask for the note the pressed button's step needs (进展情况 / 办理结果 / 吹哨原因)."""

    def name(self) -> str:
        """The form's question for ``grid_note``."""
        return "action_ask_grid_note"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Say what to write, for which ticket."""
        step = pending_step(tracker)
        what, number = (NOTE_STEPS[step[0]][1], step[1]) if step else ("内容", "")
        dispatcher.utter_message(response="utter_ask_grid_note", what=what, number=number)
        return []


class ValidateGridNoteForm(FormValidationAction):
    """The note is the member's own words: not empty, not a novel."""

    def name(self) -> str:
        """The form's validation action."""
        return "validate_grid_note_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """Ask for the note only when a button named the step and the ticket; otherwise finish at once."""
        return domain_slots if pending_step(tracker) else []

    async def validate_grid_note(
        self, slot_value: object, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, object]:
        """Keep a note of 1–500 characters; otherwise ask again."""
        note = str(slot_value or "").strip()
        if not note or note.startswith("/"):
            return {"grid_note": None}
        if len(note) > NOTE_LIMIT:
            dispatcher.utter_message(response="utter_grid_note_too_long", limit=NOTE_LIMIT)
            return {"grid_note": None}
        return {"grid_note": note}


class ActionGridNote(Action):
    """Carry out the step the button opened, with the note the form collected, then forget both."""

    def name(self) -> str:
        """The form's submit action."""
        return "action_grid_note"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Check who is asking, do the step, answer as the typed command would."""
        forget: list[EventType] = [SlotSet("grid_pending", None), SlotSet("grid_note", None)]
        step = pending_step(tracker)
        if step is None:
            dispatcher.utter_message(response="utter_grid_help")
            return forget
        channel, sender = split_sender(tracker.sender_id)
        now = datetime.now(timezone.utc)
        try:
            with sessions().begin() as session:
                member = member_for(session=session, channel=channel, sender_id=sender)
                if member is None:
                    dispatcher.utter_message(response="utter_grid_only_members")
                    return forget
                note = str(tracker.get_slot("grid_note") or "")
                ticket = work_ticket(session=session, member=member, kind=step[0], number=step[1], text=note, now=now)
                tell_done(dispatcher, ticket)
        except DomainError as exc:
            dispatcher.utter_message(text=str(exc))
        return forget


class ActionCancelGridNote(Action):
    """取消 while the note form asks: nothing is done to the ticket."""

    def name(self) -> str:
        """The form's cancel action."""
        return "action_cancel_grid_note"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Say so and forget the step."""
        dispatcher.utter_message(response="utter_grid_note_cancelled")
        return [
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            SlotSet("grid_pending", None),
            SlotSet("grid_note", None),
        ]
