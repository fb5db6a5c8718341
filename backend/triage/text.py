"""The form of a message the classifier sees, shared by the NLU pipeline and the triage API.

This file is part of the model's fingerprint (backend/model_store.py): the
training examples pass through it too, so changing it retrains.
"""

from __future__ import annotations

import re

import zhconv

CLASSIFY_CHARS = 500

# Homophone typos residents make, and the word they mean. Only spellings that cannot be another word
# where they stand: 路等 is 路灯 only before 不亮 / 坏 …, never in 过马路等红灯.
TYPOS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), word)
    for pattern, word in (
        (r"电悌|电剃(?=坏|又|不|停|卡|故障|门|里)", "电梯"),
        (r"路登|路等(?=不亮|坏|灭|黑|闪|一闪|又|都不|全)", "路灯"),
        (r"红路灯", "红绿灯"),
        (r"下水到(?=堵|又堵|返|冒|口|井|盖|不通|漏|臭)", "下水道"),
        (r"物叶|物页(?=公司|费|的人|不管|管理)", "物业"),
        (r"拉圾|垃极|垃吸", "垃圾"),
        (r"躁音|燥音", "噪音"),
        (r"井该(?=丢|没|坏|翻|破|掉|被)", "井盖"),
        (r"楼到(?=灯|里|堆|口)", "楼道"),
        (r"停车卫", "停车位"),
        (r"投素", "投诉"),
    )
)


def classification_text(text: str) -> str:
    """The form of a message the classifier sees.

    Traditional characters become Simplified (residents type both; the
    training data is Simplified), control characters are dropped, runs of
    whitespace collapse, homophone typos (:data:`TYPOS`: 电悌, 物叶 …) become the word meant,
    and the text is cut to 500 characters. The whole
    message is kept for the ticket; only classification is cut, which keeps
    parse time bounded for a 5,000-character complaint.
    """
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text[: CLASSIFY_CHARS * 4])
    text = zhconv.convert(" ".join(cleaned.split()), "zh-cn")
    for typo, word in TYPOS:
        text = typo.sub(word, text)
    return text[:CLASSIFY_CHARS]
