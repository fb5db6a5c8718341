"""Engine and session factories.

Nothing is created at import time: entry points call :func:`make_engine` and
:func:`make_session_factory` with their settings, and pass sessions into the
service functions (the session's lifecycle stays outside the services).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from backend.private_files import create_private_file

logger = logging.getLogger(__name__)


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """Create an engine in SQLAlchemy 2.0 style.

    For SQLite the file is created owner-only (with its folder), foreign keys are enforced and the
    journal is WAL with a busy timeout, so the web app, the worker and the
    action server can share one file without "database is locked" at once.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            create_private_file(Path(url.database))  # 0600 even in a process that kept a permissive umask
        kwargs.setdefault("connect_args", {"timeout": 15, "check_same_thread": False})
        if url.database and url.database != ":memory:":
            # SQLAlchemy 1.4 opens a new connection for every session on a SQLite file (NullPool), and
            # each one runs the pragmas below; kept connections save that work (docs/benchmark.md).
            # WAL lets pooled connections of several processes share the file.
            kwargs.setdefault("poolclass", QueuePool)
    engine = create_engine(url, future=True, **kwargs)
    event.listen(engine, "connect", _mark_used)
    event.listen(engine, "checkin", _mark_used)
    event.listen(engine, "checkout", _ping_if_idle)
    event.listen(engine, "before_cursor_execute", _without_nul, retval=True)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_cursor_execute", _sqlite_write_lock_for_update)
    return engine


# A pooled connection idle longer than this is tested before use (a server
# restart takes longer). SQLAlchemy's pool_pre_ping tested it at every
# checkout: one more round trip per transaction (docs/benchmark.md).
PING_AFTER_IDLE_SECONDS = 1.0
_LAST_USED = "santong_last_used"


def _mark_used(_dbapi_connection: Any, record: Any) -> None:
    """Note when a connection was made or handed back (its record's info lives as long as the connection)."""
    record.info[_LAST_USED] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Before handing out a connection idle for more than :data:`PING_AFTER_IDLE_SECONDS`, check it still works.

    A dead one (the server restarted, the connection was cut) raises
    ``DisconnectionError``: the pool drops it and hands out a new connection
    instead, as ``pool_pre_ping`` does; the caller never sees it. A
    connection that died within the last second fails at its first
    statement instead; SQLAlchemy then drops the whole pool, so only that
    statement fails (a resident's message is refused with its text given
    back, as while the database is down).
    """
    last_used = record.info.get(_LAST_USED)
    if last_used is not None and time.monotonic() - last_used <= PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception as error:  # any driver's error: the connection cannot be used
        raise exc.DisconnectionError(f"pooled connection no longer works: {error}") from error


NUL = "\x00"
REPLACEMENT = "\ufffd"  # U+FFFD, Unicode's mark for "a character was here that could not be kept"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(item) for item in value)
    return value


def _without_nul(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _executemany: bool
) -> tuple[str, Any]:
    """Replace NUL characters in every bound string with U+FFFD, on every database.

    PostgreSQL's text cannot hold NUL at all (psycopg2 raises ValueError, which
    once stopped the worker when a resident's message with a NUL reached the
    review queue); SQLite keeps it but cuts the text there in some functions.
    Resident text reaches many tables (tickets, chat inbox, Telegram updates,
    review queue), so the rule lives here, once, and both profiles store the
    same thing. The rest of the text is kept; the mark shows where NUL was.
    """
    return statement, _scrub(parameters)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _sqlite_write_lock_for_update(
    conn: Any, cursor: Any, _statement: str, _parameters: Any, context: Any, _executemany: bool
) -> None:
    """On SQLite, a ``SELECT … FOR UPDATE`` first takes the database's write lock (``BEGIN IMMEDIATE``).

    SQLite has no row locks and drops the clause, and Python's sqlite3 opens
    a transaction only at the first write: a row read "for update" could
    change before the reader wrote back what it computed from it, erasing
    the other write (a login attempt's count was lost so). Holding the
    write lock from the read to the commit gives the clause its meaning.
    """
    statement = getattr(getattr(context, "compiled", None), "statement", None)
    if getattr(statement, "_for_update_arg", None) is None:
        return
    if conn.in_transaction() and not cursor.connection.in_transaction:
        cursor.execute("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine`` (2.0-style sessions)."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def command_line_sessions() -> sessionmaker[Session]:
    """The session factory of a command-line tool: ``DATABASE_URL`` from the environment, no secrets needed."""
    from backend.settings import load_settings

    return make_session_factory(make_engine(load_settings(require_secrets=False).database_url))
