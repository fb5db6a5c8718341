"""Configuration of every process, read from environment variables in one place.

Every entry point (web app, worker, launcher, command line, action server,
Telegram bridge) calls :func:`load_settings` once at start-up and passes the
result down; nothing else in the project reads ``os.environ``. The table
:data:`VARIABLES` is the single list of variables: ``.env.example`` and the
configuration table of docs/operations.md are checked against it by the tests.

Secrets (``SECRET_KEY``, ``RASA_TOKEN``) have no default here. ``make run``
generates local ones into ``var/secrets.env`` on first run; a production
deployment must set them, and a process started without them stops with a
message naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Variable:
    """One environment variable the project reads.

    Attributes:
        name: the variable's name.
        default: the value used when it is unset; ``None`` means required.
        secret: whether the value must never be logged or committed.
        help: one line for ``.env.example`` and docs/operations.md.
    """

    name: str
    default: str | None
    help: str
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("DATABASE_URL", "sqlite:///var/santong.db", "backend database (any SQLAlchemy URL)"),
    Variable("SECRET_KEY", None, "signs the web chat cookie and console sessions", secret=True),
    Variable("RASA_TOKEN", None, "token of Rasa's HTTP API (model swap, tracker reads)", secret=True),
    Variable("RASA_HOST", "127.0.0.1", "interface the Rasa server listens on"),
    Variable("RASA_PORT", "5005", "port of the Rasa server"),
    Variable(
        "RASA_URL",
        "http://127.0.0.1:5005",
        "where the backend and the bridge reach Rasa; several comma-separated: messages go to them in turn",
    ),
    Variable(
        "RASA_SERVER_URLS",
        "",
        "every Rasa server a promoted model is swapped into, comma-separated (empty: RASA_URL only)",
    ),
    Variable("ACTIONS_HOST", "127.0.0.1", "interface the action server listens on"),
    Variable("ACTIONS_PORT", "5055", "port of the action server"),
    Variable("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook", "where Rasa reaches the action server"),
    Variable("WEB_HOST", "127.0.0.1", "interface of the backend web app (chat page, console, API)"),
    Variable("WEB_PORT", "8000", "port of the backend web app"),
    Variable(
        "TRACKER_STORE_URL",
        "sqlite:///var/rasa_tracker.db",
        "Rasa's tracker store (SQLAlchemy URL; postgresql://user:pass@host:5432/db in production)",
    ),
    Variable(
        "REDIS_URL",
        "",
        "Redis for Rasa's lock store and the web app's rate limits, needed when several Rasa servers or web "
        "processes share the load (redis://:password@host:6379/1); empty means both stay in one process's memory",
    ),
    Variable("MODEL_DIR", "models", "where trained Rasa models are kept"),
    Variable("UPLOAD_DIR", "var/uploads", "where photos residents send are stored"),
    Variable(
        "VAR_DIR",
        "var",
        "folder of the local private state (SQLite databases, uploads, secrets); secrets init and db upgrade "
        "make everything in it owner-only (0600 files, 0700 folders)",
    ),
    Variable(
        "RATE_LIMIT_EXEMPT",
        "",
        "client addresses or networks the per-address chat limits (new visitors, messages, history) do not apply to, "
        "comma-separated (e.g. 127.0.0.1 for a load test from this machine); each visitor is still limited",
    ),
    Variable(
        "TRUSTED_PROXIES",
        "",
        "addresses or networks of the reverse proxies whose X-Forwarded-For / -Proto the web app believes, "
        "comma-separated (e.g. 127.0.0.1 behind a local nginx); empty: forwarded headers are ignored",
    ),
    Variable("TELEGRAM_BOT_TOKEN", "", "Telegram bot token; the bridge starts only when it is set", secret=True),
    Variable(
        "TELEGRAM_API_URL",
        "https://api.telegram.org/bot",
        "Telegram Bot API base URL (a self-hosted Bot API server, or the tests' fake one)",
    ),
    Variable(
        "TELEGRAM_WEBHOOK_URL",
        "",
        "public HTTPS URL Telegram posts updates to; empty means long polling (works behind NAT)",
    ),
    Variable(
        "TELEGRAM_WEBHOOK_SECRET",
        "",
        "secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (required with a webhook URL)",
        secret=True,
    ),
    Variable("TELEGRAM_WEBHOOK_HOST", "127.0.0.1", "interface the bridge's webhook listener binds (behind a proxy)"),
    Variable("TELEGRAM_WEBHOOK_PORT", "8443", "port of the bridge's webhook listener"),
    Variable(
        "CONVERSATION_RETENTION_DAYS",
        "180",
        "days a conversation is kept after its last message (Rasa's tracker store and the backend's copies)",
    ),
    Variable(
        "OPEN311_API_KEYS",
        "",
        "Open311 clients allowed to file requests, comma-separated name:key pairs (empty: filing off, reading on)",
        secret=True,
    ),
    Variable(
        "RATE_LIMIT_PER_MINUTE",
        "30",
        "chat messages a visitor may send per minute after a burst of 20 (triage API and Open311 get 4x "
        "per address, photos 1/3); 0 turns the limits off",
    ),
    Variable(
        "VISITOR_IDLE_DAYS",
        "90",
        "days a web chat visitor stays the same resident without coming back; after that the cookie is a new visitor",
    ),
    Variable("SATISFACTION_DEFAULT_DAYS", "3", "days after 办结 without a rating before a ticket closes as 默认满意"),
    Variable(
        "REVIEW_CONFIDENCE_THRESHOLD",
        "0.6",
        "a resident message the NLU was less sure of than this goes to the console's review queue",
    ),
    Variable(
        "RASA_PATCHES_OFF",
        "",
        "Rasa patches to leave out, comma-separated names (docs/architecture.md), or all: stock Rasa, still masked",
    ),
    Variable(
        "REVIEW_NLU_FILE", "data/nlu/review.yml", "NLU file the console's review queue writes labelled examples to"
    ),
    Variable(
        "REALDEV_DIR",
        "../shared/realdev",
        "folder of real labelled messages make evaluate scores when it exists (evaluation only, never copied)",
    ),
    Variable("LOG_LEVEL", "INFO", "logging level of every process"),
    Variable(
        "MAX_BODY_BYTES",
        "65536",
        "largest request body the web app reads (JSON APIs, forms); bigger ones get 413 before they are read "
        "(photo uploads have their own limit, the photo size limit)",
    ),
    Variable(
        "WORKER_HEARTBEAT_FILE",
        "var/worker.heartbeat",
        "file the worker touches every round and /healthz reads (on storage the web processes share)",
    ),
    Variable(
        "WORKER_HEARTBEAT_STALE_SECONDS",
        "60",
        "seconds without a worker heartbeat before /healthz reports the worker down (503)",
    ),
)

_BY_NAME = {v.name: v for v in VARIABLES}


class ConfigError(RuntimeError):
    """A required variable is missing or a value is malformed."""


@dataclass(frozen=True)
class Settings:
    """The validated configuration of one process."""

    database_url: str
    secret_key: str
    rasa_token: str
    rasa_host: str
    rasa_port: int
    rasa_url: str
    rasa_server_urls: tuple[str, ...]
    actions_host: str
    actions_port: int
    action_endpoint_url: str
    web_host: str
    web_port: int
    tracker_store_url: str
    redis_url: str
    model_dir: Path
    upload_dir: Path
    telegram_bot_token: str
    telegram_api_url: str
    telegram_webhook_url: str
    telegram_webhook_secret: str
    telegram_webhook_host: str
    telegram_webhook_port: int
    satisfaction_default_days: int
    rate_limit_per_minute: int
    conversation_retention_days: int
    log_level: str
    review_confidence_threshold: float
    review_nlu_file: Path
    realdev_dir: Path
    open311_api_keys: tuple[tuple[str, str], ...] = ()
    max_body_bytes: int = 65536
    worker_heartbeat_file: Path = PROJECT_ROOT / "var" / "worker.heartbeat"
    worker_heartbeat_stale_seconds: int = 60
    visitor_idle_days: int = 90
    var_dir: Path = PROJECT_ROOT / "var"
    rasa_patches_off: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    rate_limit_exempt: tuple[str, ...] = ()

    @property
    def web_url(self) -> str:
        """The base URL a person opens in a browser on this machine."""
        host = "127.0.0.1" if self.web_host in ("0.0.0.0", "::") else self.web_host
        return f"http://{host}:{self.web_port}"

    def rasa_environment(self) -> dict[str, str]:
        """Variables that ``endpoints.yml`` substitutes, resolved to values.

        Rasa's SQL tracker store takes a complete URL in its ``url`` field
        (it contains ``://``); dialect and database name are derived from it.
        Telemetry is switched off: it would try to reach the internet.
        """
        from sqlalchemy.engine import make_url

        tracker = make_url(self.tracker_store_url)
        lock = make_url(self.redis_url) if self.redis_url else None
        return {
            # Rasa's lock store: Redis when several Rasa servers share conversations, else in memory.
            "LOCK_STORE_TYPE": "backend.rasa_ext.lock_store.AtomicRedisLockStore" if lock else "in_memory",
            "LOCK_STORE_HOST": (lock.host or "127.0.0.1") if lock else "",
            "LOCK_STORE_PORT": str(lock.port or 6379) if lock else "6379",
            "LOCK_STORE_DB": (lock.database or "1") if lock else "1",
            "LOCK_STORE_PASSWORD": (lock.password or "") if lock else "",
            "ACTION_ENDPOINT_URL": self.action_endpoint_url,
            "TRACKER_STORE_URL": self.tracker_store_url,
            "TRACKER_DB_DIALECT": tracker.get_backend_name(),
            "TRACKER_DB": tracker.database or "",
            "RASA_TELEMETRY_ENABLED": "false",
            # Rasa's dependencies warn on every start about their own deprecations.
            "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning",
        }


def _under_root(path: str) -> Path:
    """Resolve a relative path against the project root, not the cwd."""
    p = Path(path)
    return p if p.is_absolute() else PROJECT_ROOT / p


def _sqlite_under_root(url: str) -> str:
    """Make a relative ``sqlite:///var/x.db`` URL absolute under the project root."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(_under_root(url[len(prefix) :]))
    return url


def _port(env: Mapping[str, str], name: str) -> int:
    raw = _value(env, name)
    try:
        port = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} 不是端口号 / is not a port number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{name}={port} 超出端口范围 / is out of the port range 1-65535")
    return port


def _webhook_secret(env: Mapping[str, str]) -> str:
    """The webhook secret: required with a webhook URL, and only characters Telegram accepts."""
    url, secret = _value(env, "TELEGRAM_WEBHOOK_URL"), _value(env, "TELEGRAM_WEBHOOK_SECRET")
    if url and not url.startswith("https://"):
        raise ConfigError("TELEGRAM_WEBHOOK_URL 必须是 https:// 地址 / must be an https:// URL")
    if url and not secret:
        raise ConfigError("设置了 TELEGRAM_WEBHOOK_URL 就必须设置 TELEGRAM_WEBHOOK_SECRET / a webhook needs a secret")
    if secret and not (16 <= len(secret) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET 须为 16–256 个字母、数字、_ 或 - / 16-256 of A-Z a-z 0-9 _ -")
    return secret


def _positive(env: Mapping[str, str], name: str) -> int:
    raw = _value(env, name)
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw!r} 应是正整数 / must be a positive whole number")
    return int(raw)


def _whole(env: Mapping[str, str], name: str) -> int:
    raw = _value(env, name)
    if not raw.isdigit():
        raise ConfigError(f"{name}={raw!r} 应是 0 或正整数 / must be 0 or a positive whole number")
    return int(raw)


def _fraction(env: Mapping[str, str], name: str) -> float:
    raw = _value(env, name)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={raw!r} 应是 0 到 1 之间的数 / must be a number from 0 to 1")
    return value


_CLIENT_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_API_KEY = re.compile(r"[A-Za-z0-9_.~+/=-]{16,256}")


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """``10.0.0.0/8,127.0.0.1`` → ("10.0.0.0/8", "127.0.0.1"), each checked to be an address or a network."""
    networks = tuple(item.strip() for item in _value(env, name).split(",") if item.strip())
    for item in networks:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {item!r} 不是地址或网段 / is not an address or network") from None
    return networks


def _api_keys(env: Mapping[str, str], name: str) -> tuple[tuple[str, str], ...]:
    """``name:key,name:key`` → ((name, key), ...).

    The name is who filed (it becomes part of the resident's channel
    identity), so it is short and plain; a key shorter than 16 characters is
    refused because a guessable key would let anyone file tickets.
    """
    pairs: list[tuple[str, str]] = []
    for item in _value(env, name).split(","):
        if not item.strip():
            continue
        client, sep, key = item.strip().partition(":")
        if not sep or not _CLIENT_NAME.fullmatch(client) or not _API_KEY.fullmatch(key):
            raise ConfigError(
                f"{name} 的每一项应为 名称:密钥（名称 1–32 个字母数字，密钥至少 16 个字符）"
                " / each item must be name:key (name 1-32 of A-Z a-z 0-9 _ . -, key 16+ characters)"
            )
        if client in {c for c, _ in pairs}:
            raise ConfigError(f"{name} 里的名称 {client} 重复了 / client name {client} appears twice")
        pairs.append((client, key))
    return tuple(pairs)


def _value(env: Mapping[str, str], name: str) -> str:
    var = _BY_NAME[name]
    value = env.get(name)
    if value is None or (value == "" and var.default is None):
        if var.default is None:
            raise ConfigError(
                f"缺少必需的环境变量 {name} / required environment variable {name} is not set "
                f"({var.help}). `make run` generates local secrets into var/secrets.env; "
                "a deployment must set it."
            )
        return var.default
    return value


def unset_secrets(also_set: Mapping[str, str] | None = None) -> list[str]:
    """Required secrets set neither in the environment nor in ``also_set``."""
    return [
        v.name
        for v in VARIABLES
        if v.secret and v.default is None and not os.environ.get(v.name) and not (also_set or {}).get(v.name)
    ]


def load_settings(env: Mapping[str, str] | None = None, *, require_secrets: bool = True) -> Settings:
    """Read and validate the configuration.

    Args:
        env: the environment to read; ``os.environ`` when omitted.
        require_secrets: ``False`` for command-line tools that never use the
            secrets (migrations, demo data), so they run before secrets exist.

    Raises:
        ConfigError: a required variable is missing or a value is malformed.
    """
    env = os.environ if env is None else env
    if not require_secrets:
        env = {"SECRET_KEY": "-", "RASA_TOKEN": "-", **env}
    return Settings(
        database_url=_sqlite_under_root(_value(env, "DATABASE_URL")),
        secret_key=_value(env, "SECRET_KEY"),
        rasa_token=_value(env, "RASA_TOKEN"),
        rasa_host=_value(env, "RASA_HOST"),
        rasa_port=_port(env, "RASA_PORT"),
        rasa_url=_value(env, "RASA_URL").rstrip("/"),
        rasa_server_urls=tuple(
            url.strip().rstrip("/")
            for url in (_value(env, "RASA_SERVER_URLS") or _value(env, "RASA_URL")).split(",")
            if url.strip()
        ),
        actions_host=_value(env, "ACTIONS_HOST"),
        actions_port=_port(env, "ACTIONS_PORT"),
        action_endpoint_url=_value(env, "ACTION_ENDPOINT_URL"),
        web_host=_value(env, "WEB_HOST"),
        web_port=_port(env, "WEB_PORT"),
        tracker_store_url=_sqlite_under_root(_value(env, "TRACKER_STORE_URL")),
        redis_url=_value(env, "REDIS_URL"),
        model_dir=_under_root(_value(env, "MODEL_DIR")),
        upload_dir=_under_root(_value(env, "UPLOAD_DIR")),
        telegram_bot_token=_value(env, "TELEGRAM_BOT_TOKEN"),
        telegram_api_url=_value(env, "TELEGRAM_API_URL"),
        telegram_webhook_url=_value(env, "TELEGRAM_WEBHOOK_URL"),
        telegram_webhook_secret=_webhook_secret(env),
        telegram_webhook_host=_value(env, "TELEGRAM_WEBHOOK_HOST"),
        telegram_webhook_port=_port(env, "TELEGRAM_WEBHOOK_PORT"),
        satisfaction_default_days=_positive(env, "SATISFACTION_DEFAULT_DAYS"),
        rate_limit_per_minute=_whole(env, "RATE_LIMIT_PER_MINUTE"),
        conversation_retention_days=_positive(env, "CONVERSATION_RETENTION_DAYS"),
        log_level=_value(env, "LOG_LEVEL").upper(),
        review_confidence_threshold=_fraction(env, "REVIEW_CONFIDENCE_THRESHOLD"),
        rasa_patches_off=tuple(
            name.strip().lower() for name in _value(env, "RASA_PATCHES_OFF").split(",") if name.strip()
        ),
        review_nlu_file=_under_root(_value(env, "REVIEW_NLU_FILE")),
        realdev_dir=_under_root(_value(env, "REALDEV_DIR")).resolve(),
        open311_api_keys=_api_keys(env, "OPEN311_API_KEYS"),
        max_body_bytes=_positive(env, "MAX_BODY_BYTES"),
        worker_heartbeat_file=_under_root(_value(env, "WORKER_HEARTBEAT_FILE")),
        worker_heartbeat_stale_seconds=_positive(env, "WORKER_HEARTBEAT_STALE_SECONDS"),
        visitor_idle_days=_positive(env, "VISITOR_IDLE_DAYS"),
        var_dir=_under_root(_value(env, "VAR_DIR")),
        trusted_proxies=tuple(p.strip() for p in _value(env, "TRUSTED_PROXIES").split(",") if p.strip()),
        rate_limit_exempt=_networks(env, "RATE_LIMIT_EXEMPT"),
    )
