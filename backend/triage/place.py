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
        "工地",
        "施工",
    ),
}

TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "leak": ("漏水", "渗水", "滴水", "水管", "爆管", "管子", "漏了", "渗", "冒水", "跑水"),
    "light": ("灯",),
    "parking": ("停车", "车停", "乱停", "停的车", "车位", "占道停", "堵车", "挡道"),
    "noise": ("吵", "噪音", "噪声", "声音", "动静", "扰民", "响"),
    "rubbish": ("垃圾",),
}

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
    for topic, words in TOPIC_WORDS.items():
        if any(word in text for word in words):
            return topic
    return None
