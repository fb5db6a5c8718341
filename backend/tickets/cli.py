"""``python -m backend tickets report-in <number> <department>``: a department answers the whistle (报到).

The console does the same through the same service; this is for a street
office that runs the assistant before its console accounts are set up.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from backend.db import command_line_sessions
from backend.errors import DomainError


def cmd_report_in(args: argparse.Namespace) -> int:
    """Record the department's 报到 on the ticket and say so."""
    from backend.models import Ticket
    from backend.tickets.escalation import report_in

    with command_line_sessions().begin() as session:
        ticket = session.scalars(select(Ticket).filter_by(number=args.number.strip().upper())).first()
        if ticket is None:
            raise DomainError(f"没有工单 {args.number}。")
        department = report_in(
            session=session,
            ticket=ticket,
            department_code=args.department,
            actor=f"department:{args.department}",
            now=datetime.now(timezone.utc),
        )
        print(f"{department.name} 已报到，工单 {ticket.number} 现在由它办理；已通知居民。")
    return 0


def add_ticket_commands(sub: Any) -> None:
    """Register ``tickets`` and its subcommands on the main parser."""
    tickets = sub.add_parser("tickets", help="tickets").add_subparsers(dest="action", required=True)
    report = tickets.add_parser("report-in", help="a department answers a whistle (报到) and takes the ticket")
    report.add_argument("number", help="ticket number, e.g. GZ20261122-0003")
    report.add_argument("department", help="department code from the registry, e.g. city-mgmt")
    report.set_defaults(func=cmd_report_in)
