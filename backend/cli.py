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
"""

from __future__ import annotations

import argparse
import logging
import secrets as secrets_module
import sys
from pathlib import Path
from typing import Any, Callable

import yaml

from backend import messages
from backend.console.cli import add_account_commands
from backend.errors import DomainError
from backend.gridwork.cli import add_member_commands
from backend.log_masking import install as install_log_masking
from backend.points.cli import add_points_commands
from backend.private_files import append_private_text, make_private_folder, restrict_umask, tighten_state
from backend.settings import PROJECT_ROOT, ConfigError, Settings, load_settings, unset_secrets
from backend.tickets.cli import add_ticket_commands
from backend.training.cli import add_model_commands

logger = logging.getLogger(__name__)

DEMO_REGISTRY = PROJECT_ROOT / "config" / "registry.demo.yml"
POINTS_CONFIG = PROJECT_ROOT / "config" / "points.yml"
DEMO_RESIDENTS = PROJECT_ROOT / "config" / "residents.demo.yml"
SECRETS_FILE = PROJECT_ROOT / "var" / "secrets.env"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DomainError(f"找不到文件 {path}") from None
    except yaml.YAMLError as exc:
        raise DomainError(f"{path} 不是有效的 YAML：{exc}") from None
    if not isinstance(data, dict):
        raise DomainError(f"{path} 的内容应该是一个映射（key: value）")
    return data


def _sessions(settings: Settings) -> Any:
    from backend.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from alembic import command
    from alembic.config import Config

    settings = load_settings(require_secrets=False)
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "backend" / "migrations"))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    command.upgrade(config, "head")
    tighten_state(settings)  # the databases and uploads of an older var/ become owner-only too
    return 0


def cmd_demo_load(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from backend.models import Street
    from backend.points.config import import_points_config
    from backend.registry.file_import import import_registry
    from backend.services.residents import import_demo_residents

    settings = load_settings(require_secrets=False)
    registry = _read_yaml(DEMO_REGISTRY)
    with _sessions(settings).begin() as session:
        exists = session.scalars(select(Street).filter_by(code=registry["street"]["code"])).first()
        if exists is not None and not args.force:
            print(f"演示数据已加载（{exists.name}），跳过 / demo data already loaded")
            return 0
        counts = import_registry(session=session, data=registry)
        counts.update(import_points_config(session=session, data=_read_yaml(POINTS_CONFIG)))
        counts.update(import_demo_residents(session=session, data=_read_yaml(DEMO_RESIDENTS)))
    print(f"演示数据已加载 / demo data loaded: {dict(counts)}")
    return 0


def cmd_registry_import(args: argparse.Namespace) -> int:
    from backend.registry.file_import import import_registry

    settings = load_settings(require_secrets=False)
    with _sessions(settings).begin() as session:
        counts = import_registry(session=session, data=_read_yaml(Path(args.file)))
    print(f"导入完成 / imported: 新建 {counts['created']}，更新 {counts['updated']}，未变 {counts['unchanged']}")
    return 0


def cmd_registry_lookups(args: argparse.Namespace) -> int:
    from backend.services.lookups import render_lookups
    from backend.triage.entities import LOOKUP_FILE

    LOOKUP_FILE.parent.mkdir(parents=True, exist_ok=True)
    LOOKUP_FILE.write_text(render_lookups(_read_yaml(Path(args.file))), encoding="utf-8")
    print(f"已生成 / wrote {LOOKUP_FILE.relative_to(PROJECT_ROOT)}（重新训练后生效 / retrain to use it）")
    return 0


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


def cmd_secrets_init(args: argparse.Namespace) -> int:
    """Write a random value for each secret that is neither set nor already in the file."""
    path = Path(args.file)
    existing: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                existing[key.strip()] = value.strip()
    missing = unset_secrets(existing)
    tighten_state(load_settings(require_secrets=False))  # a var/ from before owner-only permissions
    if path.exists():
        path.chmod(0o600)
    if not missing:
        return 0
    make_private_folder(path.parent)
    header = "" if existing else "# Local secrets generated by `make run`; never commit. Production sets its own.\n"
    append_private_text(path, header + "".join(f"{name}={secrets_module.token_urlsafe(32)}\n" for name in missing))
    print(f"已生成本地密钥 / generated local secrets: {', '.join(missing)} → {path}")
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


def cmd_preflight(args: argparse.Namespace) -> int:
    from backend.launch import PortInUse, check_port, ports

    settings = load_settings()
    problems = []
    for host, port, variable in ports(settings):
        try:
            check_port(host, port, variable)
        except PortInUse as exc:
            problems.append(str(exc))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def cmd_urls(args: argparse.Namespace) -> int:
    settings = load_settings(require_secrets=False)
    base = settings.web_url
    telegram = "已启用 / on" if settings.telegram_bot_token else "未启用（设置 TELEGRAM_BOT_TOKEN）/ off"
    print(
        "\n三事通已启动 / the assistant is starting:\n"
        f"  居民聊天页 chat page : {base}/\n"
        f"  工作台 console      : {base}/console\n"
        f"  接口文档 API docs    : {base}/docs\n"
        f"  Rasa REST webhook   : {settings.rasa_url}/webhooks/rest/webhook\n"
        f"  Telegram            : {telegram}\n"
        "按 Ctrl-C 停止全部进程 / Ctrl-C stops everything.\n"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from backend.launch import SERVERS, PortInUse

    settings = load_settings()
    try:
        SERVERS[args.name](settings)
    except PortInUse as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def cmd_rasa(args: argparse.Namespace) -> int:
    """Run the rasa command line with endpoints.yml's variables filled from the settings.

    Through :mod:`backend.rasa_ext.launcher`, as the servers run: ``rasa test``
    (``make conversation-tests``) then checks the conversations with the
    same speedups, TED's prediction cache among them, that serve residents.
    """
    import os

    settings = load_settings(require_secrets=False)
    argv = [sys.executable, "-m", "backend.rasa_ext.launcher", "rasa", *args.rasa_args]
    os.chdir(PROJECT_ROOT)
    os.execvpe(argv[0], argv, {**os.environ, **settings.rasa_environment()})
    return 0  # not reached


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
