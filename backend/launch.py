"""Start one process of the stack; the Procfile calls this for each.

Each process reads the settings once here, checks that its port is free
(a taken port is reported as such, not as a stack trace), and then becomes
the real server with ``exec`` so that the Procfile runner's signals reach it
directly and Ctrl-C stops everything.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import sys
from typing import Any

from backend.settings import PROJECT_ROOT, ConfigError, Settings

logger = logging.getLogger(__name__)


KEEP_ALIVE_SECONDS = 75  # longer than the clients' idle connections (aiohttp 15 s, httpx 5 s)


class PortInUse(RuntimeError):
    """The port a process must listen on is taken."""


def check_port(host: str, port: int, variable: str) -> None:
    """Raise :class:`PortInUse` with a plain message if ``host:port`` cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"端口 {host}:{port} 已被占用（{variable}）。请先停止占用它的程序"
                    f"（查看：ss -ltnp 'sport = :{port}'），或者换一个端口：{variable}=<端口> make run / "
                    f"port {host}:{port} ({variable}) is already in use."
                ) from None
            raise PortInUse(f"无法监听 {host}:{port}（{variable}）：{exc.strerror}") from None


def ports(settings: Settings) -> list[tuple[str, int, str]]:
    """Every (host, port, variable) the local stack listens on."""
    return [
        (settings.rasa_host, settings.rasa_port, "RASA_PORT"),
        (settings.actions_host, settings.actions_port, "ACTIONS_PORT"),
        (settings.web_host, settings.web_port, "WEB_PORT"),
    ]


def _exec(argv: list[str], extra_env: dict[str, str]) -> None:
    env = {**os.environ, **extra_env}
    sys.stdout.flush()
    os.chdir(PROJECT_ROOT)
    os.execvpe(argv[0], argv, env)


def serve_rasa(settings: Settings) -> None:
    """The Rasa server: REST channel and HTTP API (token-protected), loopback by default."""
    from backend.training.spacy_pipeline import build

    check_port(settings.rasa_host, settings.rasa_port, "RASA_PORT")
    from backend.training.versions import rasa_model

    model = rasa_model(settings)
    if not model.exists():
        raise SystemExit(f"还没有训练好的模型 {model}。请运行 make train（make run 会自动训练）。")
    build()  # the spaCy pipeline the model loads by path (rebuilt if var/ was cleared)
    _exec(
        [
            sys.executable,
            "-m",
            "backend.rasa_ext.launcher",  # phones and ID numbers masked in Rasa's logs (it logs message text)
            "rasa",
            "run",
            "--enable-api",  # token and JWT secret added inside the process from RASA_TOKEN: not in `ps`
            "--interface",
            settings.rasa_host,
            "--port",
            str(settings.rasa_port),
            "--model",
            str(model),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
        ],
        {**settings.rasa_environment(), "SANIC_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE_SECONDS)},  # as the actions'
    )


def serve_actions(settings: Settings) -> None:
    """The action server (rasa-sdk); its bind address comes from SANIC_HOST."""
    check_port(settings.actions_host, settings.actions_port, "ACTIONS_PORT")
    _exec(
        [
            sys.executable,
            "-m",
            "backend.rasa_ext.launcher",
            "rasa_sdk",
            "--actions",
            "actions",
            "--port",
            str(settings.actions_port),
        ],
        # Keep idle connections longer than Rasa's client does (aiohttp: 15 s). With Sanic's default 5 s the
        # server sometimes closed a connection Rasa was just reusing: "Can not write request body", the
        # action failed and the resident got no answer (seen once in make test's production run).
        {"SANIC_HOST": settings.actions_host, "SANIC_KEEP_ALIVE_TIMEOUT": str(KEEP_ALIVE_SECONDS)},
    )


def serve_web(settings: Settings) -> None:
    """The backend web app: chat page, console and REST API."""
    import uvicorn

    from backend.gc_pauses import freeze
    from backend.web.app import create_app

    forwarded = forwarded_headers(settings)
    check_port(settings.web_host, settings.web_port, "WEB_PORT")
    os.chdir(PROJECT_ROOT)
    app = create_app(settings)
    freeze()  # what the app imported and built stays out of full collections (pauses of ~0.1 s under load)
    # ws="none": the app has no websockets, and Rasa pins a websockets release
    # too old for uvicorn's websocket protocol module.
    uvicorn.run(
        app,
        host=settings.web_host,
        port=settings.web_port,
        log_level=settings.log_level.lower(),
        ws="none",
        **forwarded,
    )


def forwarded_headers(settings: Settings) -> dict[str, Any]:
    """The options of uvicorn for ``X-Forwarded-For``/``-Proto``: believed only from ``TRUSTED_PROXIES``.

    uvicorn by default takes the client address from ``X-Forwarded-For``
    when the connection comes from 127.0.0.1 (or ``FORWARDED_ALLOW_IPS``):
    any local program, or a proxy that passes the header on unchanged, could
    then choose its address and walk past the per-address limits. Without
    trusted proxies the header is ignored and the peer's own address counts.

    Raises:
        ConfigError: an entry is not an address or a network (``*`` is refused: it trusts everyone).
    """
    proxies = settings.trusted_proxies
    for proxy in proxies:
        if proxy == "*":
            raise ConfigError("TRUSTED_PROXIES 不能是 *（那样谁都能冒充地址）/ '*' would let anyone choose its address")
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"TRUSTED_PROXIES 里的 {proxy!r} 不是 IP 地址或网段 / is not an IP address or network"
            ) from None
    if not proxies:
        return {"proxy_headers": False, "forwarded_allow_ips": ""}
    return {"proxy_headers": True, "forwarded_allow_ips": list(proxies)}


def serve_worker(settings: Settings) -> None:
    """The backend worker."""
    import asyncio

    from backend.worker import run

    asyncio.run(run(settings))


def serve_telegram(settings: Settings) -> None:
    """The Telegram bridge (only when TELEGRAM_BOT_TOKEN is set)."""
    if not settings.telegram_bot_token:
        raise SystemExit("TELEGRAM_BOT_TOKEN 未设置，不启动 Telegram 桥接。")
    from bot.telegram_bridge import run

    run(settings)


SERVERS = {
    "rasa": serve_rasa,
    "actions": serve_actions,
    "web": serve_web,
    "worker": serve_worker,
    "telegram": serve_telegram,
}
