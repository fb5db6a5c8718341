"""Every change the stack makes to Rasa's own code: one list, a switch for each, a check of Rasa's version.

Rasa 3.6.21 is the last open-source release, so work it repeats on every
message is replaced here, in place (each module says what it replaces, why,
and what it measured). The launcher (:mod:`backend.rasa_ext.launcher`)
installs them into a Rasa server after the log masking, which needs none of
them: ``SANTONG_RASA_PATCHES=off`` runs stock Rasa, still masked, and
``SANTONG_PATCH_<NAME>=off`` turns one off (``SANTONG_PATCH_TED_CACHE=off``).

The patches replace methods whose code they were written against, so with
any other Rasa version the server refuses to start, naming the first patch
that is on, instead of running replacements of code that may have changed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"  # the version every patch below was written and tested against
ALL_SWITCH = "SANTONG_RASA_PATCHES"
_OFF = {"0", "off", "false", "no"}


@dataclass(frozen=True)
class Patch:
    """One replacement inside Rasa: its name, what it does, and how it is put in place."""

    name: str
    what: str
    install: Callable[[], None]

    @property
    def switch(self) -> str:
        """The environment variable that turns this patch off (``…=off``)."""
        return f"SANTONG_PATCH_{self.name.upper()}"


def _serving_imports() -> None:
    from backend.rasa_ext.patches import serving_imports

    serving_imports.install()


def _speedup(name: str) -> Callable[[], None]:
    def install() -> None:
        from backend.rasa_ext.patches import speedups

        getattr(speedups, name)()

    return install


def _module(name: str) -> Callable[[], None]:
    def install() -> None:
        from importlib import import_module

        import_module(f"backend.rasa_ext.patches.{name}").install()

    return install


# In installation order: JAX must be kept out before anything imports TensorFlow.
PATCHES: tuple[Patch, ...] = (
    Patch("serving_imports", "JAX, which serving never uses, kept out of memory", _serving_imports),
    Patch("action_result_check", "the action server's answers checked by a validator built once",
          _speedup("install_action_result_check")),
    Patch("event_lookup", "event classes found by name in a table", _speedup("install_event_lookup")),
    Patch("ted_cache", "TED's predictions kept per dialogue states", _speedup("install_ted_cache")),
    Patch("payload_parse", "button payloads unpacked without the NLU pipeline", _speedup("install_payload_parse")),
    Patch("several_problems", "each part of a message that tells several problems parsed too (problems in the parse)",
          _module("several_problems")),
    Patch("classifier_weights", "the logistic regression's weights in Fortran order",
          _speedup("install_classifier_weights")),
    Patch("dialogue_states", "each policy's dialogue states worked out once per turn", _module("dialogue_states")),
    Patch("graph_runner", "the model's graph run in a fixed order instead of dask", _module("graph_runner")),
    Patch("copies", "slots and debug-log arguments no longer deep-copied", _module("copies")),
    Patch("rule_matching", "RulePolicy's rules prepared once", _module("rule_matching")),
    Patch("action_connections", "connections to the action server kept open", _module("connections")),
)  # fmt: skip


class WrongRasaVersion(SystemExit):
    """The installed Rasa is not the one the patches were written against: the server must not start."""


def enabled(environ: Mapping[str, str] | None = None) -> list[Patch]:
    """The patches not switched off in ``environ`` (the process environment by default)."""
    env = os.environ if environ is None else environ
    if env.get(ALL_SWITCH, "").strip().lower() in _OFF:
        return []
    return [p for p in PATCHES if env.get(p.switch, "").strip().lower() not in _OFF]


def install(environ: Mapping[str, str] | None = None, rasa_version: str | None = None) -> list[str]:
    """Install every enabled patch, after checking Rasa's version; the names installed.

    Raises:
        WrongRasaVersion: a patch is on and Rasa is not :data:`RASA_VERSION`
            (the message names the patch and the switches).
    """
    chosen = enabled(environ)
    version = rasa_version if rasa_version is not None else metadata.version("rasa")
    if chosen and version != RASA_VERSION:
        first = chosen[0]
        raise WrongRasaVersion(
            f"Rasa {version} is installed, but the patch '{first.name}' ({first.what}) was written for Rasa "
            f"{RASA_VERSION}: install rasa=={RASA_VERSION} (make setup), or start without the patches "
            f"({ALL_SWITCH}=off, or {first.switch}=off and the same for the others)."
        )
    for patch in chosen:
        patch.install()
    if len(chosen) < len(PATCHES):
        logger.info("Rasa patches switched off: %s", ", ".join(p.name for p in PATCHES if p not in chosen))
    return [p.name for p in chosen]
