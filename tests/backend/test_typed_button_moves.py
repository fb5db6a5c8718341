"""Typed words at the buttons of issue 25's failing conversations: a greeting presses nothing, "我自己来" is no.

The matcher (:mod:`backend.rasa_ext.typed_buttons`) with the real
``config/button_paraphrases.yml`` and the real buttons of ``domain/*.yml``.
"""

from __future__ import annotations

import pytest
import yaml

from backend.rasa_ext.typed_buttons import load_paraphrases, match
from backend.settings import PROJECT_ROOT


def _buttons(response: str) -> list[dict[str, str]]:
    for path in sorted((PROJECT_ROOT / "domain").glob("*.yml")):
        found = (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).get(response)
        if found:
            return list(found[0]["buttons"])
    raise AssertionError(f"{response} has no buttons in domain/")


def _title(response: str, typed: str) -> str | None:
    pressed = match(typed, _buttons(response), load_paraphrases())
    return pressed.title if pressed else None


@pytest.mark.parametrize("typed", ["你好", "您好", "你好呀", "您好啊！", "晚上好", "在吗"])
def test_a_greeting_at_the_offer_is_not_a_yes(typed: str):
    assert _title("utter_offer_ticket", typed) is None
    assert _title("utter_private_help", typed) is None


@pytest.mark.parametrize(("typed", "title"), [("好", "登记工单"), ("好的", "登记工单"), ("那就登记工单吧", "登记工单")])
def test_yes_words_still_press_the_yes_button(typed: str, title: str):
    assert _title("utter_offer_ticket", typed) == title


@pytest.mark.parametrize(
    "typed",
    ["那我自己打电话找师傅吧", "我自己找人修吧", "那我自己弄吧", "那我就自己想办法吧", "我还是自己找师傅"],
)
def test_seeing_to_it_oneself_is_the_no_button_of_the_private_help(typed: str):
    assert _title("utter_private_help", typed) == "不用了，我自己联系"


def test_seeing_to_it_oneself_is_not_a_yes_anywhere():
    assert _title("utter_offer_ticket", "那我自己打电话找师傅吧") == "不用了"
