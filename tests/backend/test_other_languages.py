"""Other languages by their letters, swearing that tells a problem, typos read as meant (issue 25, item 14).

What residents type besides words (codes, payloads, phones, chat tokens,
pinyin) must never be taken for another language; the Rasa component sets
``other_language`` on a foreign message and takes a classifier's wrong guess
of it off a Chinese one.
"""

from pathlib import Path

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from backend.categories import default_table
from backend.errors import InvalidRegistry
from backend.human_contact import default_contact, load_contact
from backend.rasa_ext.other_languages import INTENT_NAME, OtherLanguages, mark_language
from backend.triage.abuse import problem_behind_abuse
from backend.triage.core import triage
from backend.triage.languages import is_pinyin, language_of
from backend.triage.text import classification_text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The streetlight outside my building has been broken for a week, it is very dark at night", "en"),
        ("Hello, is anyone there? I need help", "en"),
        ("can you speak english", "en"),
        ("Bonjour, le lampadaire ne marche plus", "en"),
        ("エレベーターが壊れました", "ja"),
        ("街灯が消えています", "ja"),
        ("엘리베이터가 고장났어요", "ko"),
        ("Лифт не работает уже неделю", "ru"),
        ("مرحبا، المصعد معطل", "other"),
        ("สวัสดีครับ ไฟถนนเสีย", "other"),
    ],
)
def test_a_message_in_another_language_is_recognised_by_its_letters(text, language):
    assert language_of(text) == language


@pytest.mark.parametrize(
    "text",
    [
        "GZ20261206-0001",
        "gz20261206-0001",
        "查询 GZ20261206-0001",
        "绑定 12345678",
        "/restart",
        '/rate_satisfaction{"rating": "satisfied"}',
        "ok",
        "OK",
        "ok bye",
        "ok ok ok",
        "hi",
        "hello",
        "thx",
        "sb",
        "nmsl",
        "13800000101",
        "138-2716-0095",
        "+86 13626510947",
        "DH3K9X2A",
        "gm-fl-03",
        "www.example.com",
        "dian ti huai le",
        "wo jia lou dao deng bu liang le",
        "wifi 坏了",
        "qwxz zzkq pfft",
        "asdf ghjk",
        "枫林苑3号楼电梯坏了",
        "我の电梯坏了",
        "👍👍",
        "？？？",
        "",
    ],
)
def test_codes_numbers_chat_tokens_pinyin_and_chinese_are_not_another_language(text):
    assert language_of(text) is None


def test_pinyin_is_told_from_english():
    assert is_pinyin("dianti") and is_pinyin("huaile") and is_pinyin("nihao")
    assert not is_pinyin("streetlight") and not is_pinyin("the")


def _message(text, intent, ranking):
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": ranking[0][1]})
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    return message


def test_an_english_sentence_about_a_streetlight_is_other_language_whatever_the_classifier_said():
    message = _message("The streetlight on my road is broken", "bot_challenge", [("bot_challenge", 0.7), ("help", 0.2)])
    [message] = OtherLanguages().process([message])
    assert message.get(INTENT) == {"name": INTENT_NAME, "confidence": 1.0}
    assert [r["name"] for r in message.get(INTENT_RANKING_KEY)] == [INTENT_NAME, "bot_challenge", "help"]


def test_the_classifiers_guess_of_other_language_on_a_code_is_read_as_not_understood():
    message = _message("ok", INTENT_NAME, [(INTENT_NAME, 0.6), ("affirm", 0.3)])
    mark_language(message)
    assert message.get(INTENT) == {"name": "nlu_fallback", "confidence": 0.3}
    assert INTENT_NAME not in [r["name"] for r in message.get(INTENT_RANKING_KEY)]


def test_a_chinese_message_keeps_the_classifiers_intent():
    message = _message("俺们那栋楼的电梯又趴窝了", "elevator", [("elevator", 0.9), ("building_common", 0.05)])
    mark_language(message)
    assert message.get(INTENT) == {"name": "elevator", "confidence": 0.9}


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("俺们那栋楼的电悌又趴窝了", "俺们那栋楼的电梯又趴窝了"),
        ("路等不亮了", "路灯不亮了"),
        ("厨房下水到堵了", "厨房下水道堵了"),
        ("物叶不管", "物业不管"),
        ("拉圾没人清", "垃圾没人清"),
        ("路口的红路灯坏了", "路口的红绿灯坏了"),
        ("楼到灯不亮", "楼道灯不亮"),
    ],
)
def test_homophone_typos_are_read_as_the_word_meant(typed, meant):
    assert classification_text(typed) == meant


@pytest.mark.parametrize("text", ["过马路等红灯等了好久", "楼下水到处都是", "取暖器坏了"])
def test_words_that_only_look_like_a_typo_are_left_alone(text):
    assert classification_text(text) == text


def test_the_hotline_comes_from_config(tmp_path: Path):
    contact = default_contact()
    assert contact.phone and contact.name and contact.hours
    broken = tmp_path / "human_contact.yml"
    broken.write_text("name: 东湖街道便民服务热线\nphone: ''\nhours: 每天\n", encoding="utf-8")
    with pytest.raises(InvalidRegistry, match="phone"):
        load_contact(broken)


@pytest.mark.parametrize(
    ("text", "ranking", "category"),
    [
        ("破物业又不修电梯，垃圾", [("abuse", 0.55), ("elevator", 0.35)], "elevator"),
        ("一帮废物，和园路的井盖丢了半个月了也没人管，晚上差点把人摔进去", [("abuse", 0.6), ("road", 0.15)], "road"),
        ("垃圾，滚", [("abuse", 0.8), ("street_sanitation", 0.15)], None),
        ("滚", [("abuse", 0.9), ("greet", 0.05), ("road", 0.04)], None),
        ("电梯坏了", [("elevator", 0.9), ("abuse", 0.05)], None),
    ],
)
def test_swearing_that_tells_a_problem_is_read_as_that_problem(text, ranking, category):
    table = default_table()
    parse = {"intent": {"name": ranking[0][0], "confidence": ranking[0][1]}}
    parse["intent_ranking"] = [{"name": n, "confidence": c} for n, c in ranking]
    assert problem_behind_abuse(parse, text, table) == category
    assert triage(parse, text, table=table).category == (category or (None if ranking[0][0] == "abuse" else "elevator"))
