"""The project's command line: ``python -m backend <command>``.

Commands (``--help`` on each for details):

- ``db upgrade``                 apply Alembic migrations to DATABASE_URL
- ``demo load``                  load the demo street once (registry, points, residents)
- ``registry import FILE``       import an edited grid registry file (idempotent)
- ``registry lookups [FILE]``    regenerate the NLU lookup tables from the registry file
- ``secrets init``               generate missing local secrets into var/secrets.env
- ``model ensure|path|train|list|promote|rollback``  the Rasa models (backend/training/cli.py)
- ``triage``                     JSON lines in, one triage result per line out (bulk pre-sorting)
- ``retention run``              delete conversations past CONVERSATION_RETENTION_DAYS (the worker does it hourly)
- ``visitors revoke CODE``       revoke a resident's web chat cookies (a lost phone)
- ``preflight``                  check that every port of the stack is free
- ``urls``                       print where to open the chat page, console and API docs
- ``rasa ARGS…``                 the rasa CLI with endpoints.yml's variables filled in
- ``serve NAME``                 start one process (rasa, actions, web, worker, telegram)
- ``points …`` / ``members code`` / ``tickets report-in``  points, grid member binding codes, 报到
- ``accounts add|disable|unlock|list`` console accounts (the first admin is made here)

This module builds the parser and runs one command; the commands themselves
are in :mod:`backend.cli_setup`, :mod:`backend.cli_stack`,
:mod:`backend.cli_operations` and each feature's ``cli.py``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

from backend.cli_operations import cmd_retention, cmd_triage, cmd_visitors_revoke
from backend.cli_setup import (
    DEMO_REGISTRY,
    SECRETS_FILE,
    cmd_db_upgrade,
    cmd_demo_load,
    cmd_registry_import,
    cmd_registry_lookups,
    cmd_secrets_init,
)
from backend.cli_stack import cmd_preflight, cmd_rasa, cmd_serve, cmd_urls
from backend.console.cli import add_account_commands
from backend.errors import DomainError
from backend.gridwork.cli import add_member_commands
from backend.log_masking import install as install_log_masking
from backend.points.cli import add_points_commands
from backend.private_files import restrict_umask
from backend.settings import ConfigError, load_settings
from backend.tickets.cli import add_ticket_commands
from backend.training.cli import add_model_commands

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description="三事通 command line")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database migrations").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="apply all migrations").set_defaults(func=cmd_db_upgrade)

    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="action", required=True)
    load = demo.add_parser("load", help="load the demo street once")
    load.add_argument("--force", action="store_true", help="re-import even if already loaded")
    load.set_defaults(func=cmd_demo_load)

    registry = sub.add_parser("registry", help="grid registry").add_subparsers(dest="action", required=True)
    imp = registry.add_parser("import", help="import a registry YAML file (idempotent)")
    imp.add_argument("file")
    imp.set_defaults(func=cmd_registry_import)

    lookups = registry.add_parser("lookups", help="regenerate the NLU lookup tables from a registry file")
    lookups.add_argument("file", nargs="?", default=str(DEMO_REGISTRY))
    lookups.set_defaults(func=cmd_registry_lookups)

    tri = sub.add_parser("triage", help='triage JSON lines {"text": ...} from stdin to stdout')
    tri.add_argument("--model", help="model file (default: the current trained model)")
    tri.set_defaults(func=cmd_triage)

    sec = sub.add_parser("secrets", help="local secrets").add_subparsers(dest="action", required=True)
    init = sec.add_parser("init", help="generate missing local secrets")
    init.add_argument("--file", default=str(SECRETS_FILE))
    init.set_defaults(func=cmd_secrets_init)

    add_model_commands(sub)

    retention = sub.add_parser("retention", help="conversation retention").add_subparsers(dest="action", required=True)
    purge = retention.add_parser("run", help="delete conversations past CONVERSATION_RETENTION_DAYS now")
    purge.add_argument("--days", type=int, help="override the retention period (days)")
    purge.set_defaults(func=cmd_retention)

    visitors = sub.add_parser("visitors", help="web chat visitors").add_subparsers(dest="action", required=True)
    revoke = visitors.add_parser("revoke", help="revoke a resident's web chat cookies (e.g. a lost phone)")
    revoke.add_argument("code", help="the resident code (R + 6 hex digits)")
    revoke.set_defaults(func=cmd_visitors_revoke)

    sub.add_parser("preflight", help="check the stack's ports").set_defaults(func=cmd_preflight)
    sub.add_parser("urls", help="print the URLs").set_defaults(func=cmd_urls)

    rasa = sub.add_parser("rasa", help="run the rasa CLI with the project's environment (e.g. rasa shell)")
    rasa.add_argument("rasa_args", nargs=argparse.REMAINDER)
    rasa.set_defaults(func=cmd_rasa)

    add_points_commands(sub)
    add_ticket_commands(sub)
    add_account_commands(sub)
    add_member_commands(sub)

    serve = sub.add_parser("serve", help="start one process of the stack")
    serve.add_argument("name", choices=["rasa", "actions", "web", "worker", "telegram"])
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: configure logging, run the command, turn expected errors into messages."""
    restrict_umask()  # databases, logs and uploads this process or its children create are owner-only
    args = build_parser().parse_args(argv)
    try:
        level = load_settings(require_secrets=False).log_level
    except ConfigError:
        level = "INFO"
    install_log_masking()  # phones and ID numbers never reach a log line
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConfigError as exc:
        print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(str(exc), file=sys.stderr)
        return 1
