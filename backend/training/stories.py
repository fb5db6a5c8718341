"""The conversation tests as the promotion rule sees them: which stories a model passes.

``make conversation-tests`` runs ``rasa test core --e2e`` on
``tests/test_stories.yml`` and fails on the first wrong prediction. The
promotion rule needs more than pass or fail: which stories each model
passes, so that a candidate that breaks a conversation the serving model
holds (answering a repeated greeting, say) is refused by name. :func:`run`
runs the same command the same way (``python -m backend rasa``, the
project's environment and speedups), without stopping at the first error
and with the successful stories written too, and :func:`read` turns Rasa's
two story files into a :class:`StoryResults`.

A story fails when any prediction in it is wrong: an intent, an entity or
an action (what ``--fail-on-prediction-errors`` fails on). Rasa's action
server is not needed: the test predicts actions without running them.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backend.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

STORIES_FILE = PROJECT_ROOT / "tests" / "test_stories.yml"
FAILED_FILE = "failed_test_stories.yml"
SUCCESSFUL_FILE = "successful_test_stories.yml"
TIMEOUT_SECONDS = 1200
ACTION_LISTEN = "action_listen"

_STORY_START = re.compile(r"^- story:")
_STEP = re.compile(r"^\s*- (action|intent): (\S+)(?:\s+# predicted: (.*))?$")
_SOURCE = re.compile(r" \([^()]*\.ya?ml\)$")  # Rasa appends " (<stories file>)" to every name


class StoryTestError(RuntimeError):
    """``rasa test core`` did not finish (its output's tail is in ``output``)."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class StoryResults:
    """What one model did on the test stories.

    Attributes:
        passed: names of the stories without a wrong prediction.
        failed: name → the wrong predictions in it (``"动作 utter_x 预测成了 action_listen"``).
        actions_correct / actions_total: the bot's actions in the stories predicted right.
        intents_correct / intents_total: the residents' messages whose intent was recognised.
    """

    passed: tuple[str, ...]
    failed: dict[str, list[str]] = field(default_factory=dict)
    actions_correct: int = 0
    actions_total: int = 0
    intents_correct: int = 0
    intents_total: int = 0

    def scores(self) -> dict[str, Any]:
        """The figures kept with the model (names of failed stories with their wrong predictions)."""
        total = len(self.passed) + len(self.failed)
        return {
            "stories_passed": float(len(self.passed)),
            "stories_total": float(total),
            "story_pass_rate": round(len(self.passed) / total, 3) if total else 0.0,
            "actions_correct": float(self.actions_correct),
            "actions_total": float(self.actions_total),
            "intents_correct": float(self.intents_correct),
            "intents_total": float(self.intents_total),
            "stories_failed": {name: list(mistakes) for name, mistakes in self.failed.items()},
        }


def _mistake(kind: str, expected: str, predicted: str) -> str:
    """A wrong prediction in words (the resident's text that Rasa appends to an intent is left out)."""
    guess = predicted.split(":", 1)[0].strip() or "（无）"
    if kind == "intent":
        return f"意图 {expected} 识别成了 {guess}"
    if expected == ACTION_LISTEN:
        return f"该等用户说话时做了 {guess}"
    return f"动作 {expected} 预测成了 {guess}"


def _stories(path: Path) -> list[tuple[str, list[str]]]:
    """(name, lines) of each story Rasa wrote to ``path`` (none when the file says there are none)."""
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    names = [str(story.get("story", "")) for story in (data.get("stories") or []) if isinstance(story, dict)]
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if _STORY_START.match(line):
            blocks.append([])
        elif blocks:
            blocks[-1].append(line)
    if len(names) != len(blocks):
        raise StoryTestError(f"读不懂 rasa test 写出的 {path.name}（{len(names)} 个故事名，{len(blocks)} 段）")
    return [(_SOURCE.sub("", name), block) for name, block in zip(names, blocks, strict=True)]


def read(out_dir: Path) -> StoryResults:
    """The results ``rasa test core --successes`` wrote to ``out_dir``."""
    counts = {"action": [0, 0], "intent": [0, 0]}  # kind → [right, total]
    passed: list[str] = []
    failed: dict[str, list[str]] = {}
    for file_name in (SUCCESSFUL_FILE, FAILED_FILE):
        for name, lines in _stories(out_dir / file_name):
            mistakes = []
            for line in lines:
                match = _STEP.match(line)
                if match is None:
                    continue
                kind, expected, predicted = match.groups()
                if predicted is not None:
                    mistakes.append(_mistake(kind, expected, predicted))
                if kind == "action" and expected == ACTION_LISTEN:
                    continue  # listening is written only where it was predicted wrong
                counts[kind][1] += 1
                counts[kind][0] += predicted is None
            if mistakes or file_name == FAILED_FILE:
                failed[name] = mistakes
            else:
                passed.append(name)
    return StoryResults(
        passed=tuple(passed),
        failed=failed,
        actions_correct=counts["action"][0],
        actions_total=counts["action"][1],
        intents_correct=counts["intent"][0],
        intents_total=counts["intent"][1],
    )


def run(
    model: Path,
    *,
    env: dict[str, str],
    stories: Path = STORIES_FILE,
    on_line: Callable[[str], None] | None = None,
) -> StoryResults:
    """Run ``rasa test core --e2e`` on ``stories`` with ``model``, as ``make conversation-tests`` does.

    Args:
        model: the model archive.
        env: the environment (``Settings.rasa_environment()`` over ``os.environ``).
        stories: the test stories.
        on_line: gets Rasa's output line by line (the training job's heartbeat).

    Raises:
        StoryTestError: the test did not run to the end.
    """
    with tempfile.TemporaryDirectory(prefix="santong-stories-") as out:
        argv = [
            sys.executable, "-m", "backend", "rasa", "test", "core", "--e2e",
            "--stories", str(stories.resolve()), "--model", str(model.resolve()),
            "--out", out, "--successes", "--no-plot",
        ]  # fmt: skip
        tail: list[str] = []
        with subprocess.Popen(
            argv, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace",
        ) as proc:  # fmt: skip
            assert proc.stdout is not None
            for line in proc.stdout:
                tail = [*tail[-29:], line.rstrip()]
                if on_line is not None:
                    on_line(line.rstrip())
            try:
                proc.wait(timeout=TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
        if proc.returncode != 0:
            raise StoryTestError(f"rasa test core 没有跑完（退出码 {proc.returncode}）", "\n".join(tail))
        results = read(Path(out))
    logger.info("stories of %s: %d passed, %d failed", model.name, len(results.passed), len(results.failed))
    return results
