"""The backend worker: background work that must not wait for a person.

It retries the web chat messages Rasa did not answer (action server down,
Rasa restarting), in order per visitor, with back-off; and about once a minute it
closes unrated tickets as 默认满意, queues the messages Rasa was unsure of
for review (:mod:`backend.console.review_queue`), and sends tickets that outstayed their
level one level up (:mod:`backend.tickets.escalation`); about once an
hour it deletes conversations past their retention (:mod:`backend.retention`). It starts the
training jobs queued in the console, one at a time, each in a process of
its own (:mod:`backend.training.jobs`), so the chat retries never wait for a
model to train. (Ticket news needs no round of its own: it is written into
the residents' chats with the change, :mod:`backend.notifications`.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.console.review_queue import scan
from backend.console.tracker_access import TrackerUnavailable, read_only_engine
from backend.db import make_engine, make_session_factory
from backend.models.base import utcnow
from backend.rasa_client import RasaClient
from backend.retention import Purged, purge_backend, purge_tracker_store
from backend.services import chat as chat_service
from backend.services.chat_leases import senders_with_due_messages
from backend.settings import PROJECT_ROOT, Settings
from backend.tickets.escalation import escalate_overdue
from backend.tickets.satisfaction import close_unrated
from backend.training import jobs as training_jobs

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0
CLOCK_EVERY = 30  # the slow clock (default ratings) runs about once a minute
RETENTION_EVERY = 1800  # the conversation clean-up runs about once an hour
FRESH_GRACE = timedelta(seconds=10)  # a message no attempt failed yet is the storing request's for this long


def close_round(*, sessions: sessionmaker[Session], days: int, now: datetime | None = None) -> list[str]:
    """Close resolved tickets nobody rated within ``days`` as 默认满意; their numbers."""
    with sessions.begin() as session:
        closed = close_unrated(session=session, now=now or utcnow(), days=days)
    if closed:
        logger.info("closed %d unrated ticket(s) as 默认满意", len(closed))
    return closed


def escalation_round(*, sessions: sessionmaker[Session], now: datetime | None = None) -> list[tuple[str, str]]:
    """Escalate the tickets that outstayed their level (config/escalation.yml)."""
    with sessions.begin() as session:
        moved = escalate_overdue(session=session, now=now or utcnow())
    if moved:
        logger.info("auto-escalated %d ticket(s)", len(moved))
    return moved


def training_round(
    *, sessions: sessionmaker[Session], running: subprocess.Popen[bytes] | None, now: datetime | None = None
) -> subprocess.Popen[bytes] | None:
    """Start the queued training job when none is running; the process now running a job, if any.

    The job is claimed (queued → running) before its process starts, so a
    second worker or the next round never starts it twice; a job whose
    process died is failed by its stopped heartbeat (:func:`training_jobs.mark_stale`).
    """
    if running is not None and running.poll() is None:
        return running
    now = now or utcnow()
    with sessions.begin() as session:
        training_jobs.mark_stale(session, now)
        job = training_jobs.active(session)
        if job is None or job.status != "queued" or not training_jobs.claim(session, int(job.id), now):
            return None
        job_id = int(job.id)
    logger.info("starting training job %d", job_id)
    return subprocess.Popen(
        [sys.executable, "-m", "backend", "model", "run-job", str(job_id)], cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL
    )


def retention_round(*, sessions: sessionmaker[Session], settings: Settings, now: datetime | None = None) -> Purged:
    """Delete conversations older than CONVERSATION_RETENTION_DAYS (:mod:`backend.retention`)."""
    now = now or utcnow()
    days = settings.conversation_retention_days
    purged = purge_tracker_store(settings.tracker_store_url, now=now, days=days)
    with sessions.begin() as session:
        purge_backend(session, now=now, days=days, purged=purged)
    if purged.conversations or purged.chat_messages or purged.telegram_updates:
        logger.info("retention (%d days): deleted %s", days, purged)
    return purged


def review_round(*, sessions: sessionmaker[Session], settings: Settings) -> int:
    """Queue the resident messages Rasa was unsure of since the last round (the console's 待标注)."""
    try:
        with sessions.begin() as session:
            added = scan(
                session=session,
                tracker=read_only_engine(settings.tracker_store_url),
                threshold=settings.review_confidence_threshold,
            )
    except TrackerUnavailable as exc:  # Rasa has not written its store yet
        logger.debug("review scan skipped: %s", exc)
        return 0
    if added:
        logger.info("queued %d unsure message(s) for review", added)
    return added


async def retry_round(*, sessions: sessionmaker[Session], rasa: RasaClient) -> int:
    """One pass over every visitor with a due message; returns messages answered."""
    with sessions() as session:
        senders = senders_with_due_messages(session=session, grace=FRESH_GRACE)
    answered = 0
    for sender in senders:
        report = await chat_service.deliver_pending(sessions=sessions, sender=sender, forward=rasa.send)
        answered += report.answered
    if answered:
        logger.info("worker delivered %d retried message(s)", answered)
    return answered


def heartbeat(path: Path, now: datetime | None = None) -> None:
    """Touch the heartbeat file (owner-only), which the web app's ``/healthz`` reads.

    Written at the top of every round: a worker that died or hangs stops
    touching it, and ``/healthz`` reports it once the file is older than
    WORKER_HEARTBEAT_STALE_SECONDS. The file holds the time, for a person
    reading it; the check uses its modification time.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write((now or utcnow()).isoformat() + "\n")


@contextmanager
def surviving(task: str) -> Iterator[None]:
    """Run one of the worker's tasks so that its failure stops neither the worker nor the other tasks.

    A database that is locked or unreachable is expected (wait, try again next
    round, lose nothing). Anything else is a bug, logged with its traceback;
    the chat retries and the clocks must still run meanwhile (once, a
    resident's message with a NUL character in the review scan stopped the
    whole worker).
    """
    try:
        yield
    except OperationalError as exc:
        logger.warning("worker %s: database unavailable (%s), retrying", task, type(exc).__name__)
    except Exception:
        logger.exception("worker %s failed; the other tasks go on and it is tried again next round", task)


async def run(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM."""
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    rasa = RasaClient(settings.rasa_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logger.info("worker started")
    rounds = 0
    training: subprocess.Popen[bytes] | None = None
    try:
        while not stop.is_set():
            with surviving("heartbeat"):
                heartbeat(settings.worker_heartbeat_file)
            with surviving("chat retries"):
                await retry_round(sessions=sessions, rasa=rasa)
            with surviving("training"):
                training = training_round(sessions=sessions, running=training)
            rounds += 1
            if rounds % CLOCK_EVERY == 1:
                with surviving("default ratings"):
                    close_round(sessions=sessions, days=settings.satisfaction_default_days)
                with surviving("escalation"):
                    escalation_round(sessions=sessions)
                with surviving("review queue"):
                    review_round(sessions=sessions, settings=settings)
            if rounds % RETENTION_EVERY == 1:
                with surviving("retention"):
                    retention_round(sessions=sessions, settings=settings)
            try:
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
    finally:
        if training is not None and training.poll() is None:
            training.terminate()  # the job is recorded as interrupted; nothing is half-promoted
            training.wait()
            with sessions.begin() as session:
                job_id = int(training.args[-1])  # type: ignore[index,arg-type]
                training_jobs.interrupt(session, job_id, utcnow())
        await rasa.aclose()
        engine.dispose()
        logger.info("worker stopped")
