"""Keep a long-running server's loaded objects out of Python's full garbage collections.

CPython's cyclic collector occasionally runs a full (oldest-generation)
collection, which walks every object tracked since the process started. A
Rasa server holds several million of them once its model is loaded
(TensorFlow, spaCy, the policies), so each full collection stopped the
server's event loop for about half a second, and every message waiting on
that server waited that long too (measured in docs/benchmark.md).

Those objects live as long as the process, or as long as the model. After
start-up (and after each model load) :func:`freeze` collects once and moves
everything then alive into the permanent generation (``gc.freeze``), which
later collections skip. Objects made afterwards are collected as before, and
frozen objects are still freed when their reference count drops to zero;
only reference cycles among them wait, which is why a model load first
unfreezes (:func:`install_for_rasa`): the previous model's cycles become
collectable again once the new agent has replaced it.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from typing import Any

logger = logging.getLogger(__name__)

# After a model load Rasa's ``PUT /model`` swaps the agent in the same step;
# messages still being handled by the old agent hold it a little longer.
FREEZE_DELAY_SECONDS = 5.0


def freeze() -> int:
    """Collect what is already garbage, then exclude every surviving object from later collections.

    Returns how many objects are now frozen.
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.debug("froze %d objects out of later garbage collections", frozen)
    return frozen


def freeze_soon(delay: float = FREEZE_DELAY_SECONDS) -> None:
    """:func:`freeze` ``delay`` seconds from now on the running event loop, or now when none runs."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        freeze()
        return
    loop.call_later(delay, freeze)


def _then_freeze(original: Any) -> Any:
    """``original`` (a method that loads what the process will serve), unfreezing before and freezing after."""
    if getattr(original, "__wrapped_for_gc__", False):
        return original

    @functools.wraps(original)
    def loading(self: Any, *args: Any, **kwargs: Any) -> Any:
        gc.unfreeze()  # a model being replaced becomes collectable once the new agent is swapped in
        result = original(self, *args, **kwargs)
        freeze_soon()
        return result

    loading.__wrapped_for_gc__ = True  # type: ignore[attr-defined]
    return loading


def install_for_rasa() -> None:
    """Freeze the objects of every model a Rasa server loads (at start and on ``PUT /model``)."""
    from rasa.core.agent import Agent

    Agent.load_model = _then_freeze(Agent.load_model)


def install_for_action_server() -> None:
    """Freeze once the action server has imported and registered its actions (before it serves)."""
    from rasa_sdk.executor import ActionExecutor

    ActionExecutor.register_package = _then_freeze(ActionExecutor.register_package)
