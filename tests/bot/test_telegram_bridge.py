import json

import httpx
from telegram import InlineKeyboardMarkup

from bot.rasa_client import RasaClient
from bot.telegram_bridge import relay, render


def test_buttons_become_an_inline_keyboard_with_payloads():
    [(text, keyboard)] = render([{"text": "您好", "buttons": [{"title": "你能做什么？", "payload": "/help"}]}])
    assert text == "您好"
    assert isinstance(keyboard, InlineKeyboardMarkup)
    [[button]] = keyboard.inline_keyboard
    assert (button.text, button.callback_data) == ("你能做什么？", "/help")


def test_long_text_is_split_at_telegrams_limit_and_keyboard_goes_last():
    parts = render([{"text": "长" * 5000, "buttons": [{"title": "好", "payload": "/affirm"}]}])
    assert [len(t) for t, _ in parts] == [4096, 904]
    assert parts[0][1] is None and parts[1][1] is not None


def test_oversized_payload_falls_back_to_the_title():
    [(_, keyboard)] = render([{"text": "选", "buttons": [{"title": "电梯", "payload": "/x" + "{}" * 40}]}])
    assert keyboard.inline_keyboard[0][0].callback_data == "电梯"


async def test_relay_sends_as_the_telegram_user_and_says_busy_when_rasa_is_silent():
    seen = []
    silent = {"on": False}

    def handler(request):
        body = json.loads(request.content)
        seen.append(body)
        return httpx.Response(200, json=[] if silent["on"] else [{"text": "收到"}])

    rasa = RasaClient("http://rasa.test", transport=httpx.MockTransport(handler))
    assert await relay(rasa, "telegram:42", "你好") == [("收到", None)]
    assert seen[0] == {"sender": "telegram:42", "message": "你好"}
    silent["on"] = True
    [(text, _)] = await relay(rasa, "telegram:42", "你好")
    assert "系统繁忙" in text
    await rasa.aclose()
