"""Properties of the parsers residents' text goes through: ticket numbers, phones, places, numerals.

Each property is one a resident's message could break: a parser that raises
on odd text crashes the triage API and the bot's actions (a 500, or a silent
conversation); one that returns a number the text does not contain files a
ticket against the wrong door; a mask that lets a mobile through leaks it
onto every console page and export. The ``@example`` lines are inputs that
did break them before the fixes in the same commit.
"""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import date

import cn2an
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backend.errors import InvalidInput
from backend.privacy import mask_phone, mask_text
from backend.services.chat_text import MAX_MESSAGE_CHARS, clean_text
from backend.tickets.numbering import NUMBER, format_number
from backend.triage.entities import PHONE, extract, mobile_number, to_int
from backend.triage.text import CLASSIFY_CHARS, classification_text
from tests.property.strategies import ANY_TEXT, HOSTILE, TRICKY_TEXT

FAST = settings(max_examples=200, deadline=None)
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
SEQUENCES = st.integers(min_value=1, max_value=9999)
MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
NUMERAL_CHARS = "0123456789０１２３４５６７８９一二三四五六七八九十百千万零〇两幺"
# Text around an embedded number that cannot change it: no numeral, no
# ticket letters, no place or phone words.
SURROUNDING = st.text(
    st.characters(
        exclude_categories=("Cs", "Nd", "No", "Nl"),
        exclude_characters=NUMERAL_CHARS + "号楼栋幢院座单元室房GgZz-－—+",
    ),
    max_size=40,
)
CN_DIGITS = "零一二三四五六七八九"


# Ticket numbers -------------------------------------------------------------


@FAST
@given(DAYS, SEQUENCES)
def test_a_formatted_ticket_number_matches_the_number_pattern(day, sequence):
    number = format_number(day, sequence)
    match = NUMBER.match(number)
    assert match is not None
    assert (match.group(1), int(match.group(2))) == (day.strftime("%Y%m%d"), sequence)


@FAST
@given(DAYS, SEQUENCES, SURROUNDING, SURROUNDING, st.sampled_from(["{}", "{} ", "{}。"]))
def test_a_ticket_number_embedded_in_text_is_found_as_itself(day, sequence, before, after, shape):
    """However it is surrounded, a resident quoting their number gets that number back."""
    number = format_number(day, sequence)
    assert extract(before + " " + shape.format(number) + " " + after).get("ticket_no") == number


@FAST
@given(DAYS, SEQUENCES, st.sampled_from(["gz{d}-{s}", "GZ {d} {s}", "GZ-{d}—{s}", "Gz{d}－{s}"]))
def test_typed_variants_of_a_ticket_number_normalise_to_it(day, sequence, shape):
    number = format_number(day, sequence)
    typed = shape.format(d=number[2:10], s=number[11:])
    assert extract(typed).get("ticket_no") == number


@FAST
@given(TRICKY_TEXT)
@example("GZ٢٠٢٦١١٢١-٠٠٠١")  # Arabic-Indic digits matched \d and gave a number no lookup could find
@example("GZ２０２６１１２１-０００１")
def test_a_ticket_number_found_is_ascii_and_appears_in_the_text(text):
    found = extract(text).get("ticket_no")
    if found is not None:
        assert NUMBER.match(found)
        assert found[2:10] in text and found[11:] in text


def test_the_number_pattern_refuses_near_misses():
    for wrong in ["GZ20261121-0001\n", "GZ2026112-0001", "GZ٢٠٢٦١١٢١-٠٠٠١", "gz20261121-0001", "GZ20261121-00012"]:
        assert NUMBER.match(wrong) is None, wrong


# Phones ----------------------------------------------------------------------


def _fullwidth(s: str) -> str:
    return s.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


def _spoken(s: str) -> str:
    return "".join(CN_DIGITS[int(d)] for d in s).replace("一", "幺", 1)


@FAST
@given(
    MOBILES,
    st.sampled_from(
        [
            lambda m: m,
            lambda m: f"{m[:3]} {m[3:7]} {m[7:]}",
            lambda m: f"{m[:3]}-{m[3:7]}-{m[7:]}",
            lambda m: f"+86 {m}",
            lambda m: f"86{m}",
            lambda m: f"（+86）{m}",
            _fullwidth,
            _spoken,
        ]
    ),
    SURROUNDING,
)
def test_a_mobile_however_typed_reads_back_as_its_11_digits(mobile, typed, words):
    assert mobile_number(words + typed(mobile) + words) == mobile


@FAST
@given(TRICKY_TEXT)
@example("1" * 5000)
def test_mobile_number_never_raises_and_returns_only_a_mobile(text):
    found = mobile_number(text)
    assert found is None or re.fullmatch(r"1[3-9][0-9]{9}", found)


@FAST
@given(TRICKY_TEXT)
@example("电话１３８１２３４５６７８")  # full-width digits were left unmasked
@example("电话 138 1234 5678")  # so were spaced groups
@example("138-1234-5678、13912345678")
def test_masking_leaves_no_mobile_and_is_idempotent(text):
    """What the console, exports and logs show must not contain a mobile any parser would read."""
    masked = mask_text(text)
    assert mask_text(masked) == masked
    assert PHONE.search(masked) is None
    assert PHONE.search(_ascii_digits(masked)) is None


def _ascii_digits(text: str) -> str:
    return text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))


@FAST
@given(MOBILES, SURROUNDING, SURROUNDING)
def test_masking_keeps_the_first_three_and_last_four_digits(mobile, before, after):
    masked = mask_text(before + " " + mobile + " " + after)
    assert f"{mobile[:3]}****{mobile[7:]}" in masked and mobile not in masked
    assert mask_phone(mobile) == f"{mobile[:3]}****{mobile[7:]}"


@FAST
@given(ANY_TEXT)
def test_mask_phone_shows_at_most_four_digits(text):
    shown = mask_phone(text)
    assert len(re.sub(r"\D", "", shown)) <= (7 if len(re.sub(r"\D", "", text)) == 11 else 4)


# Chinese numerals and places ----------------------------------------------------


@FAST
@given(st.integers(min_value=0, max_value=9999))
def test_the_chinese_numeral_of_n_reads_as_n(n):
    assert to_int(cn2an.an2cn(n)) == n
    assert to_int(str(n)) == n
    assert to_int(_fullwidth(str(n))) == n


@FAST
@given(st.integers(min_value=100, max_value=9999), st.sampled_from(["零", "〇"]))
def test_a_room_read_digit_by_digit_reads_as_its_number(n, zero):
    """二〇三室, 一五零二: residents read room numbers digit by digit."""
    spoken = "".join(CN_DIGITS[int(d)] for d in str(n)).replace("零", zero)
    assert to_int(spoken) == n


@FAST
@given(TRICKY_TEXT)
@example("²")  # str.isdigit says yes, int() says no
@example("1" * 5000)  # over int()'s 4,300-digit limit
@example("一" * 400)  # too large for a float inside cn2an
def test_to_int_never_raises(text):
    value = to_int(text)
    assert value is None or value >= 0


@FAST
@given(st.integers(min_value=1, max_value=999), st.integers(min_value=1, max_value=99), SURROUNDING, SURROUNDING)
def test_building_and_unit_embedded_in_text_read_as_themselves(building, unit, before, after):
    for b, u in ((str(building), str(unit)), (cn2an.an2cn(building), cn2an.an2cn(unit))):
        found = extract(f"{before}，{b}号楼{u}单元，{after}")
        assert (found.get("building"), found.get("unit")) == (building, unit)


@FAST
@given(st.integers(min_value=100, max_value=9999), SURROUNDING)
def test_a_room_after_a_unit_reads_as_itself(room, words):
    assert extract(f"{words}，3单元{room}室")["room"] == str(room)
    assert extract(f"{words}，3单元{room}")["room"] == str(room)


@FAST
@given(TRICKY_TEXT)
@example("1" * 5000 + "号楼")  # ValueError from int(): the triage API answered 500
@example("一" * 3000 + "单元")  # OverflowError inside cn2an
@example("3单元" + "9" * 5000)
def test_extract_never_raises_and_returns_only_numbers_in_range(text):
    found = extract(text)
    assert 0 < found.get("building", 1) < 1000
    assert 0 < found.get("unit", 1) < 100
    if "room" in found:
        assert 100 <= int(found["room"]) < 10000
    if "phone" in found:
        assert found["phone"] in re.sub(r"[\s-]", "", text)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(HOSTILE))
def test_extract_survives_every_hand_picked_string(text):
    extract(text)
    mobile_number(text)
    mask_text(text)


# Normalisation -------------------------------------------------------------------


@FAST
@given(TRICKY_TEXT)
@example("電梯壞了\x00\n\n   ")
@example("\u3000" * 3000 + "漏水")
def test_classification_text_is_idempotent_bounded_and_printable(text):
    once = classification_text(text)
    assert classification_text(once) == once
    assert len(once) <= CLASSIFY_CHARS
    assert once.isprintable() or all(ch.isprintable() or ch == " " for ch in once)
    assert once == once.strip()


@FAST
@given(TRICKY_TEXT)
@example("👨\u200d👩\u200d👧")  # the zero-width joiners were dropped: a family became three people
@example("🫠")  # unassigned to Python 3.10's Unicode tables: refused as an empty message
@example("三号楼\u3000电梯坏了")  # the ideographic space was dropped
@example("\x00\u202e")
def test_a_chat_message_keeps_everything_but_control_characters(text):
    """The stored message is the text as typed, less controls, surrogates and bidi overrides, trimmed."""
    try:
        kept = clean_text(text)
    except InvalidInput:
        assert not any(_visible(ch) for ch in text) or len(text.strip()) > MAX_MESSAGE_CHARS
        return
    assert clean_text(kept) == kept
    assert [ch for ch in text if _visible(ch)] == [ch for ch in kept if _visible(ch)]


def _visible(ch: str) -> bool:
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")


@pytest.mark.parametrize(
    "text",
    [
        "👨\u200d👩\u200d👧",
        "🫠",
        "三号楼\u3000电梯坏了",
        "שלום\u200f",
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    ],
)
def test_emoji_sequences_new_emoji_and_other_scripts_are_kept_exactly(text):
    assert clean_text(f"  {text}\n") == text


@pytest.mark.parametrize("text", ["\u200b", "\ufeff \u200d", "\u3000\u3000", "\x00\u202e"])
def test_a_message_with_nothing_visible_is_empty(text):
    with pytest.raises(InvalidInput):
        clean_text(text)


def test_a_long_run_of_digits_is_parsed_in_linear_time():
    """The numeral patterns retried from every digit of a run: 20,000 digits took 30 s per pattern.

    The triage API reads entities from the whole text it is given, so that
    was one request holding a worker for minutes. Linear now: well under a
    second for 50,000 digits, with room for a busy machine.
    """
    started = time.perf_counter()
    for text in ("1" * 50_000, "一" * 50_000, "3单元" + "1" * 50_000, "１" * 50_000 + "点"):
        extract(text)
    assert time.perf_counter() - started < 3
