"""One training request, from the queue to the decision, with progress a person can watch.

The console (or ``python -m backend model train``) queues a job; the worker
starts it in a process of its own (training takes minutes and must not hold
up notifications), and that process moves the job through its stages:

1. 训练模型 — ``rasa train`` from ``data/`` and ``domain/``, its output
   shown line by line; a model already trained from the same inputs is reused;
2. 评估 and 对话测试 — the candidate and the serving model, in the same run, on
   the held-out split, the real messages when there are any, and the
   conversation tests (:func:`backend.training.scoring.measure`; figures measured
   before from the same model, inputs and code are read back, not measured again);
3. 决定 — :func:`backend.training.promotion.decide`; if not worse, 上线:
   swapped into every running Rasa server (:func:`backend.training.versions.promote`).

``make train`` (``model ensure``) and the console's retrain both end here,
so both go through the same rule.

Only one job runs at a time (one machine's cores). The running process
touches ``heartbeat_at`` as it goes; a job whose heartbeat stopped (process
killed, machine restarted) is marked failed, so the console never shows a
training that is not happening.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rasa.engine.exceptions import GraphSchemaException
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.errors import InvalidInput, NotFound
from backend.models import TrainingJob
from backend.models.base import utcnow
from backend.settings import PROJECT_ROOT, Settings
from backend.training import promotion, scoring, versions
from backend.training.rasa_server import RasaServer

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)  # no heartbeat for this long: the job's process is gone
HEARTBEAT_SECONDS = 2.0
ACTIVE = ("queued", "running")
SCORES_FOLDER = "model-scores"  # under var/: figures already measured (backend.training.score_cache)


class TrainingBusy(InvalidInput):
    """A training job is already queued or running."""


def servers_of(settings: Settings) -> list[RasaServer]:
    """Every Rasa server a promoted model goes into."""
    return [RasaServer(url, settings.rasa_token) for url in settings.rasa_server_urls]


def mark_stale(session: Session, now: datetime) -> list[int]:
    """Fail the running jobs whose process stopped beating; their ids."""
    stale = session.scalars(
        select(TrainingJob).where(TrainingJob.status == "running", TrainingJob.heartbeat_at < now - STALE_AFTER)
    ).all()
    for job in stale:
        job.status, job.finished_at = "failed", now
        job.error = "训练进程中断了（没有心跳超过 10 分钟），请重新开始训练。"
    return [int(job.id) for job in stale]


def interrupt(session: Session, job_id: int, now: datetime) -> None:
    """Record that a running job's process was stopped (the worker shutting down)."""
    job = session.get(TrainingJob, job_id)
    if job is not None and job.status == "running":
        job.status, job.finished_at = "failed", now
        job.error = "工作进程停止，训练中断了，请重新开始训练。"


def active(session: Session) -> TrainingJob | None:
    """The job queued or running now, if any."""
    return session.scalars(select(TrainingJob).where(TrainingJob.status.in_(ACTIVE)).order_by(TrainingJob.id)).first()


def recent(session: Session, limit: int = 10) -> list[TrainingJob]:
    """The newest jobs first."""
    return list(session.scalars(select(TrainingJob).order_by(TrainingJob.id.desc()).limit(limit)))


def request(
    session: Session, *, by: str, now: datetime, config: str = "config.yml", auto_promote: bool = True
) -> TrainingJob:
    """Queue a training job.

    Raises:
        TrainingBusy: one is already queued or running.
        InvalidInput: the config file does not exist.
    """
    mark_stale(session, now)
    busy = active(session)
    if busy is not None:
        raise TrainingBusy(
            f"已经有一次训练在{'排队' if busy.status == 'queued' else '进行'}（第 {busy.id} 次），完成后再开始新的。"
        )
    if not (PROJECT_ROOT / config).is_file():
        raise InvalidInput(f"找不到训练配置 {config}。")
    job = TrainingJob(
        status="queued",
        stage="排队等待",
        requested_by=by,
        requested_at=now,
        config=config,
        auto_promote=int(auto_promote),
    )
    session.add(job)
    session.flush()
    return job


def claim(session: Session, job_id: int, now: datetime) -> bool:
    """Take a queued job for running (False if someone else took it)."""
    result = session.execute(
        update(TrainingJob)
        .where(TrainingJob.id == job_id, TrainingJob.status == "queued")
        .values(status="running", stage="启动中", started_at=now, heartbeat_at=now)
    )
    return bool(result.rowcount)


class _Progress:
    """Writes a job's stage and latest line, and its heartbeat, at most every couple of seconds."""

    def __init__(self, sessions: sessionmaker[Session], job_id: int, clock: Callable[[], datetime]):
        self._sessions, self._job_id, self._clock = sessions, job_id, clock
        self._last = 0.0

    def stage(self, stage: str, line: str | None = None) -> None:
        self._write(stage=stage, progress=line)

    def line(self, text: str) -> None:
        text = text.strip()
        if not text or time.monotonic() - self._last < HEARTBEAT_SECONDS:
            return
        self._write(progress=text[-300:])

    def _write(self, **values: Any) -> None:
        self._last = time.monotonic()
        with self._sessions.begin() as session:
            session.execute(
                update(TrainingJob).where(TrainingJob.id == self._job_id).values(heartbeat_at=self._clock(), **values)
            )


def run(
    job_id: int,
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    echo: Callable[[str], None] | None = None,
) -> TrainingJob:
    """Run a job to its decision (it must be queued, or running and claimed by the caller).

    Failures are recorded on the job (status ``failed`` and why), not raised.
    """
    from backend.model_store import fingerprint, model_path, train

    with sessions.begin() as session:
        job = session.get(TrainingJob, job_id)
        if job is None:
            raise NotFound(f"没有第 {job_id} 次训练。")
        if job.status == "queued":
            claim(session, job_id, clock())
        elif job.status != "running":
            raise InvalidInput(f"第 {job_id} 次训练已经{job.status}。")
        config, auto_promote, by = PROJECT_ROOT / str(job.config), bool(job.auto_promote), str(job.requested_by)
    progress = _Progress(sessions, job_id, clock)

    def say(stage: str, line: str | None = None) -> None:
        progress.stage(stage, line)
        if echo:
            echo(f"{stage}{'：' + line if line else ''}")

    env = {**os.environ, **settings.rasa_environment()}
    try:
        target = model_path(settings.model_dir, config=config)
        name = target.name.removesuffix(".tar.gz")
        if target.exists():
            say("训练模型", "这份训练数据和配置已经训练过，直接用已有的模型。")
        else:
            say("训练模型", "开始 rasa train（约 1–3 分钟）")
            train(config, settings.model_dir, name, env=env, on_line=progress.line)
        os.environ.update(settings.rasa_environment())
        with sessions() as session:
            current = versions.serving(session)
            current_name = str(current.name) if current is not None else None
        candidate_scores: dict[str, Any] | None = None
        serving_scores: dict[str, Any] | None = None
        if current_name == name:
            decision = promotion.Decision(False, "新模型就是正在使用的模型（训练数据和配置都没变），不用上线。")
        else:

            def measure(model: Path, label: str) -> dict[str, Any]:
                return scoring.measure(
                    model,
                    realdev_dir=settings.realdev_dir,
                    env=env,
                    label=label,
                    say=say,
                    on_line=progress.line,
                    cache_dir=settings.var_dir / SCORES_FOLDER,
                )

            started = time.monotonic()
            candidate_scores = measure(target, "新模型")
            serving_path = versions.archive(settings.model_dir, current_name) if current_name else None
            unloadable = False
            if serving_path is not None and serving_path.exists():
                try:
                    serving_scores = measure(serving_path, "正在使用的模型")
                except GraphSchemaException as exc:  # trained by a release whose components have moved
                    logger.warning("the serving model %s cannot be loaded by this code: %s", current_name, exc)
                    unloadable = True
            logger.info("promotion gate measured both models in %.0f s", time.monotonic() - started)
            if current_name is not None and serving_scores is None:
                why = "是旧版本的代码训练的，现在的代码加载不了它" if unloadable else "的文件已经不在了"
                decision = promotion.Decision(True, f"正在使用的模型 {current_name} {why}，没法比较，新模型直接上线。")
            else:
                decision = promotion.decide(candidate_scores, serving_scores)
        promoting = decision.promote and auto_promote
        if promoting:
            say("上线", "把新模型换进正在运行的 Rasa 服务器")  # before the transaction: SQLite has one writer
        with sessions.begin() as session:
            version = versions.record(
                session, name=name, fingerprint=fingerprint(config=config), by=by, now=clock(),
                scores=candidate_scores, decision=decision.text if candidate_scores is not None else None,
            )  # fmt: skip
            if current_name is not None and current_name != name and serving_scores is not None:
                versions.record(session, name=current_name, fingerprint="", by=by, now=clock(), scores=serving_scores)
            if promoting:
                swapped = versions.promote(
                    session, version, servers=servers_of(settings), model_dir=settings.model_dir, by=by, now=clock()
                )
                outcome = decision.text + (
                    f"\n已换进 {len(swapped)} 台运行中的 Rasa 服务器。"
                    if swapped
                    else "\nRasa 服务器没在运行，下次启动时加载新模型。"
                )
            elif decision.promote:
                outcome = decision.text + "\n（这次训练设置为不自动上线，可在工作台手动上线。）"
            else:
                if current_name != name:
                    version.status = "rejected"
                outcome = decision.text
            job = session.get(TrainingJob, job_id)
            job.status, job.stage, job.finished_at, job.heartbeat_at = "done", "完成", clock(), clock()
            job.candidate, job.decision, job.progress = name, outcome, None
        if echo:
            echo(outcome)
    except Exception as exc:  # every failure is written on the job for the person watching it
        logger.exception("training job %s failed", job_id)
        with sessions.begin() as session:
            job = session.get(TrainingJob, job_id)
            job.status, job.finished_at = "failed", clock()
            job.error = f"{type(exc).__name__}: {str(exc)[:1500]}"
            output = getattr(exc, "output", None)
            if output:
                job.error += "\n" + str(output)[-1500:]
        if echo:
            echo(f"训练失败：{exc}")
    with sessions() as session:
        return session.get(TrainingJob, job_id)
