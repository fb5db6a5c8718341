"""The engine's rule for NUL characters and its test of idle connections, on SQLite or PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def test_a_nul_character_is_stored_as_the_replacement_mark_and_the_rest_is_kept(engine):
    with engine.connect() as connection:
        assert connection.execute(text("SELECT :said"), {"said": "电梯\x00坏了"}).scalar() == "电梯\ufffd坏了"
        assert connection.execute(text("SELECT :said"), {"said": "电梯坏了"}).scalar() == "电梯坏了"


def _dead_pooled_connection(engine):
    """Use the pool's one connection, hand it back, then close it underneath (a server restart, a cut link)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        raw = connection.connection.dbapi_connection
    raw.close()
    return raw


def test_a_connection_idle_past_the_limit_is_tested_and_replaced_unseen(database_url, monkeypatch):
    from backend import db

    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    dead = _dead_pooled_connection(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection counts as idle
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 41 + 1")).scalar() == 42
        assert connection.connection.dbapi_connection is not dead
    engine.dispose()


def test_a_connection_used_within_the_limit_is_handed_out_untested(database_url, monkeypatch):
    """No test query for a connection just used (the round trip pool_pre_ping spent on every transaction).

    So a connection that died meanwhile fails at its first statement; the
    pool is dropped with it and the next transaction works.
    """
    from backend import db

    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    _dead_pooled_connection(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 60.0)
    with pytest.raises(DBAPIError) as failed:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    assert failed.value.connection_invalidated
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_a_row_read_for_update_cannot_change_under_its_reader(engine):
    """``SELECT … FOR UPDATE`` holds off other writers until the reader commits, on SQLite as on PostgreSQL.

    SQLite has no row locks and drops the clause; without the engine's rule
    the reader's write (computed from what it read) erased a parallel
    increment: the login lockout's lost count (``uncount``).
    """
    from datetime import datetime, timezone

    from sqlalchemy import select, update
    from sqlalchemy.orm import Session

    from backend.models.accounts import LoginThrottle

    now = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
    with Session(engine, future=True) as setup, setup.begin():
        setup.add(LoginThrottle(username="lina", failures=3, locks=0, last_attempt_at=now))
    parallel_done = threading.Event()

    def parallel_increment() -> None:
        with Session(engine, future=True) as other, other.begin():
            other.execute(
                update(LoginThrottle)
                .where(LoginThrottle.username == "lina")
                .values(failures=LoginThrottle.failures + 1)
            )
        parallel_done.set()

    with Session(engine, future=True) as reader, reader.begin():
        row = reader.scalars(select(LoginThrottle).where(LoginThrottle.username == "lina").with_for_update()).one()
        seen = row.failures
        writer = threading.Thread(target=parallel_increment)
        writer.start()
        assert not parallel_done.wait(0.5), "a parallel write went through while the row was held"
        row.failures = seen - 1
    writer.join(timeout=30)
    assert parallel_done.is_set()
    with Session(engine, future=True) as check:
        assert check.get(LoginThrottle, "lina").failures == seen  # seen - 1 + 1: neither change is lost
