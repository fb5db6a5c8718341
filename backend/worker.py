"""The backend worker: background work that must not wait for a person.

Now: it retries the web chat messages Rasa did not answer (action server
down, Rasa restarting), in order per visitor, with back-off. Later features
add the SLA clock, auto-escalation and the notification outbox here.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backend.db import make_engine, make_session_factory
from backend.services import chat as chat_service
from backend.settings import Settings
from bot.rasa_client import RasaClient

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0


async def retry_round(*, sessions: sessionmaker[Session], rasa: RasaClient) -> int:
    """One pass over every visitor with a due message; returns messages answered."""
    with sessions() as session:
        senders = chat_service.senders_with_due_messages(session=session)
    answered = 0
    for sender in senders:
        report = await chat_service.deliver_pending(sessions=sessions, sender=sender, forward=rasa.send)
        answered += report.answered
    if answered:
        logger.info("worker delivered %d retried message(s)", answered)
    return answered


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
    try:
        while not stop.is_set():
            try:
                await retry_round(sessions=sessions, rasa=rasa)
            except OperationalError as exc:
                # Database locked or unreachable: wait and try again, lose nothing.
                logger.warning("worker: database unavailable (%s), retrying", type(exc).__name__)
            try:
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
    finally:
        await rasa.aclose()
        engine.dispose()
        logger.info("worker stopped")
