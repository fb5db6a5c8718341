"""A model's promotion figures, kept by what they were measured from, so the same measurement never runs twice.

Measuring a model (:func:`backend.training.scoring.measure`) loads it, runs
the held-out split and the real messages through it, and runs ``rasa test``
in a process of its own: a minute or more. The figures depend only on the
model archive, the test inputs (held-out split, real messages, conversation
tests), the code that reads them, the Rasa version and the patches switched
off, so they are kept under a digest of all of these. A retrain then measures
the serving model only when one of them changed, not on every run. Only
figures are kept, never a real message (they hold none).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from backend.model_store import source_files
from backend.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

FORMAT = "1"  # bump when what the figures mean changes without any input above changing
CODE_FOLDERS = ("backend", "actions", "config", "domain")  # what the evaluation and `rasa test` read besides the model
CHUNK = 1 << 20


def _feed(digest: Any, label: str, path: Path) -> None:
    """Add one file to ``digest``: its label, then its bytes (a missing file counts as missing, not as empty)."""
    digest.update(f"\0{label}\0".encode())
    if not path.is_file():
        digest.update(b"<missing>")
        return
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)


def key(model: Path, *, inputs: Iterable[Path], patches_off: str = "", root: Path = PROJECT_ROOT) -> str:
    """The digest of everything ``model``'s figures are measured from.

    Args:
        model: the model archive.
        inputs: the test inputs read besides the code (held-out files, the real messages, the stories).
        patches_off: the Rasa patches ``rasa test`` runs without (``RASA_PATCHES_OFF`` of its environment).
        root: the project whose code does the measuring.
    """
    digest = hashlib.sha256(f"score-cache {FORMAT}".encode())
    digest.update(f"\0rasa {metadata.version('rasa')}\0patches off {patches_off}".encode())
    _feed(digest, "model", model)
    for path in inputs:
        _feed(digest, f"input {path.name}", path)
    for path in source_files(CODE_FOLDERS, root):
        _feed(digest, str(path.relative_to(root)), path)
    return digest.hexdigest()


def read(cache_dir: Path, digest: str) -> dict[str, Any] | None:
    """The figures kept under ``digest``, or None (never measured, or a file that cannot be read)."""
    path = cache_dir / f"{digest}.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        logger.warning("unreadable kept figures %s (%s): measured again", path, exc)
        return None


def write(cache_dir: Path, digest: str, scores: dict[str, Any]) -> None:
    """Keep ``scores`` under ``digest`` (written whole or not at all: two runs may write the same one)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    final = cache_dir / f"{digest}.json"
    partial = cache_dir / f".{digest}.{os.getpid()}.tmp"
    partial.write_text(json.dumps(scores, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    os.replace(partial, final)


@contextmanager
def one_at_a_time(cache_dir: Path, digest: str) -> Iterator[None]:
    """Hold the lock of one measurement: a second process measuring the same thing waits, then reads its figures."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f".{digest}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
