"""Residents' data at rest stays readable by the stack's own user only (0600 files, 0700 folders).

The SQLite databases (and their ``-wal``/``-shm``/``-journal`` files),
uploaded photos, logs, review files and ``var/secrets.env`` hold phone
numbers, ID numbers and the tokens that open every tracker. Every entry
point (:mod:`backend.cli`, :mod:`backend.rasa_ext.launcher`,
``scripts/with-env.sh``) sets the process umask to 077 with
:func:`restrict_umask`, so whatever a process creates — SQLite's own
journal files, a log file, Rasa's tracker database — is created owner-only.
Files written on purpose (photos, secrets) are opened with mode 0600 as
well, so they are private even in a process that skipped the entry points.

A ``var/`` made by an older version, with world-readable files, is
tightened by :func:`tighten`, which ``secrets init`` and ``db upgrade``
run (both are part of every ``make run`` and ``make test``). The top of the
var folder keeps the execute bit for others (0711: no listing, no reading)
because ``var/test-services/`` — left alone here — holds the test
PostgreSQL, whose server runs as its own user and must reach it.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from backend.settings import Settings

logger = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
FOLDER_MODE = 0o700
VAR_TOP_MODE = 0o711  # others may pass through (to var/test-services), never list or read
SKIPPED = frozenset({"test-services"})  # its own permissions: scripts/test-services.sh sets them
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def restrict_umask() -> None:
    """Make everything this process (and its children) creates owner-only from now on."""
    os.umask(PRIVATE_UMASK)


def make_private_folder(path: Path) -> None:
    """Create ``path`` and any missing parents with mode 0700 (an existing folder is left as it is)."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=FOLDER_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process
        folder.chmod(FOLDER_MODE)  # mkdir's mode passes through the umask; the result must not


def write_private_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, which is created 0600 (never readable by others, not even for a moment)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "wb") as out:
        os.fchmod(out.fileno(), FILE_MODE)
        out.write(data)


def append_private_text(path: Path, text: str) -> None:
    """Append ``text`` to ``path``, created 0600 if missing; an existing file becomes 0600 too."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    with os.fdopen(descriptor, "a", encoding="utf-8") as out:
        os.fchmod(out.fileno(), FILE_MODE)
        out.write(text)


def create_private_file(path: Path) -> None:
    """Create an empty ``path`` with mode 0600 if it does not exist (SQLite then uses it as a new database)."""
    make_private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


def _narrow(path: Path, info: os.stat_result, top_mode: int | None = None) -> bool:
    """Give ``path`` ``top_mode``, or its mode without the group's and others' bits; whether it changed."""
    wanted = top_mode if top_mode is not None else stat.S_IMODE(info.st_mode) & 0o700
    if stat.S_IMODE(info.st_mode) == wanted:
        return False
    path.chmod(wanted)
    return True


def tighten(root: Path, *, top_mode: int | None = VAR_TOP_MODE) -> int:
    """Take the group's and others' permissions off everything under ``root``; how many entries changed.

    Symbolic links are not followed and ``test-services`` folders are left
    alone. ``root`` itself gets ``top_mode`` (``None``: owner-only like the rest).
    """
    if not root.is_dir() or root.is_symlink():
        return 0
    changed = 0
    try:
        changed += _narrow(root, root.stat(), top_mode)
    except OSError as exc:
        logger.warning("cannot restrict %s: %s", root, exc.strerror)
    for folder, folders, files in os.walk(root):
        folders[:] = [name for name in folders if name not in SKIPPED]
        for name in [*folders, *files]:
            path = Path(folder) / name
            try:
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    continue
                changed += _narrow(path, info)
            except OSError as exc:
                logger.warning("cannot restrict %s: %s", path, exc.strerror)
    return changed


def tighten_files(paths: Iterable[Path]) -> int:
    """Owner-only permissions on each existing file or folder tree in ``paths``; how many changed."""
    changed = 0
    for path in paths:
        if path.is_symlink() or not path.exists():
            continue
        if path.is_dir():
            changed += tighten(path, top_mode=None)
        else:
            changed += _narrow(path, path.stat())
    return changed


def sqlite_files(database_url: str) -> list[Path]:
    """The files of a SQLite database URL (the database and its journals); none for other databases."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return []
    return [Path(url.database + suffix) for suffix in SQLITE_COMPANIONS]


def tighten_state(settings: Settings) -> int:
    """Tighten the var folder and every private file the settings name; how many entries changed.

    The SQLite databases may live outside the var folder (``DATABASE_URL``,
    ``TRACKER_STORE_URL``), and so may the uploads and the review file:
    each is made owner-only where it is, without touching its folder.
    """
    changed = tighten(settings.var_dir)
    changed += tighten_files(
        [
            *sqlite_files(settings.database_url),
            *sqlite_files(settings.tracker_store_url),
            settings.upload_dir,
            settings.review_nlu_file,
        ]
    )
    if changed:
        logger.info("restricted %d files and folders to their owner", changed)
    return changed
