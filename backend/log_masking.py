"""Personal data masked in every log record of every process, before any handler sees it.

Rasa logs the text of each user message at debug level ("Received user
message '…'") and repeats it in error messages; the action server, the
web app and the bridge log what they handle. A phone or ID-card number
must not reach a log file however logging was configured, so masking is
not a handler filter (Rasa, Sanic and uvicorn set up their own handlers)
but the process's log record factory: every record is created masked —
its message, its arguments and, when it carries an exception, the
formatted traceback (formatters reuse ``exc_text`` when it is set).

:func:`install` is called by the backend's command line for its own
processes; Rasa and the action server are started through
:mod:`backend.run_masked`, which installs it before running them.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from backend.privacy import mask_text

_installed = False


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, (bytes, bytearray)):
        return mask_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, (dict, list, tuple, set)):
        return mask_text(repr(value)) if mask_text(repr(value)) != repr(value) else value
    text = str(value)
    masked = mask_text(text)
    return masked if masked != text else value


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the message, the arguments and the traceback of one record (in place)."""
    record.msg = _masked(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_masked(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _masked(arg) for key, arg in record.args.items()}
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = mask_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    return record


def install() -> None:
    """Make every log record of this process masked from its creation (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
