"""The promotion rule: a candidate serves only if it is not worse than the serving model.

Both models are measured on the same inputs with the same code
(:mod:`backend.training.scoring`), so the comparison is fair even after a
test set grew, on three things a resident feels:

1. the held-out split (:func:`backend.evaluation.run`);
2. the real citizen messages of ``REALDEV_DIR`` when they are there
   (:mod:`backend.realdev`): category and matter accuracy of both tiers.
   Only these figures enter the rule and the stored scores, never a text;
3. the conversation tests, ``tests/test_stories.yml`` run by ``rasa test``
   (:mod:`backend.training.stories`).

"Not worse" means: on every accuracy figure the candidate is at most
:data:`TOLERANCE` behind (the one-or-two-message wobble of retraining; more
is a real loss), and it fails no story the serving model passes (a story is
a conversation a resident has, so one that breaks is never wobble). The
rule, each figure old → new and what got worse are kept with the model and
shown in the console and the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (key in backend.evaluation.score(), 中文名): the held-out split.
HELDOUT_METRICS: tuple[tuple[str, str], ...] = (
    ("category_macro_f1", "类别宏平均 F1"),
    ("matter_accuracy", "事项类型准确率"),
    ("answered_accuracy", "直接回答的准确率"),
    ("other_intent_accuracy", "对话意图准确率"),
)
# The real messages: (tier in backend.realdev, 中文名), each scored on category and matter accuracy.
REALDEV_TIERS: tuple[tuple[str, str], ...] = (("both_sure", "两位标注人都确定的"), ("all", "全部"))
REALDEV_METRICS: tuple[tuple[str, str], ...] = tuple(
    (f"realdev_{tier}_{key}", f"真实留言（{label}）{name}")
    for tier, label in REALDEV_TIERS
    for key, name in (("category_accuracy", "类别准确率"), ("matter_accuracy", "事项类型准确率"))
)
# Every accuracy figure the tolerance applies to.
GATED_METRICS = HELDOUT_METRICS + REALDEV_METRICS
# The columns of the console's model history.
METRICS: tuple[tuple[str, str], ...] = (*GATED_METRICS, ("story_pass_rate", "对话测试通过率"))
TOLERANCE = 0.005
STORIES_NAME = "对话测试"
RULE = (
    f"规则：留出集的{'、'.join(name for _, name in HELDOUT_METRICS)}，"
    f"以及有真实留言时两档留言的类别和事项类型准确率，每一项都不比正在使用的模型低超过 {TOLERANCE:.3f}；"
    f"{STORIES_NAME}里正在使用的模型通过的故事，新模型也都通过——才上线。"
)
SHOWN_MISTAKES = 3


@dataclass(frozen=True)
class Decision:
    """Whether to promote, and why in words with the numbers."""

    promote: bool
    text: str


def pick(metrics: dict[str, Any]) -> dict[str, float]:
    """The held-out metrics the rule looks at (plus the low-confidence rate, shown for information)."""
    keys = [key for key, _ in HELDOUT_METRICS] + ["low_confidence_rate", "examples"]
    return {key: float(metrics[key]) for key in keys if metrics.get(key) is not None}


def pick_realdev(tiers: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The real-message figures the rule looks at, from ``{tier: backend.evaluation.score(rows)}``.

    Only numbers: the accuracies and how many messages each tier had.
    """
    picked: dict[str, float] = {}
    for tier, _ in REALDEV_TIERS:
        metrics = tiers.get(tier)
        if not metrics or not metrics.get("request_examples"):
            continue
        for key in ("category_accuracy", "matter_accuracy"):
            picked[f"realdev_{tier}_{key}"] = float(metrics[key])
        picked[f"realdev_{tier}_examples"] = float(metrics["request_examples"])
    return picked


def _count(scores: dict[str, Any], right: str, total: str) -> str:
    return f"{scores.get(right, 0):.0f}/{scores.get(total, 0):.0f}"


def _stories(candidate: dict[str, Any], serving: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The lines about the conversation tests, and the stories that newly fail."""
    if "stories_failed" not in candidate or "stories_failed" not in serving:
        return [], []
    failed_now: dict[str, list[str]] = dict(candidate["stories_failed"] or {})
    failed_before = set(serving["stories_failed"] or {})
    broken = [name for name in failed_now if name not in failed_before]
    mark = "✗" if broken else "✓"
    lines = [
        f"{mark} {STORIES_NAME}通过的故事：{_count(serving, 'stories_passed', 'stories_total')} → "
        f"{_count(candidate, 'stories_passed', 'stories_total')}"
        f"（动作预测对的 {_count(serving, 'actions_correct', 'actions_total')} → "
        f"{_count(candidate, 'actions_correct', 'actions_total')}，"
        f"意图识别对的 {_count(serving, 'intents_correct', 'intents_total')} → "
        f"{_count(candidate, 'intents_correct', 'intents_total')}）"
    ]
    for name in broken:
        mistakes = failed_now[name][:SHOWN_MISTAKES]
        lines.append(f"    ✗ 新模型没通过「{name}」" + (f"：{'；'.join(mistakes)}" if mistakes else ""))
    fixed = sorted(failed_before - set(failed_now))
    if fixed:
        lines.append(f"    新模型通过了原来没通过的：{'、'.join(f'「{name}」' for name in fixed)}")
    return lines, broken


def decide(candidate: dict[str, Any], serving: dict[str, Any] | None) -> Decision:
    """Apply the rule to two sets of scores measured in the same run.

    A figure missing on either side (no real messages on this machine, an
    older record) is left out of the comparison rather than counted as worse.
    """
    if serving is None:
        return Decision(True, "还没有正在使用的模型，新模型直接上线。")
    lines, worse = [], []
    for key, name in GATED_METRICS:
        new, old = candidate.get(key), serving.get(key)
        if new is None or old is None:
            continue
        delta = new - old
        mark = "✗" if delta < -TOLERANCE else "✓"
        lines.append(f"{mark} {name}：{old:.3f} → {new:.3f}（{delta:+.3f}）")
        if delta < -TOLERANCE:
            worse.append(name)
    story_lines, broken = _stories(candidate, serving)
    lines.extend(story_lines)
    reasons = [f"{'、'.join(worse)}变差了"] if worse else []
    if broken:
        reasons.append(f"对话测试里新模型没通过{'、'.join(f'「{name}」' for name in broken)}")
    verdict = f"未上线：{'；'.join(reasons)}。" if reasons else "不比正在使用的差，上线。"
    return Decision(not reasons, "\n".join([RULE, *lines, verdict]))
