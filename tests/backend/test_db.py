"""The engine's rule for NUL characters and its test of idle connections, on SQLite or PostgreSQL."""

from __future__ import annotations

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
