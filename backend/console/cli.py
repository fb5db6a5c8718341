"""``python -m backend accounts add|disable|unlock|list``: console accounts from the command line.

The first admin can only be made here (nobody can log in yet). A password
is read twice from the terminal, or once from standard input with
``--password-stdin`` (for scripts); it is never an argument, which would
stay in the shell history and the process list. ``unlock`` lifts a login
lock at once (it is audited under the operating-system user who ran it).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from backend.db import command_line_sessions
from backend.errors import InvalidInput
from backend.models.accounts import ROLE_NAMES, ROLES


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再输一次 / again: ") != first:
        raise InvalidInput("两次输入的密码不一样。")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    """Create an account."""
    from backend.console.accounts import create_account

    password = _password(args)
    with command_line_sessions().begin() as session:
        account = create_account(
            session=session,
            username=args.username,
            display_name=args.name or args.username,
            role=args.role,
            password=password,
            now=datetime.now(timezone.utc),
            community=args.community,
            member=args.member,
            department=args.department,
        )
        print(f"已开通 {ROLE_NAMES[args.role]}账号 {account.username}。登录：/console/login")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    """Disable an account and end its sessions."""
    from backend.console.accounts import disable

    with command_line_sessions().begin() as session:
        account = disable(session=session, username=args.username, now=datetime.now(timezone.utc))
        print(f"已停用 {account.username}，它的登录已全部失效。")
    return 0


def cmd_unlock(args: argparse.Namespace) -> int:
    """Lift a username's login lock and forget its failures."""
    from backend.console.login_lockout import unlock

    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        who = str(os.getuid())
    with command_line_sessions().begin() as session:
        was_locked = unlock(session=session, username=args.username, now=datetime.now(timezone.utc), by=None,
                            by_name=f"cli:{who}"[:64])  # fmt: skip
    name = args.username.strip().lower()
    print(f"已解锁 {name}，失败次数已清零。" if was_locked else f"{name} 没有被锁，失败次数已清零。")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print every account with its role and whether it is active."""
    from backend.models import ConsoleAccount

    with command_line_sessions()() as session:
        for account in session.scalars(select(ConsoleAccount).order_by(ConsoleAccount.username)):
            state = "" if account.active else "（已停用）"
            role = ROLE_NAMES.get(str(account.role), account.role)
            print(f"{account.username}\t{role}\t{account.display_name}{state}")
    return 0


def add_account_commands(sub: Any) -> None:
    """Register ``accounts`` and its subcommands on the main parser."""
    accounts = sub.add_parser("accounts", help="console accounts").add_subparsers(dest="action", required=True)
    add = accounts.add_parser("add", help="open a console account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", help="display name, e.g. 张敏")
    add.add_argument("--community", help="community code, for community_staff (e.g. fl)")
    add.add_argument("--member", help="grid member code, for grid_member (e.g. gm-fl-01)")
    add.add_argument("--department", help="department code, for department (e.g. city-mgmt)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=cmd_add)
    off = accounts.add_parser("disable", help="disable an account and end its sessions")
    off.add_argument("username")
    off.set_defaults(func=cmd_disable)
    lift = accounts.add_parser("unlock", help="lift a login lock after too many wrong passwords")
    lift.add_argument("username")
    lift.set_defaults(func=cmd_unlock)
    accounts.add_parser("list", help="list accounts").set_defaults(func=cmd_list)
