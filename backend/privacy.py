"""Masking of personal data for every page, export and log line.

A number is found however a resident writes it: ASCII or full-width digits,
Chinese numerals read digit by digit (幺三八…, 壹叁捌…) or a mix, with
spaces, dashes, dots or brackets between the groups, after +86 or 0086.
Each run of such digits is cut into windows of whole groups (a Chinese
numeral is a group of its own, so 一直 after a number is not part of it)
and the longest window from the left that is a known form is masked:
mobiles show as 138****5678, the way residents see them on receipts;
landlines keep their area code and last 4 digits (0571-****6666), a local
number introduced by 电话/座机/联系 only its last 4; ID-card numbers (18
with a final X, or 15 digits) their first 6 and last 4; bank cards (16–19
digits) their last 4. Dates, times, amounts, ticket numbers (GZ…) and the
numbers of buildings are none of these forms and stay.

E-mail addresses keep their first letter and domain, plates their province
and city letter, a name introduced by 我叫 / 姓名 / 联系人 its surname (我是 and
本人 only before a common surname, since 我是业主 and 本人想问 are not names),
and with ``rooms=True`` room numbers are hidden for readers who are not
staff. Numbers are found also in JSON with escaped Chinese (证 written as a
u8bc1 escape right before the number), the way Rasa logs its events.
Masking a masked text changes nothing.
"""

from __future__ import annotations

import re

_ARABIC = "0-9０-９"
_CHINESE = "零〇一幺二两三四五六七八九壹贰貳叁參肆伍陆陸柒捌玖"
_DIGIT_CHARS = _ARABIC + _CHINESE
_TO_ASCII = str.maketrans(
    "０１２３４５６７８９零〇一幺二两三四五六七八九壹贰貳叁參肆伍陆陸柒捌玖",
    "01234567890011223456789122334566789",
)
# What residents put between the groups of a number: spaces, dashes, dots, a closing bracket after an area code.
_SEPARATORS = " \u3000\u00a0\\-－—–‐.．·•_)）"
# A run of at least 7 digits (ASCII, full-width or Chinese), maybe with up to 3 separators between any two,
# maybe after an opening bracket and ending in the X of an ID card. It does not start inside a JSON \uXXXX
# escape, but may start right after one. The pattern starts with a character class so the regex engine skips
# through text without digits quickly (it runs on every log record); the look-behinds are checked after it.
_RUN = re.compile(
    rf"[(（{_DIGIT_CHARS}]"
    rf"(?:(?<=\\u[0-9a-fA-F]{{4}}.)|(?<![{_DIGIT_CHARS}].))"
    r"(?<!\\u.)(?<!\\u[0-9a-fA-F].)(?<!\\u[0-9a-fA-F]{2}.)(?<!\\u[0-9a-fA-F]{3}.)"
    rf"(?:(?<=[(（])[{_DIGIT_CHARS}]|(?<![(（]))"
    rf"(?:[{_SEPARATORS}]{{0,3}}[{_DIGIT_CHARS}]){{6,}}(?:[Xx](?![0-9A-Za-z]))?"
)
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_GROUP = re.compile(rf"[{_ARABIC}]+[Xx]?|[{_CHINESE}][Xx]?")
_MOBILE = re.compile(r"(0086|86)?1[3-9]\d{9}")
_LANDLINE = re.compile(r"0(?:[12]\d|[3-9]\d\d)\d{7,8}")
_LOCAL = re.compile(r"[2-9]\d{6,7}")
_ID_CARD = re.compile(r"[1-9]\d{16}[\dX]|[1-6]\d{14}")
_BANK_CARD = re.compile(r"\d{16,19}")
_LOCAL_INTRODUCED = re.compile(r"(?:电话|座机|固话|联系|热线|号码|致电|拨打|打)(?:方式|电话)?[:：\s是为]{0,3}$")
_LONGEST_FORM = 19  # digits of the longest bank card
_FORM_LENGTHS = frozenset({7, 8, 10, 11, 12, 13, 15, 16, 17, 18, 19, 20})  # with a prefix 86 / 0086, or an X
_DOTS = re.compile("[.．·•]")

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})"
)
_PLATE = re.compile(
    r"([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Za-hj-np-z][·•.．\s-]?)"
    r"([A-HJ-NP-Za-hj-np-z0-9]{5,6}[挂学警]?)(?![A-Za-z0-9])"
)
_ROOM_NUMBER = rf"[{_ARABIC}零〇一二三四五六七八九]{{3,5}}"
_ROOM = re.compile(
    rf"(?<![{_DIGIT_CHARS}]){_ROOM_NUMBER}(?=室|号房|房(?!租|费|价|贷|子|产|屋))"  # 502室, 1101号房, 502房(间)
    rf"|(?<=栋|幢|楼|座|元|号){_ROOM_NUMBER}(?![{_DIGIT_CHARS}]|号楼|栋|幢|单元|层|楼)"  # 3栋502, 2单元1101
    r"|((?<![0-9])[0-9]{1,3}[-－][0-9]{1,2}[-－])[0-9]{3,4}(?![0-9])"  # 3-2-502
)
# A name: 2 to 4 Chinese characters after an introducer; it ends before the first of _NAME_ENDS, which follow names.
_INTRODUCER = re.compile(
    r"(我叫|我的名字是|我的名字叫|名字叫|姓名|联系人|我是|本人)[:：\s]{0,2}(?:是|为|叫)?[:：\s]{0,2}"
)
_CJK = re.compile(r"[\u4e00-\u9fff]{1,4}")
_WEAK_INTRODUCERS = frozenset({"我是", "本人"})
_NAME_ENDS = frozenset("的在住电手联家是，想要请了啊呀吧呢吗哦嗯及到给帮去说问反报投也就楼号栋单室今昨早晚现已")
# Words that follow an introducer without being a name (我是业主, 联系人：物业); a name starting with one is kept.
NON_NAMES = (
    "业主", "住户", "租户", "租客", "房东", "房主", "户主", "居民", "物业", "网格", "社区", "小区", "街道", "楼长",
    "志愿", "保安", "保洁", "快递", "外卖", "老人", "邻居", "家属", "家长", "孩子", "本人", "本楼", "这里", "这边",
    "那边", "楼上", "楼下", "隔壁", "对门", "新来", "刚搬", "刚刚", "第一", "自己", "高层", "低层", "党员", "业委",
    "残疾", "独居", "退休", "先生", "女士", "什么", "怎么", "一个", "不", "没", "谁", "这", "那", "哪",
)  # fmt: skip
# Surnames that make 我是 / 本人 introduce a name; common-word characters (来, 都, 向, 高…) are left out.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范贾夏韦付傅方邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵钱严覃武戴莫孔汤温康施牛樊葛邢齐易乔"
    "伍庞颜倪庄聂章鲁岳翟殷詹申欧耿兰焦俞左柳祝舒阮柯纪梅童凌毕季裴霍涂苗谷盛翁冉骆蓝游辛靳管柴鲍喻祁蒲滕屈"
    "饶牟艾尤穆卓缪简项麦褚娄窦戚岑党宫费卜冷晏席卫柏宗瞿桂佟臧闵苟邬卞姬仇栾隋刁荣巫寇桑郎甄仲虞敖巩佘池邝"
)
COMPOUND_SURNAMES = frozenset(
    {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐"}
)
_ALL_SURNAMES = SURNAMES | COMPOUND_SURNAMES


def mask_phone(phone: str | None) -> str:
    """Mask one phone number; anything that is not one is shown as stars but for its last 4."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[7:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def _chunks(text: str, start: int, last: int) -> list[int]:
    """Lengths of the groups of characters between separators in text[start:last + 1]."""
    return [len(chunk) for chunk in re.split(f"[{_SEPARATORS}]+", text[start : last + 1])]


def _masked_number(text: str, digits: str, chars: list[str], positions: list[int]) -> tuple[str, str] | None:
    """(kind, masked form) of one window of digits (ASCII ``digits``, original ``chars`` at ``positions``)."""
    start = positions[0]
    # 138.1234.5678 is a phone; 1733462400.123456 (a time in a log) is no card: dotted numbers are phones in groups.
    dotted = _DOTS.search(text, start, positions[-1]) is not None
    mobile = _MOBILE.fullmatch(digits)
    if mobile:
        prefix = len(mobile.group(1) or "")
        if dotted and _chunks(text, positions[prefix], positions[-1])[-3:] != [3, 4, 4]:
            return None
        kept = text[start : positions[prefix]] if prefix else ""
        return "mobile", kept + "".join(chars[prefix : prefix + 3]) + "****" + "".join(chars[-4:])
    if _LANDLINE.fullmatch(digits):
        area = 3 if digits[1] in "12" else 4
        if not dotted or _chunks(text, start, positions[-1])[0] == area:
            return "landline", "".join(chars[:area]) + "-****" + "".join(chars[-4:])
        return None
    if dotted:
        return None
    if _ID_CARD.fullmatch(digits):
        return "id", "".join(chars[:6]) + "*" * (len(chars) - 10) + "".join(chars[-4:])
    if _BANK_CARD.fullmatch(digits):
        return "card", "****" + "".join(chars[-4:])
    if _LOCAL.fullmatch(digits) and _LOCAL_INTRODUCED.search(text, max(0, start - 12), start):
        return "local", "****" + "".join(chars[-4:])
    return None


def _mask_run(match: re.Match[str], unsettled: list[bool]) -> str:
    """Mask every personal number inside one run of digits, taking the longest form from the left.

    Appends to ``unsettled`` when a number was masked next to other digits of the run, which the next
    round of masking has to look at again.
    """
    text, base = match.string, match.start()
    groups = [(m.start() + base, m.end() + base) for m in _GROUP.finditer(match.group(0))]
    positions = [p for at, end in groups for p in range(at, end)]
    chars = [text[p] for p in positions]
    digits = "".join(chars).translate(_TO_ASCII).upper()
    offsets = [0]  # where each group's digits start in positions
    for at, end in groups:
        offsets.append(offsets[-1] + end - at)
    # What shows of a masked number (the 138 of 138****5678) never joins other digits into a new number.
    stubs = [False] * len(groups)
    if "*" in text[max(0, base - 1) : match.end() + 4]:
        stubs = [end - at <= 6 and ("*" in text[max(0, at - 1) : at] or text[end:].lstrip(_SEPARATORS)[:1] == "*")
                 for at, end in groups]  # fmt: skip
    out: list[str] = []
    done = base  # the text before this position is in out already
    i = 0
    while i < len(groups):
        widest = i
        while widest + 1 < len(groups) and offsets[widest + 2] - offsets[i] <= _LONGEST_FORM + 1:
            widest += 1
        for j in range(widest, i - 1, -1):
            first, last = offsets[i], offsets[j + 1]
            if last - first not in _FORM_LENGTHS or (j > i and any(stubs[i : j + 1])):
                continue
            found = _masked_number(text, digits[first:last], chars[first:last], positions[first:last])
            if found is None and digits[last - 1] == "X":  # an X after a number that is no ID card is a letter
                last -= 1
                found = _masked_number(text, digits[first:last], chars[first:last], positions[first:last])
            if found is None:
                continue
            kind, masked = found
            start = positions[first]
            if kind == "landline" and start - 1 >= done and text[start - 1] in "(（":  # (010)12345678
                start -= 1
            out.append(text[done:start] + masked)
            done = positions[last - 1] + 1
            if i > 0 or j < len(groups) - 1:
                unsettled.append(True)
            i = j
            break
        i += 1
    out.append(text[done : match.end()])
    return "".join(out)


def _masked_name(introducer: str, following: str) -> tuple[str, str] | None:
    """(the name, its masked form) at the start of ``following`` after an introducer, or None when it is none."""
    word = _CJK.match(following)
    if word is None:
        return None
    name = word.group(0)
    for at, char in enumerate(name):
        if char in _NAME_ENDS:
            name = name[:at]
            break
    if len(name) < 2 or name.startswith(NON_NAMES):
        return None
    surname = 2 if name[:2] in COMPOUND_SURNAMES else 1
    if len(name) <= surname or (introducer in _WEAK_INTRODUCERS and name[:surname] not in _ALL_SURNAMES):
        return None
    return name, name[:surname] + "*" * (len(name) - surname)


def _mask_names(text: str) -> str:
    """Keep the surname of each name introduced by 我叫 / 姓名 / 联系人 (我是 / 本人 before a surname)."""
    out: list[str] = []
    done = 0
    for match in _INTRODUCER.finditer(text):
        if match.start() < done:
            continue
        found = _masked_name(match.group(1), text[match.end() : match.end() + 4])
        if found is not None:
            out.append(text[done : match.end()] + found[1])
            done = match.end() + len(found[0])
    out.append(text[done:])
    return "".join(out)


def _mask_plate(match: re.Match[str]) -> str:
    serial = match.group(2)
    if sum(c.isdigit() for c in serial) < 2:
        return match.group(0)
    return match.group(1) + "*" * len(serial)


def mask_text(text: str, *, rooms: bool = False) -> str:
    """Mask every phone, ID-card and bank card number, e-mail, plate and introduced name inside free text.

    When a number was masked next to other digits, masking is repeated until nothing changes (each round
    only turns characters into stars, so it ends): what is shown is masked already, however numbers were
    run together.

    Args:
        text: free text as a resident or staff member wrote it.
        rooms: also mask room numbers (3栋502室 → 3栋***室), for readers who are not staff.
    """
    decoded = _json_unescaped(text)
    if decoded is not None:  # {"text": "\\u6211\\u53eb…"}: mask what the escapes say, and escape it again
        masked = _masked_until_stable(decoded, rooms)
        return text if masked == decoded else "".join(c if c.isascii() else f"\\u{ord(c):04x}" for c in masked)
    return _masked_until_stable(text, rooms)


def _json_unescaped(text: str) -> str | None:
    """An ASCII text with JSON escapes of non-ASCII characters, those decoded; None for any other text."""
    if "\\u" not in text or not text.isascii():
        return None
    decoded = _JSON_ESCAPE.sub(_unescaped, text)
    return decoded if decoded != text else None


def _unescaped(match: re.Match[str]) -> str:
    code = int(match.group(1), 16)
    return chr(code) if code >= 0x80 and not 0xD800 <= code <= 0xDFFF else match.group(0)


def _masked_until_stable(text: str, rooms: bool) -> str:
    while True:
        unsettled: list[bool] = []
        masked = _mask_once(text, rooms, unsettled)
        if not unsettled or masked == text:
            return masked
        text = masked


def _mask_once(text: str, rooms: bool, unsettled: list[bool]) -> str:
    if "@" in text:
        text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    text = _RUN.sub(lambda m: _mask_run(m, unsettled), text)
    text = _PLATE.sub(_mask_plate, text)
    if _INTRODUCER.search(text):
        text = _mask_names(text)
    if rooms:
        text = _ROOM.sub(lambda m: (m.group(1) or "") + "***", text)
    return text
