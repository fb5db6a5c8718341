"""The engine's rule for NUL characters, on whichever database the tests run (SQLite, or PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import text


def test_a_nul_character_is_stored_as_the_replacement_mark_and_the_rest_is_kept(engine):
    with engine.connect() as connection:
        assert connection.execute(text("SELECT :said"), {"said": "电梯\x00坏了"}).scalar() == "电梯\ufffd坏了"
        assert connection.execute(text("SELECT :said"), {"said": "电梯坏了"}).scalar() == "电梯坏了"
