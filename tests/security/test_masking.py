"""Personal data written any common way inside Chinese text is masked (issue 26, item 3).

An outside probe found phones written 138.1234.5678 or in Chinese numerals
(幺三八…), names after 我是, e-mails and plates passing the mask into the
Open311 list, console pages and logs. Here each form is generated the ways
residents write it, embedded in random Chinese text, and masked: what
identifies the person must be gone (no 7 digits in a row of the number, no
given name, no full e-mail or plate serial), the text around it must be
unchanged, and masking twice must change nothing. Words that only look like
the start of a name, and numbers that are not personal (tickets, dates,
amounts, buildings), must survive. A log record carrying each form is
masked through :func:`backend.log_masking.mask_record`.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.log_masking import mask_record
from backend.privacy import SURNAMES, mask_text

CHECKS = settings(max_examples=150, deadline=None)

# Chinese text around the personal data: common characters and punctuation that are no part of a number,
# a name, a room or an introducer (no numerals, no 我/是/叫, no 栋/室/号, no 电话, no brackets or dots).
FILLER_CHARS = (
    "的了在有和这个们中来上大为地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成"
    "方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十"
    "路灯坏水管漏电梯停车场噪音垃圾绿化物业维修投诉反映问题麻烦尽快处理谢谢师傅晚上白天已经好几请帮忙看看"
    "，。！？；、…“”《》"
)
SKIP = set("我是叫本姓名联系人电话座机固热线码致拨打号栋幢楼元室房单十一二三四五六七八九零两")
FILLER = st.text(st.sampled_from([c for c in FILLER_CHARS if c not in SKIP]), max_size=30)

ASCII_TO_FULL = str.maketrans("0123456789", "０１２３４５６７８９")
LOWER = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
CAPITAL = dict(zip("0123456789", "零壹贰叁肆伍陆柒捌玖", strict=True))
READ_BACK = str.maketrans(
    "０１２３４５６７８９零〇一幺二两三四五六七八九壹贰叁肆伍陆柒捌玖", "0123456789" + "0011223456789" + "123456789"
)
SEPARATOR_CHARS = " \u3000-－—.．·_"


def digits_left(text: str) -> str:
    """The digits of a text as a reader would read them, separators dropped (stars and words stay)."""
    read = text.translate(READ_BACK)
    return re.sub(f"[{re.escape(SEPARATOR_CHARS)}]", "", read)


def assert_no_run(masked: str, number: str, run: int = 7) -> None:
    shown = digits_left(masked)
    for start in range(len(number) - run + 1):
        assert number[start : start + run] not in shown, (masked, number)


def check(text: str, before: str, after: str, *, rooms: bool = False) -> str:
    """Mask ``before + text + after``; the surroundings must be unchanged and masking idempotent."""
    masked = mask_text(before + text + after, rooms=rooms)
    assert masked.startswith(before) and masked.endswith(after), (before + text + after, masked)
    assert mask_text(masked, rooms=rooms) == masked
    return masked[len(before) : len(masked) - len(after)]


def in_groups(digits: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    if at < len(digits):
        parts.append(digits[at:])
    return sep.join(p for p in parts if p)


# Mobiles -------------------------------------------------------------------------

MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@st.composite
def written_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """(mobile, as a resident typed it): separators, full-width, +86/0086, Chinese numerals, mixes."""
    mobile = draw(MOBILES)
    sep = draw(st.sampled_from(["", " ", "-", ".", "－", " - ", "\u3000", "·"]))
    grouped = in_groups(mobile, (3, 4, 4), sep) if sep != "·" else in_groups(mobile, (3, 4, 4), ".")
    style = draw(st.sampled_from(["ascii", "full", "lower", "yao", "capital", "mixed"]))
    if style == "full":
        grouped = grouped.translate(ASCII_TO_FULL)
    elif style in ("lower", "yao", "capital"):
        table = CAPITAL if style == "capital" else LOWER
        grouped = "".join(table.get(c, c) for c in grouped)
        if style == "yao":
            grouped = grouped.replace("一", "幺")
    elif style == "mixed":
        choices = draw(st.lists(st.sampled_from([None, LOWER, CAPITAL]), min_size=len(grouped), max_size=len(grouped)))
        grouped = "".join((table or {}).get(c, c) for c, table in zip(grouped, choices, strict=True))
    prefix = draw(st.sampled_from(["", "", "+86", "+86 ", "0086 ", "86", "+86-", "（+86）"]))
    return mobile, prefix + grouped


@CHECKS
@given(written_mobiles(), FILLER, FILLER)
def test_a_mobile_in_any_written_form_is_masked(written, before, after):
    mobile, typed = written
    shown = check(typed, before, after)
    assert_no_run(shown, mobile)
    assert "****" in shown


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("电话138.1234.5678谢谢", "电话138****5678谢谢"),
        ("手机幺三八一二三四五六七八一直打不通", "手机幺三八****五六七八一直打不通"),
        ("电话13812345678一直没人接，两个人在等", "电话138****5678一直没人接，两个人在等"),
        ("打壹叁捌壹贰叁肆伍陆柒捌", "打壹叁捌****伍陆柒捌"),
        ("138一二三四5678", "138****5678"),
        ("0086 138 1234 5678", "0086 138****5678"),
    ],
)
def test_written_mobiles_keep_the_first_three_and_last_four(raw, masked):
    assert mask_text(raw) == masked


# Landlines, ID cards, bank cards -------------------------------------------------------


@st.composite
def landlines(draw: st.DrawFn) -> tuple[str, str]:
    area = draw(st.sampled_from(["010", "021", "020", "0571", "0755", "0512"]))
    local = draw(st.from_regex(r"[2-8][0-9]{7}" if len(area) == 3 else r"[2-8][0-9]{6,7}", fullmatch=True))
    shape = draw(st.sampled_from(["{a}-{l}", "({a}){l}", "（{a}）{l}", "{a} {l1} {l2}", "{a}{l}", "{a}－{l}"]))
    return area + local, shape.format(a=area, l=local, l1=local[:-4], l2=local[-4:])


@CHECKS
@given(landlines(), FILLER, FILLER)
def test_a_landline_keeps_only_its_area_code_and_last_four(landline, before, after):
    number, typed = landline
    shown = check(typed, before, after)
    assert_no_run(shown, number)
    assert number[-4:] in shown and "****" in shown


@CHECKS
@given(
    st.from_regex(r"[2-9][0-9]{6,7}", fullmatch=True),
    st.sampled_from(["电话", "电话：", "座机", "座机号码是", "联系电话 ", "联系方式："]),
    FILLER,
    FILLER,
)
def test_a_local_number_after_a_phone_word_is_masked(local, word, before, after):
    assert check(word + local, before, after) == word + "****" + local[-4:]


@st.composite
def id_numbers(draw: st.DrawFn) -> tuple[str, str]:
    if draw(st.booleans()):
        born = r"(19[0-9]{2}|20[01][0-9])(0[1-9]|1[0-2])(0[1-9]|[12][0-9])"
        number = draw(st.from_regex(rf"[1-6][0-9]{{5}}{born}[0-9]{{3}}[0-9Xx]", fullmatch=True))
        sizes = draw(st.sampled_from([(18,), (6, 8, 4), (6, 4, 4, 4)]))
    else:
        number = draw(st.from_regex(r"[1-6][0-9]{14}", fullmatch=True))  # the old 15-digit cards
        sizes = draw(st.sampled_from([(15,), (6, 6, 3)]))
    return number, in_groups(number, sizes, draw(st.sampled_from([" ", ""])))


@CHECKS
@given(id_numbers(), FILLER, FILLER)
def test_an_id_number_keeps_only_its_first_six_and_last_four(id_number, before, after):
    number, typed = id_number
    shown = check(typed, before, after)
    assert shown == number[:6] + "*" * (len(number) - 10) + number[-4:]


@st.composite
def bank_cards(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(st.from_regex(r"(62|4[0-9]|5[1-5])[0-9]{14,17}", fullmatch=True))
    return number, in_groups(number, (4, 4, 4, 4), draw(st.sampled_from(["", " ", "-"])))


@CHECKS
@given(bank_cards(), FILLER, FILLER)
def test_a_bank_card_keeps_only_its_last_four(card, before, after):
    number, typed = card
    shown = check(typed, before, after)
    # an 18-digit card shows as an ID number would: its first 6 and last 4
    assert shown == ("****" + number[-4:] if len(number) != 18 else number[:6] + "********" + number[-4:])


# Names, e-mails, plates, rooms ---------------------------------------------------------

GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞丹宇欣怡浩然子轩梓涵雨晨思琪佳文博俊"
SURNAME_LIST = sorted(SURNAMES)


@st.composite
def introduced_names(draw: st.DrawFn) -> tuple[str, str, str]:
    """(introducer, surname, given name)."""
    introducer = draw(
        st.sampled_from(["我叫", "我叫 ", "姓名：", "姓名:", "联系人", "联系人：", "我是", "本人", "我的名字叫"])
    )
    surname = draw(st.sampled_from([*SURNAME_LIST, "欧阳", "诸葛", "司马"]))
    given_name = draw(st.text(st.sampled_from(GIVEN_CHARS), min_size=1, max_size=4 - len(surname)))
    return introducer, surname, given_name


@CHECKS
@given(introduced_names(), FILLER, st.sampled_from(["，", "。", " ", "，电话", "的妈妈", "住在", "！"]), FILLER)
def test_a_name_after_an_introducer_keeps_only_its_surname(name, before, between, after):
    introducer, surname, given_name = name
    shown = check(introducer + surname + given_name + between, before, after)
    assert shown == introducer + surname + "*" * len(given_name) + between


@pytest.mark.parametrize(
    "text",
    [
        "我是业主，楼道灯坏了",
        "我是3栋的，电梯停了",
        "本人想问一下停车费",
        "我是物业的，来看看",
        "我是租户不是房东",
        "我是这里的住户",
        "我是新来的",
        "本人已经报过了",
        "联系人：物业前台",
        "我是高层住户",
        "我是来反映问题的",
        "我是说电梯又坏了",
        "我叫不出名字",
        "我是一个老人",
        "本人不方便留电话",
    ],
)
def test_words_after_an_introducer_that_are_no_name_stay(text):
    assert mask_text(text) == text


@CHECKS
@given(
    st.from_regex(r"[a-z][a-z0-9._]{2,14}[a-z0-9]", fullmatch=True),
    st.sampled_from(["163.com", "qq.com", "gmail.com", "example.com.cn", "mail.zju.edu.cn"]),
    FILLER,
    FILLER,
)
def test_an_email_keeps_only_its_first_letter_and_domain(local, domain, before, after):
    shown = check(f" {local}@{domain} ", before, after)
    assert shown == f" {local[0]}***@{domain} "


PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"


@CHECKS
@given(
    st.sampled_from(PROVINCES),
    st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ"),
    st.sampled_from(["", "·", " "]),
    st.one_of(
        st.from_regex(r"[0-9]{5}", fullmatch=True),
        st.from_regex(r"[A-HJ-NP-Z][0-9]{4}", fullmatch=True),
        st.from_regex(r"[0-9]{3}[A-HJ-NP-Z][0-9]", fullmatch=True),
        st.from_regex(r"[DF][0-9]{5}", fullmatch=True),  # new-energy plates
    ),
    FILLER,
    FILLER,
)
def test_a_plate_keeps_only_its_province_and_city_letter(province, letter, dot, serial, before, after):
    shown = check(f"车牌{province}{letter}{dot}{serial}", before, "，" + after)
    assert shown == f"车牌{province}{letter}{dot}" + "*" * len(serial)


@CHECKS
@given(
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=101, max_value=3204),
    st.sampled_from(["{b}栋{r}室", "{b}号楼2单元{r}", "{b}幢{r}", "{r}房", "{r}号房", "{b}-2-{r}", "{b}栋{r}房间"]),
    FILLER,
    FILLER,
)
def test_a_room_number_is_masked_for_readers_who_are_not_staff(building, room, shape, before, after):
    place = shape.format(b=building, r=room)
    shown = check(place, before, "，" + after, rooms=True)
    assert str(room) not in shown and "***" in shown
    assert mask_text(before + place + "，" + after) == before + place + "，" + after  # staff see it


@pytest.mark.parametrize(
    "text",
    [
        "工单GZ20261122-0001办得怎么样",
        "工单GZ20261122-0001 我电话138****5678",
        "3号楼2单元1502室",
        "2026-11-22 早上8点",
        "2026-11-22 08:30:15 报的",
        "2026年11月22日下午3点半",
        "枫林苑12号楼，电梯停了3天",
        "积分1200分",
        "交了500元，还有1,250.50元没退",
        "时间戳1733462400.123456",
        "来自127.0.0.1的请求",
        "一共三百五十元",
        "第一次反映，一直没人来，两个星期了",
        "我的电话是138****5678，身份证110101********1234",
    ],
)
def test_numbers_that_are_not_personal_stay(text):
    assert mask_text(text) == text


# Logs ----------------------------------------------------------------------------------

FORMS = {
    "138.1234.5678": "1234",
    "幺三八一二三四五六七八": "一二三四",
    "+86 138 1234 5678": "1234",
    "（0571）88886666": "8888",
    "11010119900307123X": "19900307",
    "6222 0212 3456 7890 123": "0212",
    "我叫张小明": "小明",
    "zhang.xiaoming@163.com": "zhang.xiaoming",
    "浙A·D12345": "D12345",
}


@pytest.mark.parametrize("form", list(FORMS))
def test_a_log_record_carrying_each_form_is_masked(form):
    secret = FORMS[form]
    said = f"路灯坏了，{form}，请回电"
    as_argument = logging.LogRecord(
        "rasa.core", logging.DEBUG, __file__, 1, "Received user message '%s'", (said,), None
    )
    in_message = logging.LogRecord("backend.web", logging.INFO, __file__, 1, f"chat from web: {said}", None, None)
    for record in (as_argument, in_message):
        shown = mask_record(record).getMessage()
        assert secret not in shown and "路灯坏了" in shown, shown
    # Rasa logs events as JSON, with every Chinese character escaped (\u5e7a for 幺).
    event = json.dumps({"event": "user", "text": said})
    as_json = logging.LogRecord("rasa.core.tracker_store", logging.DEBUG, __file__, 1, "Saving %s", (event,), None)
    shown = mask_record(as_json).getMessage()
    assert secret not in json.loads(shown.removeprefix("Saving "))["text"], shown
    assert json.loads(shown.removeprefix("Saving "))["text"].startswith("路灯坏了，")


# Robustness ----------------------------------------------------------------------------

NUMBER_SOUP = st.text(st.sampled_from("0123456789０１幺一三八*Xx -.)（(@京A栋室我叫是张三，"), max_size=80)


@settings(max_examples=300, deadline=None)
@given(NUMBER_SOUP)
def test_masking_number_soup_is_idempotent_and_leaves_no_mobile(text):
    masked = mask_text(text, rooms=True)
    assert mask_text(masked, rooms=True) == masked
    assert re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", masked.translate(READ_BACK)) is None
