import json

import httpx
import pytest
from telegram import InlineKeyboardMarkup

from backend.errors import InvalidInput
from backend.models import Photo, Resident
from backend.photos import photo_message
from bot.rasa_client import RasaClient
from bot.telegram_bridge import COMMANDS, relay, render, store_photo


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


def test_a_telegram_photo_is_stored_as_the_senders_and_only_its_token_goes_on(settings, sessions):
    token = store_photo(sessions, settings, 4242, b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    with sessions() as s:
        photo = s.query(Photo).filter_by(token=token).one()
        owner = s.get(Resident, photo.resident_id)
        assert (owner.channel, owner.sender_id) == ("telegram", "4242")
    assert (settings.upload_dir / photo.path).exists()
    assert photo_message(token) == f'/share_photo{{"photo": "{token}"}}'
    with pytest.raises(InvalidInput):
        store_photo(sessions, settings, 4242, b"%PDF-1.7")
    assert COMMANDS["/mytickets"] == "/ticket_status"
