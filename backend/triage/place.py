"""Where is the problem: inside a home, in the building or estate, or on a public road?

The taxonomy's first boundary rule: where the problem is decides the matter.
This module reads the place scope from the words residents use for places,
and the topic (漏水, 灯, 停车, 吵, 垃圾) that makes a category depend on it.
Keyword lists are data, kept here in one place; they are short because the
classifier does the heavy lifting and these only decide when to ask.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SCOPE_WORDS: dict[str, tuple[str, ...]] = {
    "home": (
        "我家",
        "家里",
        "家中",
        "屋里",
        "屋内",
        "室内",
        "户内",
        "厨房",
        "卫生间",
        "洗手间",
        "浴室",
        "卧室",
        "客厅",
        "阳台",
        "自己家",
        "我们家",
        "俺家",
        "家里面",
        "楼上",
        "楼上邻居",
        "隔壁邻居",
        "对门",
    ),
    "estate": (
        "楼道",
        "楼梯",
        "单元门",
        "单元",
        "电梯",
        "小区",
        "院子",
        "院里",
        "大院",
        "地库",
        "地下车库",
        "车库",
        "楼顶",
        "天台",
        "走廊",
        "门禁",
        "物业",
        "楼栋",
        "号楼",
        "公共部位",
        "管道井",
        "消防通道",
        "车棚",
        "楼下",
        "楼前",
        "楼后",
        "广场舞",
        "声控灯",
        "楼道灯",
        "投放点",
        "分类点",
        "分类亭",
        "垃圾房",
    ),
    "public": (
        "马路",
        "路上",
        "路边",
        "大街",
        "街上",
        "街面",
        "路口",
        "十字路口",
        "人行道",
        "公交",
        "红绿灯",
        "信号灯",
        "市政",
        "主干道",
        "辅路",
        "天桥",
        "桥下",
        "隧道",
        "地铁",
        "路段",
        "路灯",
        "外面",
        "小区外",
        "小区门外",
        "街道上",
        "街边",
        "街头",
        "路旁",
        "马路边",
        "公交站",
        "站台",
        "工地",
        "施工",
        "小区旁边",
        "小区附近",
        "小区周边",
        "小区对面",
    ),
}

TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "leak": ("漏水", "渗水", "滴水", "水管", "爆管", "管子", "漏了", "渗", "冒水", "跑水"),
    "light": ("灯",),
    "parking": ("停车", "车停", "乱停", "停的车", "车位", "占道停", "堵车", "挡道"),
    "noise": ("吵", "噪音", "噪声", "声音", "动静", "扰民", "响"),
    "rubbish": ("垃圾",),
}
# Words that contain a topic word without being about it: 响 in 影响 and 响应.
_NOT_TOPIC = re.compile(r"影响|响应")

# A message at least this long is a letter: place words in it are often about
# where the writer lives, not where the problem is, so only the sentences that
# name the problem are read for its place, and no place question is asked.
LETTER_CHARS = 80
_SENTENCE_END = re.compile(r"[。！？!?；;\n]+")
# Where a noise comes from decides its place; these sources are businesses,
# works and traffic, public matters wherever the writer hears them.
NOISE_SOURCES = re.compile(
    r"工厂|厂区|厂房|车间|采石|石场|砂场|搅拌站|工地|酒吧|KTV|ktv|歌厅|夜市|商铺|门店|饭店|餐馆|烧烤|大排档|"
    r"广场上|高架|高速|铁路|火车|鸣笛|养殖|猪场|鸡场"
)
# Home words that say where a noise comes from (not where it is heard).
NOISE_FROM_HOMES = ("楼上", "楼下邻居", "隔壁", "对门", "邻居")

_ROAD_NAME = re.compile(r"[\u4e00-\u9fff]{1,6}(?:路|街|大道|巷)(?![灯边口上])")


def scope_of(text: str, entities: Mapping[str, Any] | None = None) -> str | None:
    """The one place scope the text names, or ``None`` when it names none or several.

    When words of several scopes appear (小区门口的马路上), the last one
    mentioned wins: in Chinese the head of a place phrase comes last.
    """
    entities = entities or {}
    last: tuple[int, str] | None = None
    for scope, words in SCOPE_WORDS.items():
        for word in words:
            position = text.rfind(word)
            if position >= 0 and (last is None or position + len(word) > last[0]):
                last = (position + len(word), scope)
    if last is not None:
        return last[1]
    if entities.get("room"):
        return "home"
    if entities.get("building") or entities.get("estate") or entities.get("unit"):
        return "estate"
    if entities.get("road") or entities.get("place") or _ROAD_NAME.search(text):
        return "public"
    return None


def topic_of(text: str) -> str | None:
    """The place-dependent topic the text is about (leak, light, parking, noise, rubbish), if any."""
    text = _NOT_TOPIC.sub("", text)
    for topic, words in TOPIC_WORDS.items():
        if any(word in text for word in words):
            return topic
    return None


def is_letter(text: str) -> bool:
    """A long message (a letter to officials rather than a chat line)."""
    return len(text) >= LETTER_CHARS


def problem_sentences(text: str, topic: str) -> str:
    """The sentences of ``text`` that name the problem (contain a word of ``topic``)."""
    words = TOPIC_WORDS[topic]
    return "。".join(s for s in _SENTENCE_END.split(text) if any(w in _NOT_TOPIC.sub("", s) for w in words))


def problem_scope(text: str, topic: str | None, entities: Mapping[str, Any] | None = None) -> str | None:
    """Where the problem of ``topic`` is, read from the words that belong to it.

    A noise is where it comes from: a factory, works or a bar is public even
    when the writer hears it at home, and 我家 / 卧室 in a noise sentence say
    where it is heard, so only neighbours' homes count. In a letter, only the
    sentences naming the problem are read, and registry entities are not used
    (a letter names the writer's estate whatever the problem). In a short
    message, the whole message is read when those sentences name no place.
    """
    if topic is None:
        return scope_of(text, entities)
    letter = is_letter(text)
    told = problem_sentences(text, topic)
    if topic == "noise":
        heard = told if letter else text
        if NOISE_SOURCES.search(heard) and "装修" not in heard:
            return "public"
        scope = scope_of(heard)
        if scope == "home" and not any(word in heard for word in NOISE_FROM_HOMES):
            scope = None
        return scope if scope is not None or letter else scope_of("", entities)
    if letter:
        return scope_of(told)
    return scope_of(told) or scope_of(text, entities)


# A road's name as residents write it: two characters and 路 / 街 / 大道 / 巷 (枫林路口, 学府街边上),
# not the street furniture or the road surface (路灯, 路面).
_ROAD_WORD = re.compile(r"[\u4e00-\u9fff]{2}(?:大道|大街|路|街|巷)(?![灯面况线费由过人途])")
# What a resident says when the problem is not inside an estate: believed, so no building is asked.
_NOT_ESTATE = re.compile(
    r"不是(?:在)?(?:小区|楼里|院里|院子)|不在(?:小区|楼里|院里)|小区外|马路|大街|街上|街边|在路上|路上|路边|路口|"
    r"公交站|站台|人行道|十字路口|天桥"
)


def names_a_road(text: str) -> bool:
    """Whether ``text`` names a road (枫林路, 枫林大道, 学府街口), so an estate two characters away is not meant."""
    return _ROAD_WORD.search(text) is not None


def says_not_estate(text: str) -> bool:
    """Whether the resident says the place is outside any estate: 不是小区, 是马路上, 在路上, 公交站边上."""
    return _NOT_ESTATE.search(text) is not None
