"""The ticket lifecycle as an explicit state machine.

submitted 已受理 → assigned 已派单 → in_progress 处理中 → resolved 已办结 → closed 已评价,
with escalated 已升级 and reopened 重新办理 along the way, and guidance 仅提供指引 for
private matters that need no work order. Anything else is refused with a
message a person can read.
"""

from __future__ import annotations

from backend.errors import DomainError

STATUS_NAMES: dict[str, str] = {
    "submitted": "已受理",
    "assigned": "已派单",
    "in_progress": "处理中",
    "escalated": "已升级",
    "resolved": "已办结",
    "reopened": "重新办理",
    "closed": "已评价",
    "guidance": "仅提供指引",
}

TRANSITIONS: dict[str, frozenset[str]] = {
    "submitted": frozenset({"assigned", "escalated", "in_progress", "guidance"}),
    "assigned": frozenset({"in_progress", "escalated", "resolved"}),
    "in_progress": frozenset({"resolved", "escalated"}),
    "escalated": frozenset({"assigned", "in_progress", "resolved", "escalated"}),
    "resolved": frozenset({"closed", "reopened"}),
    "reopened": frozenset({"assigned", "in_progress", "escalated", "resolved"}),
    "guidance": frozenset({"closed"}),
    "closed": frozenset(),
}

OPEN_STATUSES = frozenset({"submitted", "assigned", "in_progress", "escalated", "reopened"})


class InvalidTransition(DomainError):
    """A status change the lifecycle does not allow."""


def check_transition(current: str, target: str) -> None:
    """Raise :class:`InvalidTransition` unless ``current → target`` is allowed."""
    if current not in TRANSITIONS or target not in STATUS_NAMES:
        raise InvalidTransition(f"未知的工单状态：{current} → {target}")
    if target not in TRANSITIONS[current]:
        allowed = "、".join(STATUS_NAMES[s] for s in sorted(TRANSITIONS[current])) or "无（已结束）"
        raise InvalidTransition(
            f"工单当前是“{STATUS_NAMES[current]}”，不能改为“{STATUS_NAMES[target]}”；可以改为：{allowed}。"
        )
