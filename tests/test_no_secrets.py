"""No secret is committed: every tracked file is searched for the shapes secrets take.

Local secrets live in ``var/secrets.env`` (generated, ignored) and ``.env``
(ignored); production sets its own. ``.env.example`` lists every variable
with secrets left empty.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from backend.settings import PROJECT_ROOT
from backend.settings_variables import VARIABLES

SHAPES = {
    "Telegram bot token": re.compile(r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
}
SECRET_NAMES = [v.name for v in VARIABLES if v.secret]


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [line for line in out.splitlines() if line]


def test_no_tracked_file_holds_a_secret():
    files = tracked_files()
    assert not {".env", "var/secrets.env"} & set(files)
    assigned = re.compile(rf"^\s*(?:export\s+)?({'|'.join(SECRET_NAMES)})=(\S+)", re.MULTILINE)
    found = []
    for name in files:
        path = PROJECT_ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        found += [f"{name}: {what}" for what, shape in SHAPES.items() if shape.search(text)]
        found += [f"{name}: {m.group(1)} has a value" for m in assigned.finditer(text)]
    assert not found, found


def test_the_shapes_find_what_they_look_for():
    assert SHAPES["Telegram bot token"].search("TELEGRAM_BOT_TOKEN=123456789:AAH" + "x" * 32)
    assert SHAPES["private key"].search("-----BEGIN RSA " + "PRIVATE KEY-----")  # split: this file is scanned too
