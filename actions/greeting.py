"""Greet the resident by the time of day where they live (Asia/Shanghai).

Residents greet with 早上好 / 下午好 and expect the same back; the server
may run in UTC, so the hour is taken in the district's own time zone.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from typing_extensions import override

logger = logging.getLogger(__name__)

DISTRICT_TZ = ZoneInfo("Asia/Shanghai")


def time_of_day(now: datetime) -> str:
    """The greeting word for the hour of ``now`` in the district's time zone."""
    hour = now.astimezone(DISTRICT_TZ).hour
    if 5 <= hour < 9:
        return "早上"
    if 9 <= hour < 12:
        return "上午"
    if 12 <= hour < 14:
        return "中午"
    if 14 <= hour < 18:
        return "下午"
    return "晚上"


class ActionGreet(Action):
    """Answer a greeting with 早上好 / 上午好 / … and what the assistant does."""

    @override
    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the greeting; no events."""
        dispatcher.utter_message(response="utter_greet", time_of_day=time_of_day(datetime.now(DISTRICT_TZ)))
        return []
