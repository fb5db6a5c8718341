"""The commands an operator runs on a working stack: bulk triage, a retention run, revoking a visitor's cookies.

``python -m backend triage``, ``retention run`` and ``visitors revoke``; the
parser is :mod:`backend.cli`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backend import messages
from backend.errors import DomainError
from backend.settings import load_settings


def cmd_triage(args: argparse.Namespace) -> int:
    """JSON lines in ({"text": ...}), one triage JSON object per line out, in order."""
    import json

    from backend.model_store import model_path
    from backend.triage.local import LocalNLU

    settings = load_settings(require_secrets=False)
    path = Path(args.model) if args.model else model_path(settings.model_dir)
    if not path.exists():
        raise DomainError(f"还没有训练好的模型 {path}，请先运行 make train")
    nlu = LocalNLU(path)
    try:
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                text = item["text"] if isinstance(item, dict) else None
                if not isinstance(text, str):
                    raise ValueError("no text")
            except (ValueError, KeyError, TypeError):
                print(json.dumps({"line": number, "error": messages.TRIAGE_BAD_LINE}, ensure_ascii=False))
                continue
            print(json.dumps(nlu.triage(text).as_dict(), ensure_ascii=False), flush=True)
    finally:
        nlu.close()
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    """Delete conversations older than the retention period now (the worker does it hourly)."""
    from datetime import datetime, timezone

    from backend.db import command_line_sessions
    from backend.retention import purge_backend, purge_tracker_store

    settings = load_settings(require_secrets=False)
    days = args.days or settings.conversation_retention_days
    now = datetime.now(timezone.utc)
    purged = purge_tracker_store(settings.tracker_store_url, now=now, days=days)
    with command_line_sessions().begin() as session:
        purge_backend(session, now=now, days=days, purged=purged)
    print(f"已删除 {days} 天前结束的：{purged}")
    return 0


def cmd_visitors_revoke(args: argparse.Namespace) -> int:
    """Revoke a resident's web chat cookies (a lost phone): each becomes a new visitor that sees none of it."""
    from backend.db import command_line_sessions
    from backend.web.identity import revoke_resident
    from backend.web.visitor_memory import REMEMBER_FOR

    with command_line_sessions().begin() as session:
        count = revoke_resident(session=session, code=args.code)
    if count is None:
        print(f"没有居民编号 {args.code} / no resident {args.code}", file=sys.stderr)
        return 1
    seconds = int(REMEMBER_FOR.total_seconds())
    print(f"已作废居民 {args.code} 的网页 cookie（{count} 个），{seconds} 秒内生效 / revoked {count} ({seconds} s)")
    return 0
