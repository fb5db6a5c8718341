"""The history of trained models and which one serves.

Promotion swaps the archive into every running Rasa server first (through
its HTTP API, :mod:`backend.training.rasa_server`) and records the change
only when that worked, so the database never claims a model the servers
do not run. A server that is not running is skipped: it loads the serving
model when it starts (:func:`serving_archive` is what the launcher asks).
A rollback is a promotion of an earlier version, with its reason recorded.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput, NotFound
from backend.models import ModelVersion
from backend.settings import Settings
from backend.training.rasa_server import RasaServer, RasaServerError

logger = logging.getLogger(__name__)


def archive(model_dir: Path, name: str) -> Path:
    """The archive file of the model called ``name``."""
    return model_dir / f"{name}.tar.gz"


def serving(session: Session) -> ModelVersion | None:
    """The version that serves now (None before the first promotion)."""
    return session.scalars(select(ModelVersion).where(ModelVersion.status == "serving")).first()


def find(session: Session, name: str) -> ModelVersion | None:
    """The version called ``name``, if recorded."""
    return session.scalars(select(ModelVersion).where(ModelVersion.name == name)).first()


def history(session: Session, limit: int = 50) -> list[ModelVersion]:
    """The newest versions first."""
    return list(
        session.scalars(
            select(ModelVersion).order_by(ModelVersion.trained_at.desc(), ModelVersion.id.desc()).limit(limit)
        )
    )


def record(
    session: Session,
    *,
    name: str,
    fingerprint: str,
    by: str,
    now: datetime,
    scores: dict[str, Any] | None = None,
    decision: str | None = None,
) -> ModelVersion:
    """Record a trained model (or update the scores and decision of one already recorded).

    ``scores`` are the promotion rule's figures (:func:`backend.training.scoring.measure`):
    numbers, plus the names of the test stories the model failed; never a message's text.
    """
    version = find(session, name)
    if version is None:
        version = ModelVersion(name=name, fingerprint=fingerprint, status="candidate", trained_at=now, trained_by=by)
        session.add(version)
    if scores is not None:
        version.scores = scores
    if decision is not None:
        version.decision = decision
    session.flush()
    return version


def serving_archive(session: Session, model_dir: Path) -> Path | None:
    """The serving model's archive when it is still on disk."""
    version = serving(session)
    if version is None:
        return None
    path = archive(model_dir, str(version.name))
    return path if path.exists() else None


def _swap(servers: list[RasaServer], path: Path) -> list[str]:
    """Load ``path`` into every running server; the URLs that were swapped (those not running are skipped)."""
    swapped: list[str] = []
    for server in servers:
        try:
            server.status()
        except RasaServerError:
            logger.info("Rasa server %s is not running: it loads the serving model when it starts", server.base_url)
            continue
        server.replace_model(path)
        swapped.append(server.base_url)
    return swapped


def promote(
    session: Session,
    version: ModelVersion,
    *,
    servers: list[RasaServer],
    model_dir: Path,
    by: str,
    now: datetime,
) -> list[str]:
    """Make ``version`` the serving model: swap it into the running servers, then record it.

    Returns:
        The URLs of the servers that now run it.

    Raises:
        InvalidInput: the archive is gone.
        RasaServerError: a running server refused the swap (nothing recorded; servers already
            swapped are put back on the previous model).
    """
    path = archive(model_dir, str(version.name))
    if not path.exists():
        raise InvalidInput(f"模型文件 {path.name} 已经不在了，不能上线。")
    previous = serving(session)
    swapped: list[str] = []
    try:
        for server in servers:
            swapped.extend(_swap([server], path))
    except RasaServerError:
        back = archive(model_dir, str(previous.name)) if previous is not None else None
        for server in servers:
            if server.base_url in swapped and back is not None and back.exists():
                try:
                    server.replace_model(back)
                except RasaServerError:
                    logger.exception("could not put %s back on %s", server.base_url, back.name)
        raise
    if previous is not None and previous.id != version.id:
        previous.status = "retired"
        session.flush()  # one serving row at a time (a unique index says so)
    version.status = "serving"
    version.promoted_at = now
    version.promoted_by = by
    session.flush()
    return swapped


def rollback(
    session: Session,
    *,
    name: str | None,
    servers: list[RasaServer],
    model_dir: Path,
    by: str,
    now: datetime,
) -> ModelVersion:
    """Serve an earlier version again: ``name``, or the one that served before the current one.

    Raises:
        NotFound: no such version, or nothing earlier to go back to.
        InvalidInput: it already serves, or its archive is gone.
        RasaServerError: a running server refused the swap.
    """
    current = serving(session)
    if name:
        target = find(session, name)
        if target is None:
            raise NotFound(f"没有叫 {name} 的模型。")
    else:
        query = select(ModelVersion).where(ModelVersion.status == "retired", ModelVersion.promoted_at.is_not(None))
        target = session.scalars(query.order_by(ModelVersion.promoted_at.desc())).first()
        if target is None:
            raise NotFound("没有更早用过的模型可以回滚。")
    if current is not None and target.id == current.id:
        raise InvalidInput(f"{target.name} 就是正在使用的模型。")
    promote(session, target, servers=servers, model_dir=model_dir, by=by, now=now)
    note = f"{now:%Y-%m-%d %H:%M} 由 {by} 回滚到这个版本" + (f"（替下 {current.name}）" if current is not None else "")
    target.decision = f"{target.decision}\n{note}" if target.decision else note
    session.flush()
    return target


def rasa_model(settings: Settings) -> Path:
    """The model a Rasa server starts with: the serving version, else the one for the current inputs.

    The serving version is the last one promoted (or rolled back to) in the
    console or by ``make train``; before any promotion is recorded (a fresh
    database, the tests' stacks) it is the model trained from the current data.
    """
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from backend.db import make_engine, make_session_factory
    from backend.model_store import model_path

    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            serving = serving_archive(session, settings.model_dir)
    except (OperationalError, ProgrammingError):
        serving = None  # database not migrated yet
    finally:
        engine.dispose()
    return serving or model_path(settings.model_dir)
