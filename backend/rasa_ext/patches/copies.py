"""Copies Rasa 3.6 makes on every message: two made the slow way or for nothing (installed with the speedups).

1. **Slots.** Every tracker Rasa builds copies each of the domain's slots
   (``copy.copy(slot)``, 29 of them here): when it reads a conversation,
   before every action (``tracker.copy()``, a replay into a new tracker)
   and for every earlier turn the policies' dialogue states are built from.
   A ``Slot`` has no copy method of its own, so ``copy.copy`` goes through
   the pickle protocol (``__reduce_ex__(4)``, then ``copyreg.__newobj__``
   and a state dict), the slow way. :func:`slot_copy`
   does what that path does for a plain object (a new instance of the same
   class whose ``__dict__`` holds the same values) directly, about three
   times faster (docs/benchmark.md). A slot
   class that customises pickling (``__reduce_ex__``, ``__reduce__``,
   ``__getstate__``, ``__setstate__`` or non-empty ``__slots__``) is
   copied the pickle way, as before.

2. **Debug log arguments.** The message processor, RulePolicy,
   MemoizationPolicy and the form action pass deep copies of the parse,
   the events and the dialogue states to ``structlogger.debug(...)``;
   Python builds them before the call whether or not a debug line is
   written (measured in docs/benchmark.md). Each of these modules'
   ``copy`` is replaced by a :class:`LogArgumentCopy`, whose ``deepcopy``
   hands back the object itself when that module's logger is structlog's
   filtering logger for a level above DEBUG (as Rasa configures it for an
   INFO server): its ``debug`` then returns at once, and nothing, not even
   Rasa's log anonymiser, looks at the arguments. Every ``copy.*`` in
   those modules is such an argument (a test keeps it so); with debug
   logging on, or any other structlog configuration, the copies are made
   as before.

Rasa 3.6.21 is the last open-source release, so neither can be changed
upstream.
"""

from __future__ import annotations

import copy
import logging
from functools import cache, lru_cache
from typing import Any

_PICKLE_HOOKS = ("__reduce_ex__", "__reduce__", "__getstate__", "__setstate__")


@cache  # one answer per slot class
def _plain(cls: type) -> bool:
    """Whether ``copy.copy`` of an instance is just a new instance with the same ``__dict__`` values."""
    same_hooks = all(getattr(cls, hook, None) is getattr(object, hook, None) for hook in _PICKLE_HOOKS)
    no_slots = all(not vars(base)["__slots__"] for base in cls.__mro__ if "__slots__" in vars(base))  # ABC's ()
    return same_hooks and no_slots


def slot_copy(self: Any) -> Any:
    """``copy.copy(slot)``: what the pickle protocol makes of a plain object, without the protocol."""
    cls: Any = type(self)
    if not _plain(cls):
        return copy._reconstruct(self, None, *self.__reduce_ex__(4))  # type: ignore[attr-defined]  # what copy.copy does
    new = cls.__new__(cls)
    new.__dict__.update(self.__dict__)
    return new


def debug_lines_dropped(module: Any) -> bool:
    """Whether ``module``'s ``structlogger.debug`` calls return at once, before any processor sees them.

    They do when its logger is structlog's filtering logger for a level
    above DEBUG (``make_filtering_bound_logger``, which Rasa configures
    with the server's log level): its ``debug`` is then a no-op, so not
    even Rasa's anonymiser, the first of the processors, reads (or edits)
    the arguments.
    """
    return type(module.structlogger.bind()) in _quiet_loggers()


@lru_cache(maxsize=1)
def _quiet_loggers() -> frozenset[type]:
    """The filtering logger classes structlog makes for the levels above DEBUG (one per level, made once)."""
    import structlog

    levels = (logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
    return frozenset(structlog.make_filtering_bound_logger(level) for level in levels)


class LogArgumentCopy:
    """A module's ``copy`` whose ``deepcopy`` (only ever an argument of a debug line) is skipped when unread."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        """``copy.deepcopy``, or the value itself when the module's debug lines are dropped."""
        if debug_lines_dropped(self.module):
            return value
        return copy.deepcopy(value, memo)


def logging_modules() -> list[Any]:
    """The Rasa modules whose every ``copy.*`` is an argument of ``structlogger.debug``."""
    import rasa.core.actions.forms
    import rasa.core.policies.memoization
    import rasa.core.policies.rule_policy
    import rasa.core.processor

    return [
        rasa.core.processor,
        rasa.core.policies.rule_policy,
        rasa.core.policies.memoization,
        rasa.core.actions.forms,
    ]


def install() -> None:
    """Give slots their copy method and the logging modules their log-argument copies."""
    from rasa.shared.core.slots import Slot

    if "__copy__" not in vars(Slot):
        Slot.__copy__ = slot_copy
    for module in logging_modules():
        if not isinstance(module.copy, LogArgumentCopy):
            module.copy = LogArgumentCopy(module)
