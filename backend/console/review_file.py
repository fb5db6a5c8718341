"""The review file: examples the console's review queue accepted, as Rasa NLU training data.

``REVIEW_NLU_FILE`` (``data/nlu/review.yml``) is the only file written; the
hand-written files beside it are only read, to leave out an example they
already have. An example is compared by its normalised text (width, case,
spaces and punctuation ignored, entity annotations removed) against the
review file and every NLU file in the folder. The file is rewritten whole
from a temporary file in the same folder and renamed over the old one, so
Rasa never reads half a file; a lock on the folder keeps two labellers from
writing at once. It refuses to touch a file it did not write itself (the
first line is :data:`MARKER`).

Texts arrive masked (138****5678): the training data is shared and
committed, so it must never hold a resident's phone or ID number, and the
masked shape still teaches the classifier that a number was there.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import yaml

from backend.nlu_data import plain, read_examples

MARKER = "# 由工作台“待标注”写入 / written by the console's review queue; edit with care"
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class ReviewFileError(Exception):
    """The review file cannot be written (it is someone else's, or it is not valid)."""


def normalise(text: str) -> str:
    """The text as the duplicate check compares it."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", plain(text)).lower())


def clean(text: str) -> str:
    """One line of example text that Rasa reads back exactly as the resident wrote it.

    Line breaks become spaces (an example is one line); square brackets become
    full-width ones, since ``[..](..)`` would be read as an entity annotation.
    """
    text = _CONTROL.sub(" ", text).replace("[", "［").replace("]", "］")
    return " ".join(text.split())


def _nlu_files(folder: Path, review: Path) -> Iterable[Path]:
    for path in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")):
        if path.resolve() != review.resolve():
            yield path


def _read_review(review: Path) -> dict[str, list[str]]:
    if not review.exists():
        return {}
    text = review.read_text(encoding="utf-8")
    if not text.startswith(MARKER):
        raise ReviewFileError(f"{review} 不是工作台写的文件，不会改动它。请把 REVIEW_NLU_FILE 指向一个新文件。")
    return read_examples([review])


def known(review: Path, nlu_folder: Path) -> set[str]:
    """Normalised texts of every example in the NLU folder and in the review file."""
    seen: set[str] = set()
    for examples in read_examples(_nlu_files(nlu_folder, review)).values():
        seen.update(normalise(e) for e in examples)
    for examples in _read_review(review).values():
        seen.update(normalise(e) for e in examples)
    return seen


def render(examples: dict[str, list[str]]) -> str:
    """The review file's text: Rasa 3 NLU YAML, intents in name order."""
    lines = [MARKER, 'version: "3.1"', "nlu:"]
    for intent in sorted(examples):
        if not examples[intent]:
            continue
        lines += [f"  - intent: {intent}", "    examples: |"]
        lines += [f"      - {example}" for example in examples[intent]]
    return "\n".join(lines) + "\n"


def add_example(*, review: Path, nlu_folder: Path, intent: str, text: str) -> bool:
    """Add one example to the review file; False when it (or its normalised text) is already known.

    Raises:
        ReviewFileError: the review file is not the console's, or the text is empty.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", intent):
        raise ReviewFileError(f"意图名不对：{intent!r}")
    example = clean(text)
    if not normalise(example):
        raise ReviewFileError("这条消息没有可以学的文字。")
    review.parent.mkdir(parents=True, exist_ok=True)
    folder_fd = os.open(review.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder_fd, fcntl.LOCK_EX)
        if normalise(example) in known(review, nlu_folder):
            return False
        examples = _read_review(review)
        examples.setdefault(intent, []).append(example)
        content = render(examples)
        yaml.safe_load(content)  # never write a file YAML cannot read
        handle, temporary = tempfile.mkstemp(dir=review.parent, prefix=".review-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, review)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True
    finally:
        fcntl.flock(folder_fd, fcntl.LOCK_UN)
        os.close(folder_fd)
