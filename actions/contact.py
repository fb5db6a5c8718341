"""The resident's kept contact details: deleted whenever they ask ("删除我的电话").

A phone is kept on the resident only after an explicit yes in the report
form (:mod:`actions.report_form`); withdrawing that consent deletes it at
once. Numbers left on tickets already filed stay on those tickets, for the
people handling them, and the answer says so.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.runtime import resident_of, sessions
from backend.services.residents import forget_phone


class ActionForgetPhone(Action):
    """Delete the phone the resident let the assistant keep."""

    @override
    def name(self) -> str:
        return "action_forget_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Delete it and say what that does and does not change."""
        with sessions().begin() as session:
            resident = resident_of(session, tracker)
            had = forget_phone(resident=resident)
        dispatcher.utter_message(response="utter_phone_forgotten" if had else "utter_no_phone_kept")
        return []
