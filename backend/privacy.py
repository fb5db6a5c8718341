"""Masking of personal data for every page, export and log line.

Phone numbers show as 138****5678, the way residents are used to seeing
them on receipts; mainland ID-card numbers keep only their first 6 and last
4 characters.
"""

from __future__ import annotations

import re

# Full-width digits (１３８…) and a space or dash between the groups (138 1234 5678)
# are how residents type numbers too; every such mobile is masked.
_D = "[0-9０-９]"
_MOBILE = re.compile(rf"(?<!{_D})([1１][3-9３-９]{_D})[\s-]?({_D}{{4}})[\s-]?({_D}{{4}})(?!{_D})")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")


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
    """Mask every mainland mobile number and ID-card number inside free text."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(3)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
