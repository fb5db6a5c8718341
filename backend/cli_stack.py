"""The commands that start and show the stack's processes: port check, URLs, one server, the rasa CLI.

``python -m backend preflight``, ``urls``, ``serve NAME`` and ``rasa ARGS…``
(the Makefile and the Procfile call them); the parser is :mod:`backend.cli`.
"""

from __future__ import annotations

import argparse
import sys

from backend.settings import PROJECT_ROOT, load_settings


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
    same patches that serve residents.
    """
    import os

    settings = load_settings(require_secrets=False)
    argv = [sys.executable, "-m", "backend.rasa_ext.launcher", "rasa", *args.rasa_args]
    os.chdir(PROJECT_ROOT)
    os.execvpe(argv[0], argv, {**os.environ, **settings.rasa_environment()})
    return 0  # not reached
