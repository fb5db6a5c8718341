"""Hostile text for the property tests: hand-picked strings and hypothesis strategies.

Shared by the parser properties, the HTTP fuzz and the end-to-end run, so
every entry point meets the same inputs.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

HOSTILE: list[str] = [
    "",
    " ",
    "\u3000\t\n ",
    "电梯" * 50_000,  # 100k characters
    "👨‍👩‍👧‍👦🏳️‍🌈🫠🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # ZWJ sequences, a Unicode 14 emoji, a tag sequence
    "\u200f\u202eتوقف\u202c 电梯坏了 \u200e",  # RTL mark, an override, Arabic
    "三号楼\x00电梯\x07坏了\x1b[31m",
    "\u0301\u0308\u20dd",  # combining marks with nothing to combine with
    "'; DROP TABLE tickets;--",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}{% raw %}${7*7}",
    "${jndi:ldap://x}",
    "../../etc/passwd",
    json.dumps({"text": "电梯坏了", "sender": "admin"}),
    "/restart",
    '/inform{"report_phone": "13800000000"}',
    "GZ20261121-0001 GZ99999999-9999 gz 20261121 0002",
    "1" * 5_000 + "号楼",
    "一" * 3_000 + "单元",
    "电话 138 1234 5678，身份证 110101199003071234",
    "１３８１２３４５６７８",
    "Ω≈ç√∫˜µ≤≥÷ 𝓣𝓮𝔁𝓽 Ｆｕｌｌｗｉｄｔｈ",
    "\ud7ff\ue000\uffff",
    "null",
    "[]",
]

# Any text Python can encode: everything but lone surrogates (no HTTP body or
# database column carries them), control characters included.
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
TRICKY_CHARS = st.sampled_from(
    list("\x00\x01\x1f\x7f\u200b\u200d\u200f\u202e\u2028\u3000\ufeff\u0301🫠👩‍👧<>&'\"{}$\\")
)
TRICKY_TEXT = st.lists(st.one_of(TRICKY_CHARS, st.sampled_from(HOSTILE[4:20]), ANY_TEXT), max_size=6).map("".join)
