"""The promotion rule: a candidate serves only if it is not worse than the serving model.

Both models are scored on the same held-out split in the same run
(:func:`backend.evaluation.run`), so the comparison is fair even after the
split grew. "Not worse" means: on every metric below, the candidate is at
most :data:`TOLERANCE` behind. The tolerance absorbs the one-or-two-message
wobble of retraining on a few hundred held-out messages; anything larger is
a real loss and keeps the serving model. The rule and the numbers are kept
with the model and shown in the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (key in backend.evaluation.score(), 中文名)
METRICS: tuple[tuple[str, str], ...] = (
    ("category_macro_f1", "类别 macro-F1"),
    ("matter_accuracy", "事项类型准确率"),
    ("answered_accuracy", "直接回答的准确率"),
    ("other_intent_accuracy", "对话意图准确率"),
)
TOLERANCE = 0.005
RULE = f"规则：每项指标（{'、'.join(name for _, name in METRICS)}）都不比正在使用的模型低超过 {TOLERANCE:.3f}，才上线。"


@dataclass(frozen=True)
class Decision:
    """Whether to promote, and why in words with the numbers."""

    promote: bool
    text: str


def pick(metrics: dict[str, Any]) -> dict[str, float]:
    """The metrics the rule looks at (plus the low-confidence rate, shown for information)."""
    keys = [key for key, _ in METRICS] + ["low_confidence_rate", "examples"]
    return {key: float(metrics[key]) for key in keys if metrics.get(key) is not None}


def decide(candidate: dict[str, float], serving: dict[str, float] | None) -> Decision:
    """Apply the rule to two sets of scores from the same held-out run."""
    if serving is None:
        return Decision(True, "还没有正在使用的模型，新模型直接上线。")
    lines, worse = [], []
    for key, name in METRICS:
        new, old = candidate.get(key), serving.get(key)
        if new is None or old is None:
            continue
        delta = new - old
        mark = "✗" if delta < -TOLERANCE else "✓"
        lines.append(f"{mark} {name}：{old:.3f} → {new:.3f}（{delta:+.3f}）")
        if delta < -TOLERANCE:
            worse.append(name)
    verdict = f"未上线：{'、'.join(worse)}变差了。" if worse else "不比正在使用的差，上线。"
    return Decision(not worse, "\n".join([RULE, *lines, verdict]))
