"""Residents' data at rest is readable by the stack's own user only (issue 26, item 4).

The SQLite databases, their journals, uploaded photos, logs and
``var/secrets.env`` used to be created world-readable (0644 in 0755
folders): any local account could copy every phone number. The real
commands ``make run`` and ``make test`` run (``secrets init``, ``db
upgrade``) are started here from a shell with the usual umask 022, in a
temporary var folder (``VAR_DIR``), and what they create must be 0600 in
0700 folders; a var folder left world-readable by an older version must be
tightened by them, ``var/test-services`` (the test PostgreSQL, run as its
own user) excepted.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from backend.photos import save_photo
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def backend_command(*args: str, env: dict[str, str]) -> str:
    """``python -m backend ARGS`` as a shell with umask 022 starts it; its output."""
    result = subprocess.run(
        [sys.executable, "-m", "backend", *args],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture()
def project_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The environment of a project whose var folder is ``tmp_path/var`` (the database under test, if PostgreSQL)."""
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "RASA_TOKEN"}}
    env.update(
        {
            "VAR_DIR": str(var),
            "DATABASE_URL": database_url if TEST_DATABASE_URL else f"sqlite:///{var / 'santong.db'}",
            "TRACKER_STORE_URL": f"sqlite:///{var / 'rasa_tracker.db'}",
            "UPLOAD_DIR": str(var / "uploads"),
            "REVIEW_NLU_FILE": str(tmp_path / "review.yml"),
        }
    )
    return env


def test_a_fresh_var_is_created_owner_only(tmp_path: Path, project_env: dict[str, str]):
    var = tmp_path / "var"
    backend_command("secrets", "init", "--file", str(var / "secrets.env"), env=project_env)
    backend_command("db", "upgrade", env=project_env)
    assert mode(var) == 0o711  # passable (var/test-services), not listable
    assert mode(var / "secrets.env") == 0o600
    if not TEST_DATABASE_URL:
        database = var / "santong.db"
        assert mode(database) == 0o600
        for journal in (var / "santong.db-wal", var / "santong.db-shm"):
            assert not journal.exists() or mode(journal) == 0o600
    assert sorted(p.name for p in var.iterdir() if mode(p) & 0o077) == []


def test_a_photo_is_saved_owner_only(tmp_path: Path, settings, sessions):
    old = os.umask(0o022)  # as a process with the usual umask would
    try:
        with sessions.begin() as session:
            resident = get_or_create_resident(session=session, channel="web", sender_id="web:files-at-rest")
            photo = save_photo(
                session=session,
                resident=resident,
                data=PNG,
                upload_dir=settings.upload_dir,
                now=datetime.now(timezone.utc),
            )
            stored = settings.upload_dir / photo.path
    finally:
        os.umask(old)
    assert mode(stored) == 0o600
    assert mode(stored.parent) == 0o700 and mode(settings.upload_dir) == 0o700


def test_an_old_world_readable_var_is_tightened_on_upgrade(tmp_path: Path, project_env: dict[str, str]):
    var = tmp_path / "var"
    old = os.umask(0o022)
    try:
        (var / "uploads" / "202601").mkdir(parents=True)
        (var / "uploads" / "202601" / "Pold.png").write_bytes(PNG)
        (var / "logs").mkdir()
        (var / "logs" / "web.log").write_text("居民 13812345678 说……\n", encoding="utf-8")
        (var / "secrets.env").write_text("SECRET_KEY=old-key\nRASA_TOKEN=old-token\n", encoding="utf-8")
        for name in ("santong.db", "rasa_tracker.db"):
            with sqlite3.connect(var / name) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("CREATE TABLE IF NOT EXISTS t (x)")
        (var / "rasa_tracker.db-wal").write_bytes(b"")
        (var / "test-services" / "pg").mkdir(parents=True)
        (var / "test-services" / "pg" / "server.log").write_text("postgres\n", encoding="utf-8")
        outside = tmp_path / "elsewhere"
        outside.mkdir()
        with sqlite3.connect(outside / "tracker.db") as connection:
            connection.execute("CREATE TABLE t (x)")
        os.chmod(var, 0o755)
    finally:
        os.umask(old)
    before = {p: mode(p) for p in var.rglob("*")}
    assert before[var / "santong.db"] == 0o644 and before[var / "uploads"] == 0o755  # as an old version left it

    backend_command("secrets", "init", "--file", str(var / "secrets.env"), env=project_env)
    assert mode(var) == 0o711
    private = [p for p in var.rglob("*") if "test-services" not in p.parts]
    assert {str(p.relative_to(var)): oct(mode(p)) for p in private if mode(p) & 0o077} == {}
    assert mode(var / "uploads" / "202601" / "Pold.png") == 0o600 and mode(var / "logs") == 0o700
    assert mode(var / "test-services") == 0o755 and mode(var / "test-services" / "pg" / "server.log") == 0o644

    # db upgrade tightens the databases the settings name, wherever they are, without touching their folder.
    backend_command("db", "upgrade", env={**project_env, "TRACKER_STORE_URL": f"sqlite:///{outside / 'tracker.db'}"})
    assert mode(outside / "tracker.db") == 0o600 and mode(outside) == 0o755


def test_the_masked_runner_makes_what_rasa_writes_owner_only(tmp_path: Path):
    """Rasa and the action server, run by the launcher (rasa_ext), keep their tracker database and logs private."""
    (tmp_path / "writer.py").write_text(
        "import sqlite3, sys\n"
        "if __name__ == '__main__':\n"
        "    sqlite3.connect(sys.argv[1]).execute('CREATE TABLE t (x)').connection.commit()\n"
        "    open(sys.argv[2], 'w').write('log line\\n')\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{tmp_path}"}
    subprocess.run(
        [sys.executable, "-m", "backend.rasa_ext.launcher", "writer", str(tmp_path / "t.db"), str(tmp_path / "r.log")],
        env=env, check=True, timeout=60, preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert mode(tmp_path / "t.db") == 0o600 and mode(tmp_path / "r.log") == 0o600
