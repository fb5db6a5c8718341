"""Shared fixtures: a fresh, migrated database per test, and console passwords hashed once per run.

SQLite in the test's temporary folder by default; with
``TEST_DATABASE_URL=postgresql://user:pw@127.0.0.1:5432/db`` that PostgreSQL
database instead, so the same backend and action tests run on both.

The schema comes from the Alembic migrations (not ``create_all``), run once
per run: each test gets a copy of the migrated SQLite file, or the PostgreSQL
database with its tables emptied (the schema built again when a test left it
at another revision or with other tables).
``tests/backend/test_migrations_match_models.py`` compares it with the models.

``--services-only`` keeps the tests whose outcome can depend on the database,
Redis or the started stack (they use the database or stack fixtures, or read
the services' addresses themselves): ``make test``'s production-profile pass
runs those again on PostgreSQL and Redis; the others ran on the SQLite pass.
``--quick`` (``make check``) leaves out those that start the stack, drive a
browser or load the trained model.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory
from backend.registry.file_import import import_registry
from backend.settings import PROJECT_ROOT, Settings, load_settings

pytest_plugins = ("tests.e2e.stack_fixtures",)  # the started stack (`stack`, `running`): one per run, for every folder


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


def _tables_and_revision(connection: Connection) -> tuple[set[str], str | None]:
    """The tables of the database's public schema and the Alembic revision it is at."""
    tables = set(inspect(connection).get_table_names())
    revision = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return tables, revision


def migrate_postgres(url: str) -> tuple[set[str], str | None]:
    """Build the schema from nothing; its tables and revision, to recognise it by."""
    empty_postgres(url)
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        built = _tables_and_revision(connection)
    engine.dispose()
    return built


def reset_postgres(url: str, built: tuple[set[str], str | None]) -> None:
    """Empty every table of the migrated schema (sequences restarted); build it again if a test changed it."""
    engine = make_engine(url)
    with engine.begin() as connection:
        same = _tables_and_revision(connection) == built
        if same:
            names = ", ".join(f'"{name}"' for name in sorted(built[0] - {"alembic_version"}))
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    if not same:  # a test migrated elsewhere or made tables of its own
        migrate_postgres(url)


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path | tuple[set[str], str | None]:
    """What the migrations built once for the run: a SQLite file to copy, or PostgreSQL's tables and revision."""
    if TEST_DATABASE_URL:
        return migrate_postgres(TEST_DATABASE_URL)
    template = tmp_path_factory.mktemp("migrated") / "test.db"
    migrate(f"sqlite:///{template}")
    with closing(sqlite3.connect(template)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the file itself, ready to copy
    return template


@pytest.fixture()
def database_url(tmp_path: Path, migrated: Path | tuple[set[str], str | None]) -> str:
    if isinstance(migrated, tuple):
        reset_postgres(TEST_DATABASE_URL, migrated)
        return TEST_DATABASE_URL
    path = tmp_path / "test.db"
    shutil.copy2(migrated, path)
    return f"sqlite:///{path}"


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


@pytest.fixture(autouse=True, scope="session")
def _each_account_password_hashed_once() -> Iterator[None]:
    """Account fixtures make the same few passwords' accounts hundreds of times; each is hashed once per run.

    The hash is real (Argon2id with today's parameters, salted once) and
    every login still checks against it; only the repeated 0.15 s of
    hashing per account is saved. The tests of hashing itself call
    :mod:`backend.console.passwords` directly.
    """
    from backend.console import accounts

    real = accounts.hash_password
    made: dict[str, str] = {}

    def hash_once(password: str) -> str:
        if password not in made:
            made[password] = real(password)  # a weak password raises here, every time
        return made[password]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "hash_password", hash_once)
        yield


# --- which tests a pass runs: --services-only (the production-profile pass), --quick (make check) -------

SERVICE_FIXTURES = {"database_url", "stack"}
SERVICE_VARIABLES = ("TEST_DATABASE_URL", "E2E_POSTGRES_URL", "E2E_REDIS_URL")
SLOW_FIXTURES = {"stack", "agent"}  # a started stack, the trained model loaded in process


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--services-only",
        action="store_true",
        help="only the tests that use the database, Redis or the started stack (the production-profile pass)",
    )
    parser.addoption(
        "--quick",
        action="store_true",
        help="leave out the tests that start the stack, drive a browser or load the trained model (make check)",
    )


def _deselect(config: pytest.Config, items: list[pytest.Item], keep: list[pytest.Item]) -> None:
    kept = set(map(id, keep))
    dropped = [item for item in items if id(item) not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--quick"):
        _deselect(
            config,
            items,
            [
                item
                for item in items
                if not item.get_closest_marker("e2e")
                and not item.get_closest_marker("browser")
                and not SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
            ],
        )
    if config.getoption("--services-only"):
        _keep_service_tests(config, items)


def _keep_service_tests(config: pytest.Config, items: list[pytest.Item]) -> None:
    reads_services: dict[Path, bool] = {}

    def uses_services(item: pytest.Item) -> bool:
        if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            return True
        path = Path(item.path)
        if path not in reads_services:
            source = path.read_text(encoding="utf-8")
            reads_services[path] = any(name in source for name in SERVICE_VARIABLES)
        return reads_services[path]

    _deselect(config, items, [item for item in items if uses_services(item)])
