"""The form of a message the classifier sees, shared by the NLU pipeline and the triage API.

This file is part of the model's fingerprint (backend/model_store.py): the
training examples pass through it too, so changing it retrains.
"""

from __future__ import annotations

import zhconv

CLASSIFY_CHARS = 500


def classification_text(text: str) -> str:
    """The form of a message the classifier sees.

    Traditional characters become Simplified (residents type both; the
    training data is Simplified), control characters are dropped, runs of
    whitespace collapse, and the text is cut to 500 characters. The whole
    message is kept for the ticket; only classification is cut, which keeps
    parse time bounded for a 5,000-character complaint.
    """
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text[: CLASSIFY_CHARS * 4])
    return zhconv.convert(" ".join(cleaned.split()), "zh-cn")[:CLASSIFY_CHARS]
