"""Chinese labels for every code staff may see: statuses, levels, ratings, intents, audit actions, timeline actors.

One place, so no page shows a raw code (``unsatisfied``, ``inform_phone``,
``review.view``). The features keep their own vocabularies (the lifecycle's
status names, the escalation levels, the 评单 scale, the category table),
and this module reads them from there and adds the labels no feature owns:
dialogue intents, audit actions and outcomes, roles, urgency, timeline
actors. A code with no label is shown as a neutral Chinese word, never as
itself; ``tests/backend/test_console_chinese.py`` checks that every intent
of the domain and every audit action has its label.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from backend.categories import default_table
from backend.console.senders import CHANNELS
from backend.models.accounts import ROLE_NAMES
from backend.models.review import REASONS, STATUSES
from backend.tickets.escalation import LEVEL_NAMES
from backend.tickets.lifecycle import STATUS_NAMES
from backend.tickets.ratings import RATINGS

logger = logging.getLogger(__name__)

URGENCY = {"normal": "一般", "urgent": "较急", "emergency": "紧急"}

# Dialogue intents that are not request categories (those are named by the category table).
INTENTS = {
    "affirm": "肯定（好的、是的）",
    "deny": "否定（不用、不是）",
    "cancel": "取消",
    "greet": "打招呼",
    "goodbye": "告别",
    "thanks": "道谢",
    "help": "问能做什么",
    "bot_challenge": "问是不是机器人",
    "ask_human": "要找人工",
    "emergency": "紧急求助",
    "out_of_scope": "与本服务无关",
    "nlu_fallback": "没听懂",
    "inform_phone": "告知电话",
    "forget_phone": "不要记住电话",
    "inform_place": "告知地点",
    "report_start": "要登记工单",
    "report_edit": "修改登记内容",
    "share_photo": "发照片",
    "ticket_status": "查工单进度",
    "rate_satisfaction": "评价工单",
    "grid_command": "网格员指令",
    "grid_note": "网格员写进展",
    "points_balance": "查积分",
    "points_history": "查积分明细",
    "points_rules": "问怎么挣积分",
    "points_catalogue": "问能兑换什么",
    "points_redeem": "兑换积分",
    "abuse": "骂人、发泄情绪",
    "other_language": "用外语说话",
}

OUTCOMES = {"ok": "成功", "failed": "未成功", "refused": "无权限，已拒绝"}

# Audit actions: what staff did (``ticket.resolve``), and, for a refusal, the permission they lacked.
AUDIT_ACTIONS = {
    "login": "登录",
    "logout": "退出登录",
    "csrf": "表单过期或来源不对",
    "account.unlock": "解除登录锁定",
    "ticket.dispatch": "派单",
    "ticket.progress": "写进展",
    "ticket.resolve": "办结",
    "ticket.escalate": "吹哨升级",
    "ticket.report-in": "职能部门报到",
    "ticket.department-resolve": "职能部门办结",
    "ticket.reopen": "重新办理",
    "ticket.publish": "发布公开摘要",
    "ticket.unpublish": "撤下公开摘要",
    "registry.building": "楼栋换网格",
    "registry.place": "道路换网格",
    "registry.member": "网格员换网格",
    "registry.department": "改部门分工",
    "registry.estate_aliases": "改小区别名",
    "registry.place_aliases": "改道路别名",
    "models.train": "训练模型",
    "models.rollback": "回退模型",
    "stats.export": "下载统计表",
    "conversations.view": "查看对话列表",
    "conversations.transcript": "查看一段对话",
    "conversations.export": "导出对话",
    "conversations.flag": "标记待标注",
    "review.view": "查看待标注",
    "review.label": "标注消息",
    "points.lookup": "查居民积分",
    "points.adjust": "调整积分",
    "points.volunteer": "记录志愿服务",
    "points.stock": "改库存",
    "points.item_add": "上架物品",
    "points.item_retire": "下架物品",
    "points.item_restore": "恢复上架",
    "points.ranking_export": "下载积分排行",
    # permissions, named in the audit trail when someone without them tried
    "console.home": "进入工作台",
    "tickets.view": "查看工单",
    "tickets.work": "办理工单",
    "tickets.dispatch": "派单",
    "tickets.report_in": "职能部门报到",
    "tickets.publish": "公开摘要",
    "registry.view": "查看网格台账",
    "registry.edit": "修改网格台账",
    "stats.view": "查看统计",
    "models.manage": "管理模型",
    "points.view": "查看积分",
    "points.catalogue": "管理爱心超市",
    "audit.view": "查看操作记录",
    "accounts.manage": "管理账号",
}

# Who wrote a timeline entry, by the prefix of its actor (``grid_member:gm-fl-01``).
ACTOR_KINDS = {
    "resident": "居民",
    "console": "工作人员",
    "grid_member": "网格员",
    "department": "职能部门",
    "open311": "外部系统",
    "admin": "管理员",
    "handler": "办理人",
}


def _lookup(names: Mapping[str, str], code: object, unknown: str) -> str:
    """The label of ``code``; a code without one is logged and shown as ``unknown`` (never as itself)."""
    key = "" if code is None else str(code)
    if key in names:
        return names[key]
    if key:
        logger.warning("no Chinese label for %r", key[:64])
    return unknown if key else "—"


def status(code: object) -> str:
    """A ticket status: 已受理, 已办结 and the others."""
    return _lookup(STATUS_NAMES, code, "其他状态")


def level(code: object) -> str:
    """An escalation level: 网格, 社区, 街道, 职能部门."""
    return _lookup(LEVEL_NAMES, code, "其他层级")


def rating(code: object) -> str:
    """A 评单 answer: 满意, 基本满意, 不满意, 默认满意."""
    return _lookup(RATINGS, code, "其他评价")


def urgency(code: object) -> str:
    """How urgent a ticket is."""
    return _lookup(URGENCY, code, "一般")


def role(code: object) -> str:
    """A console role: 管理员, 网格员 and the others."""
    return _lookup(ROLE_NAMES, code, "其他角色")


def category(code: object) -> str:
    """A request category by the category table's name."""
    table = default_table()
    key = str(code or "")
    return table.categories[key].name if key in table.categories else _lookup({}, key, "其他类别")


def matter(code: object) -> str:
    """公家事, 大家事, 自家事."""
    return _lookup(default_table().matter_names, code, "其他事项")


def tier(code: object) -> str:
    """A handling tier's name from the category table."""
    return _lookup(default_table().tier_names, code, "其他")


def intent(code: object) -> str:
    """A dialogue intent: a request category by its name, the rest by :data:`INTENTS`."""
    key = str(code or "")
    if key in default_table().categories:
        return category(key)
    return _lookup(INTENTS, key, "未命名的意图")


def intent_names() -> dict[str, str]:
    """Every named intent's label: the categories' names and :data:`INTENTS`."""
    return {**INTENTS, **{code: c.name for code, c in default_table().categories.items()}}


def audit_action(code: object) -> str:
    """What an audit entry records (or, refused, what was tried)."""
    return _lookup(AUDIT_ACTIONS, code, "其他操作")


def outcome(code: object) -> str:
    """An audit entry's outcome."""
    return _lookup(OUTCOMES, code, "其他结果")


def review_reason(code: object) -> str:
    """Why a message is in the review queue."""
    return _lookup(REASONS, code, "其他原因")


def review_status(code: object) -> str:
    """A review item's status."""
    return _lookup(STATUSES, code, "其他状态")


def channel(code: object) -> str:
    """A conversation's channel."""
    return _lookup(CHANNELS, code, "其他渠道")


_ACTOR = re.compile(r"^([a-z_0-9]+):(.*)$")


def actor(value: object, names: Mapping[str, str] | None = None) -> str:
    """Who wrote a timeline entry, in Chinese: 系统, 居民, 网格员 陈建国, 工作人员 王芳, 城管局.

    ``names`` maps the code after the prefix (a member's, department's or
    account's) to its name; a resident is never named (the console masks
    residents).
    """
    text = str(value or "")
    if text in ("", "system"):
        return "系统"
    found = _ACTOR.match(text)
    if found is None:
        return "工作人员"
    kind, code = found.groups()
    label = ACTOR_KINDS.get(kind, "工作人员")
    if kind in ("resident", "open311"):
        return label
    name = (names or {}).get(f"{kind}:{code}")
    if kind == "department":
        return name or label
    return f"{label} {name}" if name else label
