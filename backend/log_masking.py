"""Personal data masked in every log record of every process, before any handler sees it.

Rasa logs the text of each user message at debug level ("Received user
message '…'") and repeats it in error messages; the action server, the
web app and the bridge log what they handle. A phone or ID-card number
must not reach a log file however logging was configured, so masking is
not a handler filter (Rasa, Sanic and uvicorn set up their own handlers)
but the process's log record factory: every record is created masked —
its message, its arguments and, when it carries an exception, the
formatted traceback (formatters reuse ``exc_text`` when it is set). Fields
passed as ``extra`` (Sanic's access log puts the request line there) are
masked as the record is made, since they are set after the factory runs.

Credentials are masked the same way, as a second line of defence: a
``token=…`` query parameter (Rasa's API token, in a request line), a
``Bearer …`` value, ``--auth-token …``/``--jwt-secret …`` arguments and a
Telegram bot token in a Bot API URL never reach a log line whole.

:func:`install` is called by the backend's command line for its own
processes; Rasa and the action server are started through
:mod:`backend.rasa_ext.launcher`, which installs it before running them.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any, Mapping

from backend.privacy import mask_text

_installed = False

HIDDEN = "***"
_CREDENTIAL = re.compile(
    r"(?P<key>(?<![A-Za-z0-9])[A-Za-z_-]*(?:token|secret|password|api[_-]?key)[A-Za-z_-]*=)[^&\s'\"<>]+"
    r"|(?P<quoted>['\"][A-Za-z_-]*(?:token|secret|password|api[_-]?key)['\"]\s*:\s*['\"])[^'\"]+"
    r"|(?P<option>--(?:auth-token|jwt-secret)[= ])\S+"
    r"|(?P<scheme>\bBearer\s+)[A-Za-z0-9._~+/=-]+"
    r"|(?P<bot>/bot)\d+:[A-Za-z0-9_-]+",
    re.IGNORECASE,
)
_HINTS = ("oken", "OKEN", "ecret", "ECRET", "assword", "ASSWORD", "earer", "EARER", "/bot", "pi_key", "pi-key")


def mask_credentials(text: str) -> str:
    """``text`` with the values of tokens, secrets and bearer credentials replaced by ``***``."""
    if not any(hint in text for hint in _HINTS):  # most log lines: one cheap scan, no regex
        return text
    return _CREDENTIAL.sub(
        lambda m: (m.group("key") or m.group("quoted") or m.group("option") or m.group("scheme") or "/bot") + HIDDEN,
        text,
    )


def _mask(text: str) -> str:
    return mask_credentials(mask_text(text))


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return _mask(value)
    if isinstance(value, (bytes, bytearray)):
        return _mask(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, (dict, list, tuple, set)):
        return _mask(repr(value)) if _mask(repr(value)) != repr(value) else value
    text = str(value)
    masked = _mask(text)
    return masked if masked != text else value


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask the message, the arguments and the traceback of one record (in place)."""
    record.msg = _masked(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_masked(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _masked(arg) for key, arg in record.args.items()}
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = _mask("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    return record


def _masked_extra(extra: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    return {key: _masked(value) for key, value in extra.items()} if extra else extra


def install() -> None:
    """Make every log record of this process masked from its creation (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    make_record = logging.Logger.makeRecord

    def make_masked_record(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        # makeRecord(name, level, fn, lno, msg, args, exc_info, func=None, extra=None, sinfo=None)
        if len(args) > 8:
            args = (*args[:8], _masked_extra(args[8]), *args[9:])
        elif kwargs.get("extra"):
            kwargs["extra"] = _masked_extra(kwargs["extra"])
        return make_record(self, *args, **kwargs)

    logging.Logger.makeRecord = make_masked_record  # type: ignore[method-assign]
    _installed = True
