"""Masking of personal data for every page, export and log line.

Phone numbers show as 138****5678, the way residents are used to seeing
them on receipts (also when written 138-1234-5678 or +86 138…); landlines
keep their area code and last 4 digits (0571-****6666); mainland ID-card
numbers keep only their first 6 and last 4 characters; a bank card number
(16–19 digits, maybe in groups of 4) only its last 4. Numbers are found
also in JSON with escaped Chinese (证 written as a u8bc1 escape right before
the number), the way Rasa logs its events.
"""

from __future__ import annotations

import re

# Right after a JSON escape (\u8bc1 is 证, as Rasa logs and stores text) a number starts even though
# the escape ends in a hex digit; otherwise the usual "no digit (or letter) before it".
_ESCAPED = r"(?<=\\u[0-9a-fA-F]{4})"
# Full-width digits (１３８…) and a space or dash between the groups (138 1234 5678)
# are how residents type numbers too; every such mobile is masked.
_D = "[0-9０-９]"
_MOBILE = re.compile(
    rf"(?:{_ESCAPED}|(?<!{_D}))((?:\+?86[\s-]?)?[1１][3-9３-９]{_D})[\s-]?({_D}{{4}})[\s-]?({_D}{{4}})(?!{_D})"
)
_ID_CARD = re.compile(rf"(?:{_ESCAPED}|(?<![0-9A-Za-z]))(\d{{6}})(\d{{8}})(\d{{3}}[\dXx])(?![0-9A-Za-z])")
_BANK_CARD = re.compile(rf"(?:{_ESCAPED}|(?<![\d*]))\d(?:[- ]?\d){{15,18}}(?![\d*])")  # 16-19 digits, maybe grouped
_LANDLINE = re.compile(rf"(?:{_ESCAPED}|(?<![\d*]))\(?(0\d{{2,3}})\)?[- ]?(\d{{3,4}})[- ]?(\d{{4}})(?![\d*])")


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


def mask_text(text: str) -> str:
    """Mask every mainland mobile, landline, ID-card and bank card number inside free text."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _BANK_CARD.sub(lambda m: "****" + re.sub(r"\D", "", m.group(0))[-4:], text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
