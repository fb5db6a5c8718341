"""Measuring a model for the promotion rule: held-out split, real messages, conversation tests.

The rule (:mod:`backend.training.promotion`) compares two models measured in
the same run by :func:`measure`. The held-out split and the real messages go
through one loaded model (:func:`backend.evaluation.run`, the resident's
path: the model, then the triage); the conversation tests run in a Rasa
process of their own (:mod:`backend.training.stories`). The real messages
stay in memory: only their figures come out of here. Figures already measured
from the same model, inputs and code are read back
(:mod:`backend.training.score_cache`) instead of measured again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.realdev import FILE_NAME
from backend.training import promotion, score_cache, stories

logger = logging.getLogger(__name__)


def nlu(model: Path, *, realdev_dir: Path) -> dict[str, float]:
    """Held-out figures, and the real-message figures of both tiers when ``realdev_dir`` holds them."""
    from backend import realdev
    from backend.evaluation import heldout_examples, run, score

    heldout = heldout_examples()
    messages = realdev.load(realdev_dir) or []
    rows = run(model, heldout + [(m.text, m.category) for m in messages])
    scores = promotion.pick(score(rows[: len(heldout)]))
    if messages:
        real = rows[len(heldout) :]
        tiers = {"all": score(real)}
        both_sure = [row for row, message in zip(real, messages, strict=True) if message.tier == "both_sure"]
        if both_sure:
            tiers["both_sure"] = score(both_sure)
        scores.update(promotion.pick_realdev(tiers))
    return scores


def measure(
    model: Path,
    *,
    realdev_dir: Path,
    env: dict[str, str],
    label: str = "模型",
    say: Callable[[str, str], None] | None = None,
    on_line: Callable[[str], None] | None = None,
    stories_file: Path = stories.STORIES_FILE,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Every figure the rule looks at for ``model`` (what is stored with the model).

    Args:
        model: the model archive.
        realdev_dir: where ``realdev.jsonl`` is, if anywhere.
        env: the environment for ``rasa test``.
        label: how the progress lines call it (新模型, 正在使用的模型).
        say: ``(stage, line)`` progress for the person watching.
        on_line: Rasa's output line by line (the job's heartbeat).
        stories_file: the conversation tests.
        cache_dir: where figures are kept by what they were measured from; None: always measure.

    Raises:
        stories.StoryTestError: the conversation tests did not run to the end.
    """

    def now() -> dict[str, Any]:
        return _measured(model, realdev_dir, env, label, say, on_line, stories_file)

    if cache_dir is None:
        return now()
    from backend.evaluation import HELDOUT_DIR

    inputs = [*sorted(HELDOUT_DIR.glob("*.yml")), realdev_dir / FILE_NAME, stories_file]
    digest = score_cache.key(model, inputs=inputs, patches_off=env.get("RASA_PATCHES_OFF", ""))
    with score_cache.one_at_a_time(cache_dir, digest):  # the same model measured elsewhere meanwhile: read, not redone
        kept = score_cache.read(cache_dir, digest)
        if kept is not None:
            if say:
                say("评估", f"{label} {_name(model)} 已在同样的代码和测试数据上评估过，直接用那次的结果")
            return kept
        scores = now()
        score_cache.write(cache_dir, digest, scores)
    return scores


def _measured(
    model: Path,
    realdev_dir: Path,
    env: dict[str, str],
    label: str,
    say: Callable[[str, str], None] | None,
    on_line: Callable[[str], None] | None,
    stories_file: Path,
) -> dict[str, Any]:
    """:func:`measure`'s figures, measured now."""
    name = _name(model)
    if say:
        where = "留出集和真实留言" if (realdev_dir / FILE_NAME).is_file() else "留出集"
        say("评估", f"在{where}上评估{label} {name}")
    scores: dict[str, Any] = dict(nlu(model, realdev_dir=realdev_dir))
    if say:
        say("对话测试", f"用 rasa test 跑对话测试：{label} {name}（约 1 分钟）")
    scores.update(stories.run(model, env=env, stories=stories_file, on_line=on_line).scores())
    return scores


def _name(model: Path) -> str:
    """The model's name, as the console and the progress lines show it."""
    return model.name.removesuffix(".tar.gz")
