from datetime import datetime, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.greeting import ActionGreet, time_of_day


@pytest.mark.parametrize(
    ("utc", "word"),
    [
        ((2026, 11, 21, 22, 30), "早上"),  # 06:30 in Shanghai
        ((2026, 11, 22, 2, 0), "上午"),  # 10:00
        ((2026, 11, 22, 4, 59), "中午"),  # 12:59
        ((2026, 11, 22, 8, 0), "下午"),  # 16:00
        ((2026, 11, 22, 12, 0), "晚上"),  # 20:00
        ((2026, 11, 22, 19, 0), "晚上"),  # 03:00
    ],
)
def test_time_of_day_is_taken_in_shanghai(utc, word):
    assert time_of_day(datetime(*utc, tzinfo=timezone.utc)) == word


async def test_greet_action_sends_the_domain_greeting_with_time_of_day():
    tracker = Tracker(
        sender_id="web:abc",
        slots={},
        latest_message={"text": "你好", "intent": {"name": "greet", "confidence": 0.99}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionGreet().run(dispatcher, tracker, {})
    assert events == []
    [message] = dispatcher.messages
    assert message["response"] == "utter_greet"
    assert message["time_of_day"] in {"早上", "上午", "中午", "下午", "晚上"}
