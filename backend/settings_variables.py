"""The single list of environment variables the project reads, each with its default and a line of help.

:func:`backend.settings.load_settings` reads them; ``.env.example`` and the
configuration table of docs/operations.md are checked against this list by
the tests. A variable without a default is required.
"""

from __future__ import annotations

from dataclasses import dataclass


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
