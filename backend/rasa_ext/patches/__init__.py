"""Every change the stack makes to Rasa's own code: one list, a switch for each, a check of Rasa's version.

Rasa 3.6.21 is the last open-source release, so work it repeats on every
message is replaced here, in place (each module says what it replaces, why,
and what it measured). The launcher (:mod:`backend.rasa_ext.launcher`)
installs them into a Rasa server after the log masking, which needs none of
them: the setting ``RASA_PATCHES_OFF`` names the ones to leave out
(``payload_parse,several_problems``), or ``all`` for stock Rasa, still masked.

The patches replace methods whose code they were written against, so with
any other Rasa version the server refuses to start, naming the first patch
that is on, instead of running replacements of code that may have changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"  # the version every patch below was written and tested against
ALL = "all"  # in RASA_PATCHES_OFF: every patch left out


@dataclass(frozen=True)
class Patch:
    """One replacement inside Rasa: its name, what it does, and how it is put in place."""

    name: str
    what: str
    install: Callable[[], None]


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
    Patch("payload_parse", "button payloads unpacked without the NLU pipeline", _speedup("install_payload_parse")),
    Patch("several_problems", "each part of a message that tells several problems parsed too (problems in the parse)",
          _module("several_problems")),
    Patch("dialogue_states", "each policy's dialogue states worked out once per turn", _module("dialogue_states")),
    Patch("graph_runner", "the model's graph run in a fixed order instead of dask", _module("graph_runner")),
    Patch("copies", "slots and debug-log arguments no longer deep-copied", _module("copies")),
    Patch("rule_matching", "RulePolicy's rules prepared once", _module("rule_matching")),
    Patch("action_connections", "connections to the action server kept open", _module("connections")),
    Patch("typed_buttons", "typed words for a button read from the turn's tracker, not a query of their own",
          _module("typed_buttons")),
)  # fmt: skip


class WrongRasaVersion(SystemExit):
    """The installed Rasa is not the one the patches were written against: the server must not start."""


class UnknownPatch(SystemExit):
    """``RASA_PATCHES_OFF`` names a patch that does not exist: a typo must not leave a patch on unnoticed."""


def enabled(off: Iterable[str] = ()) -> list[Patch]:
    """The patches not named in ``off`` (``RASA_PATCHES_OFF``'s names; ``all`` leaves out every one).

    Raises:
        UnknownPatch: a name in ``off`` is not a patch.
    """
    names = {name.strip().lower() for name in off if name.strip()}
    if ALL in names:
        return []
    unknown = names - {p.name for p in PATCHES}
    if unknown:
        raise UnknownPatch(
            f"RASA_PATCHES_OFF names no such patch: {', '.join(sorted(unknown))}. "
            f"The patches are: {', '.join(p.name for p in PATCHES)} (or {ALL})."
        )
    return [p for p in PATCHES if p.name not in names]


def install(off: Iterable[str] = (), rasa_version: str | None = None) -> list[str]:
    """Install every patch not left out by ``off``, after checking Rasa's version; the names installed.

    Raises:
        WrongRasaVersion: a patch is on and Rasa is not :data:`RASA_VERSION`
            (the message names the patch and the setting).
        UnknownPatch: ``off`` names a patch that does not exist.
    """
    chosen = enabled(off)
    version = rasa_version if rasa_version is not None else metadata.version("rasa")
    if chosen and version != RASA_VERSION:
        first = chosen[0]
        raise WrongRasaVersion(
            f"Rasa {version} is installed, but the patch '{first.name}' ({first.what}) was written for Rasa "
            f"{RASA_VERSION}: install rasa=={RASA_VERSION} (make setup), or start without the patches "
            f"(RASA_PATCHES_OFF={ALL}, or RASA_PATCHES_OFF={first.name},… for each that is on)."
        )
    for patch in chosen:
        patch.install()
    if len(chosen) < len(PATCHES):
        logger.info("Rasa patches left out: %s", ", ".join(p.name for p in PATCHES if p not in chosen))
    return [p.name for p in chosen]
