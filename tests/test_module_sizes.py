"""The layout stays easy to read: no module of the running code over 300 lines (issue 27).

Tests and migrations are left out: a test file holds many cases of one concept, and a
migration is a record of one change.
"""

from __future__ import annotations

from backend.settings import PROJECT_ROOT

LIMIT = 300
PACKAGES = ("backend", "actions", "bot", "bench")


def test_no_module_of_the_running_code_is_over_300_lines():
    long = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > LIMIT:
                long[str(path.relative_to(PROJECT_ROOT))] = lines
    assert long == {}
