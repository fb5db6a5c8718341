"""A correction at the summary takes the new value it carries, and a field only named carries none."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.report_corrections import corrected_values


def _tracker() -> Tracker:
    return Tracker("web:corrections", {}, {}, [], False, None, {}, "action_listen")


def test_pressing_the_urgency_field_asks_it_again_instead_of_reading_urgent_in_its_name():
    assert corrected_values(CollectingDispatcher(), _tracker(), "report_urgency", "改紧急程度") == {}
    assert corrected_values(CollectingDispatcher(), _tracker(), "report_urgency", "紧急程度") == {}


def test_an_urgency_given_in_the_correction_is_taken():
    dispatcher = CollectingDispatcher()
    assert corrected_values(dispatcher, _tracker(), "report_urgency", "紧急程度改成一般") == {
        "report_urgency": "normal"
    }
    assert corrected_values(dispatcher, _tracker(), "report_urgency", "紧急程度不对，挺急的") == {
        "report_urgency": "urgent"
    }


def test_a_phone_in_the_correction_is_taken_and_the_field_name_alone_is_not():
    dispatcher = CollectingDispatcher()
    assert corrected_values(dispatcher, _tracker(), "report_phone", "电话留错了，应该是139 5720 4816") == {
        "report_phone": "13957204816"
    }
    assert corrected_values(dispatcher, _tracker(), "report_phone", "改电话") == {}
