"""Shared fixtures: a fresh, migrated database per test.

SQLite in the test's temporary folder by default. With
``TEST_DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/db`` every test gets
that PostgreSQL database emptied (its ``public`` schema dropped and made
again) instead, so the same backend and action tests run on both.

The schema comes from the Alembic migrations (not ``create_all``), so every
test also checks that the migrations build the model the code expects.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory
from backend.registry.file_import import import_registry
from backend.settings import PROJECT_ROOT, Settings, load_settings


def migrate(database_url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "backend" / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(config, "head")


TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def empty_postgres(url: str) -> None:
    """Drop everything in the test database's public schema."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture()
def database_url(tmp_path: Path) -> str:
    if TEST_DATABASE_URL:
        empty_postgres(TEST_DATABASE_URL)
        url = TEST_DATABASE_URL
    else:
        url = f"sqlite:///{tmp_path / 'test.db'}"
    migrate(url)
    return url


@pytest.fixture()
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture()
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "RASA_TOKEN": "test-rasa-token",
            "MODEL_DIR": str(tmp_path / "models"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )


@pytest.fixture()
def registry(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """The database with the demo street's registry imported."""
    data = yaml.safe_load((PROJECT_ROOT / "config" / "registry.demo.yml").read_text(encoding="utf-8"))
    with sessions.begin() as s:
        import_registry(session=s, data=data)
    return sessions
