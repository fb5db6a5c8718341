"""Copies Rasa 3.6 makes on every message: two made the slow way or for nothing (installed with the speedups).

1. **Slots.** Every tracker Rasa builds copies each of the domain's slots
   (``copy.copy(slot)``, 29 of them here): when it reads a conversation,
   before every action (``tracker.copy()``, a replay into a new tracker)
   and for every earlier turn the policies' dialogue states are built from.
   A ``Slot`` has no copy method of its own, so ``copy.copy`` goes through
   the pickle protocol (``__reduce_ex__(4)``, then ``copyreg.__newobj__``
   and a state dict): 59 µs per tracker on this machine. :func:`slot_copy`
   does what that path does for a plain object (a new instance of the same
   class whose ``__dict__`` holds the same values) directly: 21 µs. A slot
   class that customises pickling (``__reduce_ex__``, ``__reduce__``,
   ``__getstate__``, ``__setstate__`` or non-empty ``__slots__``) is
   copied the pickle way, as before.

2. **Debug log arguments.** ``MessageProcessor`` passes deep copies of the
   message's parse, the predicted events and the action's events to
   ``structlogger.debug(...)``; Python builds them before the call whether
   or not a debug line is written (py-spy under ``make bench``: 1.6 % of a
   Rasa server's samples in one of them). The processor's ``copy`` module
   is replaced by :data:`processor_copy`, whose ``deepcopy`` hands back the
   object itself when the processor's logger is structlog's filtering
   logger for a level above DEBUG (as Rasa configures it for an INFO
   server): its ``debug`` then returns at once, and nothing, not even
   Rasa's log anonymiser, looks at the arguments. Every ``copy.deepcopy``
   in that module is such an argument (a test keeps it so); with debug
   logging on, or any other structlog configuration, the copies are made
   as before.

Rasa 3.6.21 is the last open-source release, so neither can be changed
upstream.
"""

from __future__ import annotations

import copy
import logging
import types
from typing import Any

_PICKLE_HOOKS = ("__reduce_ex__", "__reduce__", "__getstate__", "__setstate__")
_PLAIN: dict[type, bool] = {}  # slot class → copied by its __dict__ alone
_QUIET: dict[str, frozenset[type]] = {}  # "classes": structlog's filtering loggers that drop DEBUG


def _plain(cls: type) -> bool:
    """Whether ``copy.copy`` of an instance is just a new instance with the same ``__dict__`` values."""
    known = _PLAIN.get(cls)
    if known is None:
        same_hooks = all(getattr(cls, hook, None) is getattr(object, hook, None) for hook in _PICKLE_HOOKS)
        no_slots = all(not vars(base)["__slots__"] for base in cls.__mro__ if "__slots__" in vars(base))  # ABC's ()
        known = _PLAIN[cls] = same_hooks and no_slots
    return known


def slot_copy(self: Any) -> Any:
    """``copy.copy(slot)``: what the pickle protocol makes of a plain object, without the protocol."""
    cls: Any = type(self)
    if not _plain(cls):
        return copy._reconstruct(self, None, *self.__reduce_ex__(4))  # type: ignore[attr-defined]  # what copy.copy does
    new = cls.__new__(cls)
    new.__dict__.update(self.__dict__)
    return new


def debug_lines_dropped() -> bool:
    """Whether the processor's ``structlogger.debug`` calls return at once, before any processor sees them.

    They do when its logger is structlog's filtering logger for a level
    above DEBUG (``make_filtering_bound_logger``, which Rasa configures
    with the server's log level): its ``debug`` is then a no-op, so not
    even Rasa's anonymiser, the first of the processors, reads (or edits)
    the arguments.
    """
    import rasa.core.processor
    import structlog

    used = type(rasa.core.processor.structlogger.bind())
    return used in _quiet_loggers(structlog)


def _quiet_loggers(structlog: Any) -> frozenset[type]:
    quiet = _QUIET.get("classes")
    if quiet is None:
        levels = (logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
        quiet = _QUIET["classes"] = frozenset(structlog.make_filtering_bound_logger(level) for level in levels)
    return quiet


def _deepcopy_for_a_log_line(value: Any, memo: Any = None) -> Any:
    """``copy.deepcopy`` for an argument of a debug line: the value itself when the line is dropped."""
    if debug_lines_dropped():
        return value
    return copy.deepcopy(value, memo)


processor_copy = types.SimpleNamespace(deepcopy=_deepcopy_for_a_log_line, copy=copy.copy)


def install() -> None:
    """Give slots their copy method and the processor its log-argument copies."""
    import rasa.core.processor
    from rasa.shared.core.slots import Slot

    if "__copy__" not in vars(Slot):
        Slot.__copy__ = slot_copy
    rasa.core.processor.copy = processor_copy
