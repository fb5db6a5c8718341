"""Configuration of every process, read from environment variables in one place.

Every entry point (web app, worker, launcher, command line, action server,
Telegram bridge) calls :func:`load_settings` once at start-up and passes the
result down; nothing else in the project reads ``os.environ``. The variables
are listed in :mod:`backend.settings_variables` and each value is checked by
:mod:`backend.settings_checks`; :class:`ConfigError`, which
:func:`load_settings` raises, is imported from here.

Secrets (``SECRET_KEY``, ``RASA_TOKEN``) have no default here. ``make run``
generates local ones into ``var/secrets.env`` on first run; a production
deployment must set them, and a process started without them stops with a
message naming the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from backend.settings_checks import (
    ConfigError,
    api_keys,
    fraction,
    networks,
    port,
    positive,
    read,
    webhook_secret,
    whole,
)
from backend.settings_variables import VARIABLES

__all__ = ["PROJECT_ROOT", "ConfigError", "Settings", "load_settings", "unset_secrets"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
        database_url=_sqlite_under_root(read(env, "DATABASE_URL")),
        secret_key=read(env, "SECRET_KEY"),
        rasa_token=read(env, "RASA_TOKEN"),
        rasa_host=read(env, "RASA_HOST"),
        rasa_port=port(env, "RASA_PORT"),
        rasa_url=read(env, "RASA_URL").rstrip("/"),
        rasa_server_urls=tuple(
            url.strip().rstrip("/")
            for url in (read(env, "RASA_SERVER_URLS") or read(env, "RASA_URL")).split(",")
            if url.strip()
        ),
        actions_host=read(env, "ACTIONS_HOST"),
        actions_port=port(env, "ACTIONS_PORT"),
        action_endpoint_url=read(env, "ACTION_ENDPOINT_URL"),
        web_host=read(env, "WEB_HOST"),
        web_port=port(env, "WEB_PORT"),
        tracker_store_url=_sqlite_under_root(read(env, "TRACKER_STORE_URL")),
        redis_url=read(env, "REDIS_URL"),
        model_dir=_under_root(read(env, "MODEL_DIR")),
        upload_dir=_under_root(read(env, "UPLOAD_DIR")),
        telegram_bot_token=read(env, "TELEGRAM_BOT_TOKEN"),
        telegram_api_url=read(env, "TELEGRAM_API_URL"),
        telegram_webhook_url=read(env, "TELEGRAM_WEBHOOK_URL"),
        telegram_webhook_secret=webhook_secret(env),
        telegram_webhook_host=read(env, "TELEGRAM_WEBHOOK_HOST"),
        telegram_webhook_port=port(env, "TELEGRAM_WEBHOOK_PORT"),
        satisfaction_default_days=positive(env, "SATISFACTION_DEFAULT_DAYS"),
        rate_limit_per_minute=whole(env, "RATE_LIMIT_PER_MINUTE"),
        conversation_retention_days=positive(env, "CONVERSATION_RETENTION_DAYS"),
        log_level=read(env, "LOG_LEVEL").upper(),
        review_confidence_threshold=fraction(env, "REVIEW_CONFIDENCE_THRESHOLD"),
        rasa_patches_off=tuple(
            name.strip().lower() for name in read(env, "RASA_PATCHES_OFF").split(",") if name.strip()
        ),
        review_nlu_file=_under_root(read(env, "REVIEW_NLU_FILE")),
        realdev_dir=_under_root(read(env, "REALDEV_DIR")).resolve(),
        open311_api_keys=api_keys(env, "OPEN311_API_KEYS"),
        max_body_bytes=positive(env, "MAX_BODY_BYTES"),
        worker_heartbeat_file=_under_root(read(env, "WORKER_HEARTBEAT_FILE")),
        worker_heartbeat_stale_seconds=positive(env, "WORKER_HEARTBEAT_STALE_SECONDS"),
        visitor_idle_days=positive(env, "VISITOR_IDLE_DAYS"),
        var_dir=_under_root(read(env, "VAR_DIR")),
        trusted_proxies=tuple(p.strip() for p in read(env, "TRUSTED_PROXIES").split(",") if p.strip()),
        rate_limit_exempt=networks(env, "RATE_LIMIT_EXEMPT"),
    )
