"""Masking of personal data in free text: what is hidden, and what is left alone."""

from __future__ import annotations

import pytest

from backend.privacy import mask_phone, mask_text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("电话13812345678", "电话138****5678"),
        ("打138-1234-5678或者139 8765 4321", "打138****5678或者139****4321"),
        ("+86 13812345678", "+86 138****5678"),
        ("身份证110101199003071234", "身份证110101********1234"),
        ("身份证11010119900307123X。", "身份证110101********123X。"),
        ("座机0571-88886666", "座机0571-****6666"),
        ("座机(010)12345678", "座机010-****5678"),
        ("打 021 6123 4567 找物业", "打 021-****4567 找物业"),
        ("卡号6222021234567890123", "卡号****0123"),
        ("卡号 6222 0212 3456 7890", "卡号 ****7890"),
    ],
)
def test_personal_numbers_are_masked(raw, masked):
    assert mask_text(raw) == masked
    assert mask_text(mask_text(raw)) == masked  # masking twice changes nothing


@pytest.mark.parametrize(
    "text",
    [
        "工单GZ20261122-0001办得怎么样",
        "3号楼2单元1502室",
        "2026-11-22 早上8点",
        "枫林苑12号楼，电梯停了3天",
        "积分1200分",
    ],
)
def test_other_numbers_stay(text):
    assert mask_text(text) == text


def test_mask_phone_keeps_the_last_four():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("88886666") == "****6666"
    assert mask_phone("") == ""


def test_numbers_inside_json_with_escaped_chinese_are_masked():
    """Rasa logs events as JSON with \\uXXXX escapes: the escape ends in a hex digit right before the number."""
    import json

    logged = json.dumps({"text": "身份证320102198805126633，电话13765432198，卡号6222020200112233445"})
    masked = mask_text(logged)
    for number in ("320102198805126633", "13765432198", "6222020200112233445"):
        assert number not in masked
    assert "320102********6633" in masked and "137****2198" in masked
    assert json.loads(masked)["text"].startswith("身份证320102********6633")


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("3栋502室漏水", "3栋***室漏水"),
        ("3号楼2单元1101，电梯坏了", "3号楼2单元***，电梯坏了"),
        ("502房的空调滴水", "***房的空调滴水"),
        ("12-3-1502门口", "12-3-***门口"),
        ("交了1000房租，住3号楼", "交了1000房租，住3号楼"),  # an amount and a building are no room
    ],
)
def test_room_numbers_are_masked_only_for_readers_who_are_not_staff(raw, masked):
    assert mask_text(raw, rooms=True) == masked
    assert mask_text(raw) == raw  # staff see the room


def test_chinese_text_escaped_in_json_is_masked_and_stays_valid_json():
    """A tracker event logged with every Chinese character escaped: numerals and names are masked all the same."""
    import json

    logged = json.dumps({"text": "我叫张小明，电话幺三八一二三四五六七八", "ts": 1733462400.123456})
    masked = mask_text(logged)
    assert json.loads(masked) == {"text": "我叫张**，电话幺三八****五六七八", "ts": 1733462400.123456}
    assert masked.isascii() and mask_text(masked) == masked
