"""What a visitor's chat message may hold: trimmed, visible, not too long, no characters that reorder a line.

Every channel (web chat, Telegram) stores a message only after
:func:`clean_text` has checked it.
"""

from __future__ import annotations

import unicodedata

from backend import messages
from backend.errors import InvalidInput

MAX_MESSAGE_CHARS = 2000

# Bidirectional embeddings, overrides and isolates reorder how the rest of a
# line is displayed (a console user would read another text than was sent).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that show nothing on their own: a message of only these is empty.
_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Zs", "Zl", "Zp"))


def _kept(ch: str) -> bool:
    """Whether a character of a visitor's message is kept.

    Not ``str.isprintable``: it drops the zero-width joiner inside emoji
    (👨‍👩‍👧), the ideographic space (　) and every emoji newer than Python's
    Unicode tables (🫠 is "unassigned" to Python 3.10), which residents do send.
    """
    if ch in "\n\t":
        return True
    category = unicodedata.category(ch)
    return category not in ("Cc", "Cs") and ch not in _BIDI_CONTROLS


def clean_text(raw: str) -> str:
    """Validate a visitor's message: trimmed, not empty, not over the limit.

    Control characters other than newlines and tabs, lone surrogates and
    bidirectional overrides are dropped; everything else (emoji, any script,
    markup) is kept as typed and escaped where shown.

    Raises:
        InvalidInput: empty (or nothing visible in it), or longer than :data:`MAX_MESSAGE_CHARS`.
    """
    text = "".join(ch for ch in raw if _kept(ch)).strip()
    if all(unicodedata.category(ch) in _INVISIBLE for ch in text):  # also "": nothing, or only a zero-width space
        raise InvalidInput(messages.EMPTY_MESSAGE)
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(messages.TOO_LONG.format(length=len(text), limit=MAX_MESSAGE_CHARS))
    return text
