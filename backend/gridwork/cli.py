"""``python -m backend members code <member>``: issue a grid member's one-time binding code."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

from backend.db import command_line_sessions


def cmd_code(args: argparse.Namespace) -> int:
    from backend.gridwork.binding import VALID_FOR, issue_code

    with command_line_sessions().begin() as session:
        code = issue_code(session=session, member_code=args.member, now=datetime.now(timezone.utc))
    hours = int(VALID_FOR.total_seconds() // 3600)
    print(f"{args.member} 的绑定码：{code}（{hours} 小时内有效，只能用一次）。")
    print(f"请网格员在 Telegram 或网页聊天里发：绑定 {code}")
    return 0


def add_member_commands(sub: Any) -> None:
    """Register ``members`` and its subcommands on the main parser."""
    members = sub.add_parser("members", help="grid members").add_subparsers(dest="action", required=True)
    code = members.add_parser("code", help="issue a one-time code that binds a chat to a grid member")
    code.add_argument("member", help="grid member code, e.g. gm-fl-01")
    code.set_defaults(func=cmd_code)
