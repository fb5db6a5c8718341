"""Real citizen messages for development evaluation, read from outside the repository.

``../shared/realdev/realdev.jsonl`` (beside the project folder, or wherever
``REALDEV_DIR`` points) holds real messages with agreed labels. Its licence
allows evaluation only: the project reads it when it is there, skips it when
it is not, and never copies a text into its own files. :func:`leaked_runs`
is the check for that last rule (``tests/backend/test_realdev_not_copied.py``).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from backend.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

FILE_NAME = "realdev.jsonl"
RUN = 12
# A run must carry this many Chinese characters to count: a masked number (a
# row of stars) or a URL shared by chance is not a copied text.
MIN_HAN_IN_RUN = 6
_HAN = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class RealMessage:
    """One labelled real message."""

    text: str
    category: str
    matter: str
    tier: str


def load(directory: Path) -> list[RealMessage] | None:
    """The messages of ``directory/realdev.jsonl``, or ``None`` when it is not there."""
    path = directory / FILE_NAME
    if not path.is_file():
        return None
    messages = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            messages.append(RealMessage(row["text"], row["category"], row["matter"], row.get("tier", "agreed")))
    return messages


def runs(text: str, size: int = RUN) -> Iterator[str]:
    """Every ``size``-character run of ``text`` with enough Chinese in it to be recognisable."""
    for i in range(len(text) - size + 1):
        piece = text[i : i + size]
        if len(_HAN.findall(piece)) >= MIN_HAN_IN_RUN:
            yield piece


def tracked_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """The files git tracks in ``root``, plus the untracked ones it would add (not ignored)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout
    return [root / name for name in out.decode().split("\0") if name and (root / name).is_file()]


def leaked_runs(texts: Iterable[str], files: Iterable[Path], size: int = RUN) -> list[tuple[Path, str]]:
    """(file, run) for each file that contains a ``size``-character run of one of ``texts``.

    Whitespace is ignored on both sides, so re-wrapping a copied text does not hide it.
    """
    forbidden = {piece for text in texts for piece in runs("".join(text.split()), size)}
    found = []
    for path in files:
        try:
            content = "".join(path.read_text(encoding="utf-8").split())
        except (UnicodeDecodeError, OSError):
            continue  # binary files (pictures, models) cannot hold a copied text
        for i in range(len(content) - size + 1):
            piece = content[i : i + size]
            if piece in forbidden:
                found.append((path, piece))
                break
    return found
