"""Typed words for a button on screen are read from the conversation Rasa has just loaded for the turn.

:func:`backend.rasa_ext.button_answers.pressed_in` needs the assistant's
latest answer to the sender. Rasa's processor reads the whole conversation
from the tracker store for every message anyway
(``MessageProcessor.log_message``), and hands it, under the sender's lock, to
``_handle_message_with_tracker``, which parses the message and adds it to the
conversation. Wrapping that method lets the typed words be matched against
the buttons in that tracker: no query of its own (the guarded channel made
one per short message before Rasa's own read) and no window between reading
the buttons and the turn that answers them. With this patch switched off,
the channel reads the buttons itself, as before.
"""

from __future__ import annotations

from typing import Any

from backend.rasa_ext.button_answers import pressed_in

_ORIGINAL: dict[str, Any] = {}


async def handle_message_with_tracker(self: Any, message: Any, tracker: Any) -> None:
    """``MessageProcessor._handle_message_with_tracker``, the message first read as the button it stands for."""
    await _ORIGINAL["handle"](self, pressed_in(tracker, message, self.domain), tracker)


def installed() -> bool:
    """Whether the processor matches typed words to buttons itself (the channel then leaves them alone)."""
    from rasa.core.processor import MessageProcessor

    return MessageProcessor._handle_message_with_tracker is handle_message_with_tracker


def install() -> None:
    """Wrap the processor's handling of a message with its tracker."""
    from rasa.core.processor import MessageProcessor

    if not installed():
        _ORIGINAL["handle"] = MessageProcessor._handle_message_with_tracker
        MessageProcessor._handle_message_with_tracker = handle_message_with_tracker
