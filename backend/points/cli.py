"""``python -m backend points …``: the admin's and the grid member's points work from a terminal.

balance / history of a resident, volunteer hours, adjustments (a reason is
required), expiry, the monthly ranking (masked, CSV for the notice board),
and the 爱心超市's stock; retiring an item (下架) and restoring it (恢复上架),
each recorded in the console's audit trail under ``cli:<by>``. Every change
goes through the same services the chat and the console use.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from backend.dates import day
from backend.db import command_line_sessions
from backend.errors import NotFound


def _now() -> datetime:
    return datetime.now(timezone.utc)


def cmd_balance(args: argparse.Namespace) -> int:
    from backend.points.earning import find_resident
    from backend.points.ledger import balance
    from backend.points.statement import history

    with command_line_sessions().begin() as session:
        resident = find_resident(session=session, reference=args.resident)
        print(f"{resident.code} 积分 {balance(session=session, resident=resident)}")
        for entry in history(session=session, resident=resident, limit=args.limit):
            print(f"{day(entry.created_at)}\t{entry.amount:+d}\t{entry.reason}\t{entry.actor}")
    return 0


def cmd_volunteer(args: argparse.Namespace) -> int:
    from backend.points.earning import log_volunteer

    with command_line_sessions().begin() as session:
        result = log_volunteer(
            session=session,
            member_code=args.member,
            reference=args.resident,
            hours=args.hours,
            log_id=args.log_id or uuid.uuid4().hex,
            now=_now(),
        )
        print(
            ("已记过，未重复计分：" if result.duplicate else "已记分：")
            + f"{result.entry.amount:+d} {result.entry.reason}"
        )
    return 0


def cmd_adjust(args: argparse.Namespace) -> int:
    from backend.points.earning import find_resident
    from backend.points.ledger import adjust

    with command_line_sessions().begin() as session:
        resident = find_resident(session=session, reference=args.resident)
        entry = adjust(
            session=session,
            resident=resident,
            amount=args.amount,
            reason=args.reason,
            actor=f"admin:{args.by}",
            ref=args.ref or uuid.uuid4().hex,
            now=_now(),
        )
        print(f"已调整：{entry.amount:+d}（{entry.reason}）")
    return 0


def cmd_expire(args: argparse.Namespace) -> int:
    from backend.models import Resident
    from backend.points.expiry import expire

    expired = 0
    with command_line_sessions().begin() as session:
        for resident in session.scalars(select(Resident)):
            entry = expire(session=session, resident=resident, now=_now(), months=args.months)
            if entry is not None:
                expired += 1
                print(f"{resident.code}\t{entry.amount:+d}\t{entry.reason}")
    print(f"到期处理完成：{expired} 位居民有积分到期")
    return 0


def cmd_ranking(args: argparse.Namespace) -> int:
    from backend.models import Community
    from backend.points.ranking import monthly_ranking, ranking_csv, this_month

    month = args.month or this_month(_now())
    with command_line_sessions().begin() as session:
        community = session.scalars(select(Community).filter_by(code=args.community)).first()
        if community is None:
            raise NotFound(f"没有这个社区：{args.community}")
        ranking = monthly_ranking(session=session, community_id=int(community.id), month=month)
    text = ranking_csv(ranking)
    if args.out:
        with open(args.out, "w", encoding="utf-8-sig", newline="") as handle:  # Excel opens UTF-8 with a BOM
            handle.write(text)
        print(f"已导出 {len(ranking)} 行到 {args.out}")
    else:
        print(text, end="")
    return 0


def cmd_stock(args: argparse.Namespace) -> int:
    from backend.errors import InvalidInput
    from backend.models import CatalogueItem, Community

    with command_line_sessions().begin() as session:
        community = session.scalars(select(Community).filter_by(code=args.community)).first()
        if community is None:
            raise NotFound(f"没有这个社区：{args.community}")
        items = list(
            session.scalars(select(CatalogueItem).filter_by(community_id=community.id).order_by(CatalogueItem.id))
        )
        if args.item:
            item = next((i for i in items if i.code == args.item), None)
            if item is None:
                raise NotFound(f"没有这件物品：{args.item}")
            if args.set < 0:
                raise InvalidInput("库存不能小于 0。")
            item.stock = args.set
        for item in items:
            shelf = "\t已下架" if item.retired_at is not None else ""
            print(f"{item.code}\t{item.name}\t{item.cost} 分\t库存 {item.stock}{shelf}")
    return 0


def cmd_shelve(args: argparse.Namespace) -> int:
    """``retire`` / ``restore``: take an item off the shelf or put it back; twice changes nothing."""
    from backend.console import audit
    from backend.models import Community
    from backend.points import catalogue_work

    now = _now()
    with command_line_sessions().begin() as session:
        community = session.scalars(select(Community).filter_by(code=args.community)).first()
        if community is None:
            raise NotFound(f"没有这个社区：{args.community}")
        if args.action == "retire":
            result = catalogue_work.retire_item(session=session, community=community, item_code=args.item, now=now)
        else:
            result = catalogue_work.restore_item(session=session, community=community, item_code=args.item)
        audit.record(
            session=session,
            account=None,
            username=f"cli:{args.by}"[:64],
            action=f"points.item_{args.action}",
            target=f"{community.code}/{result.item.code}",
            detail={"changed": result.changed, "via": "cli"},
            now=now,
            client="command line",
        )
        print(result.message)
    return 0


def cmd_confirm_report(args: argparse.Namespace) -> int:
    from backend.models import Ticket
    from backend.points.earning import award_valid_report

    with command_line_sessions().begin() as session:
        ticket = session.scalars(select(Ticket).filter_by(number=args.number.strip().upper())).first()
        if ticket is None:
            raise NotFound(f"没有这张工单：{args.number}")
        result = award_valid_report(session=session, ticket=ticket, actor=f"handler:{args.by}", now=_now())
        print(
            ("这张工单已经计过分：" if result.duplicate else "已记分：")
            + f"{result.entry.amount:+d} {result.entry.reason}"
        )
    return 0


def cmd_rules_import(args: argparse.Namespace) -> int:
    import yaml

    from backend.points.config import import_points_config

    with open(args.file, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    with command_line_sessions().begin() as session:
        counts = import_points_config(session=session, data=data)
    version = data.get("version", 1)
    print(f"积分规则和目录已导入（版本 {version}）：", end="")
    print(f"新建 {counts['created']}，更新 {counts['updated']}，未变 {counts['unchanged']}")
    return 0


def add_points_commands(sub: Any) -> None:
    """Register ``points`` and its subcommands on the main parser."""
    points = sub.add_parser("points", help="community points (积分)").add_subparsers(dest="action", required=True)
    bal = points.add_parser("balance", help="a resident's balance and latest entries")
    bal.add_argument("resident", help="resident code (R…) or kept mobile number")
    bal.add_argument("--limit", type=int, default=20)
    bal.set_defaults(func=cmd_balance)
    vol = points.add_parser("volunteer", help="log a resident's volunteer hours (as a grid member)")
    vol.add_argument("--member", required=True, help="grid member code, e.g. gm-fl-01")
    vol.add_argument("--resident", required=True, help="resident code or kept mobile number")
    vol.add_argument("--hours", type=int, required=True)
    vol.add_argument("--log-id", help="id of this log; repeating it does not pay twice")
    vol.set_defaults(func=cmd_volunteer)
    adj = points.add_parser("adjust", help="an audited adjustment with a mandatory reason")
    adj.add_argument("--resident", required=True)
    adj.add_argument("--amount", type=int, required=True, help="positive or negative")
    adj.add_argument("--reason", required=True)
    adj.add_argument("--by", required=True, help="who adjusts (recorded)")
    adj.add_argument("--ref", help="id of this adjustment; repeating it does not apply twice")
    adj.set_defaults(func=cmd_adjust)
    exp = points.add_parser("expire", help="expire points older than N months (as ledger entries)")
    exp.add_argument("--months", type=int, default=12)
    exp.set_defaults(func=cmd_expire)
    rank = points.add_parser("ranking", help="monthly ranking of a community (names masked), CSV")
    rank.add_argument("--community", required=True, help="community code, e.g. fl")
    rank.add_argument("--month", help="YYYY-MM (default: this month)")
    rank.add_argument("--out", help="write the CSV to this file")
    rank.set_defaults(func=cmd_ranking)
    confirm = points.add_parser(
        "confirm-report", help="the handler confirms a report was valid: the reporter earns points"
    )
    confirm.add_argument("number", help="ticket number, e.g. GZ20261122-0001")
    confirm.add_argument("--by", required=True, help="who confirms (recorded)")
    confirm.set_defaults(func=cmd_confirm_report)
    rules = points.add_parser("rules-import", help="import edited rules and catalogue (keeps counted stock and 下架)")
    rules.add_argument("file", help="e.g. config/points.yml (raise its version when a rule changes)")
    rules.set_defaults(func=cmd_rules_import)
    stock = points.add_parser("stock", help="the 爱心超市 catalogue of a community; set one item's stock")
    stock.add_argument("--community", required=True)
    stock.add_argument("--item")
    stock.add_argument("--set", type=int, default=0)
    stock.set_defaults(func=cmd_stock)
    for action, text in (("retire", "take an item off the shelf (下架): residents no longer see or redeem it"),
                         ("restore", "put a retired item back on the shelf (恢复上架)")):  # fmt: skip
        shelve = points.add_parser(action, help=text)
        shelve.add_argument("--community", required=True, help="community code, e.g. fl")
        shelve.add_argument("--item", required=True, help="item code, e.g. soap")
        shelve.add_argument("--by", required=True, help="who does it (recorded in the audit trail)")
        shelve.set_defaults(func=cmd_shelve)
