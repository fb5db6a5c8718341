"""The conversation suite prints a pass rate per group (it runs against the stack every folder shares)."""

from __future__ import annotations

from collections import defaultdict

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per transcript group: how many of its conversations held up."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            group = dict(getattr(report, "user_properties", [])).get("conversation_group")
            if group and report.when == "call":
                counts[group][0 if outcome == "passed" else 1] += 1
    if not counts:
        return
    terminalreporter.section("对话测试通过率 / conversation pass rate per group")
    for group, (passed, failed) in sorted(counts.items()):
        total = passed + failed
        terminalreporter.write_line(f"{group}: {passed}/{total} ({100 * passed / total:.0f}%)")
