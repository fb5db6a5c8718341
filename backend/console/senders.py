"""A conversation's sender id as the console shows it: its channel, a masked form, a stable label.

A conversation is one sender id (``web:<visitor>``, ``telegram:<chat id>``;
the channel is the prefix). Pages never show a Telegram chat id or a phone
number whole.
"""

from __future__ import annotations

import hashlib

from backend.privacy import mask_text
from backend.services.residents import split_sender

CHANNELS = {"web": "网页", "telegram": "Telegram", "rest": "其他"}


def shown_sender(sender: str) -> str:
    """The sender id as pages show it: a Telegram chat id is a person's, so only its last 4 digits."""
    channel, rest = split_sender(sender)
    if channel == "telegram":
        return f"telegram:{'*' * max(0, len(rest) - 4)}{rest[-4:]}"
    return mask_text(sender)


# Who a conversation is with, by channel, as pages name them (with a number that tells conversations apart).
SENDER_KINDS = {"web": "网页访客", "telegram": "Telegram 用户", "rest": "其他渠道访客"}


def sender_label(sender: str) -> str:
    """A conversation as pages name it: 网页访客 #482193, Telegram 用户 #031775.

    The number is derived from the whole sender id (six digits of its
    SHA-256), so it tells conversations apart and stays the same on every
    page, without showing any part of a chat id or reading like a masked
    phone number. Exports keep :func:`shown_sender`.
    """
    channel, _ = split_sender(sender)
    number = int(hashlib.sha256(sender.encode("utf-8")).hexdigest()[:8], 16) % 1_000_000
    return f"{SENDER_KINDS.get(channel, SENDER_KINDS['rest'])} #{number:06d}"
