"""The console's read-only way into Rasa's SQL tracker store, and the error when it cannot be read.

The store belongs to Rasa; the console only reads it, through an engine of
its own that cannot write (SQLite opened with ``mode=ro``, PostgreSQL with
``default_transaction_read_only``). A store not created yet or unreachable
becomes :class:`TrackerUnavailable`, which the pages turn into a plain notice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import Connection, Engine, create_engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError


class TrackerUnavailable(Exception):
    """The tracker store cannot be read (not created yet, or unreachable)."""


@lru_cache(maxsize=8)
def read_only_engine(url: str) -> Engine:
    """An engine on the tracker store that cannot write (one per URL and process)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if not path or path == ":memory:":
            raise TrackerUnavailable("对话记录库没有配置成文件。")
        return create_engine(
            f"sqlite:///file:{quote(path)}?mode=ro&uri=true",
            future=True,
            connect_args={"check_same_thread": False, "timeout": 15},
        )
    if parsed.get_backend_name() == "postgresql":
        return create_engine(
            parsed,
            future=True,
            pool_pre_ping=True,
            connect_args={"options": "-c default_transaction_read_only=on"},
        )
    raise TrackerUnavailable(f"不支持这种对话记录库：{parsed.get_backend_name()}")


@contextmanager
def reading(engine: Engine) -> Iterator[_Guarded]:
    """A connection to the tracker store; an unreadable store becomes :class:`TrackerUnavailable`."""
    try:
        connection = engine.connect()
    except OperationalError as exc:
        raise TrackerUnavailable("对话记录库暂时打不开（机器人可能还没有收到过消息）。") from exc
    try:
        yield _Guarded(connection)
    finally:
        connection.close()


class _Guarded:
    """Turns "no such table" and the like into :class:`TrackerUnavailable`."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def execute(self, statement: Any) -> Any:
        try:
            return self.connection.execute(statement)
        except (OperationalError, ProgrammingError) as exc:
            raise TrackerUnavailable("对话记录库暂时读不了，请稍后再试。") from exc
