"""The Telegram bridge: Telegram chats ⇄ Rasa's REST channel, with nothing lost on the way.

python-telegram-bot 22's :class:`~telegram.Bot` talks to the Bot API. Long
polling is the default (it works behind NAT, no public URL); a webhook is
the option (``TELEGRAM_WEBHOOK_URL``), and every webhook call must carry
Telegram's secret-token header, compared in constant time.

The path of a message, each step durable before the next:

1. **Store** (:mod:`bot.incoming`): the update is written under its
   ``update_id`` before Telegram hears it was received (the next
   ``getUpdates`` offset, or the webhook's 200; the webhook listens at the
   path of ``TELEGRAM_WEBHOOK_URL`` behind the site's HTTPS proxy). A
   repeated update is dropped.
2. **Ingest**: the user's updates become chat-inbox messages in order; a
   photo is downloaded and stored as the sender's first.
3. **Forward** (:mod:`backend.services.chat`): one message at a time per
   user, waiting for Rasa's answer before the next, so Rasa's lock store
   never makes a quick burst wait a second per message. An empty answer
   (action server down) keeps the message pending; with its first failure the
   resident is told, once, that it is saved, and it is retried until answered.
4. **Send** (:mod:`bot.outgoing`): the replies, the bridge's notices and
   ticket news go out in order within Telegram's limits.

Each user has at most one task doing 2–4; a sweep every few seconds picks
up whatever is due after a back-off or a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from telegram import Bot, Update
from telegram.error import RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from backend.db import make_engine, make_session_factory
from backend.rasa_client import RasaClient
from backend.services import chat as chat_service
from backend.services.chat_leases import senders_with_due_messages
from backend.settings import Settings
from bot.incoming import ingest, read_update, store_update, users_with_due_updates
from bot.outgoing import retry_seconds, send_due, senders_with_due_replies
from bot.rate_limit import RateLimiter

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
POLL_TIMEOUT = 30
SWEEP_SECONDS = 2.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def make_bot(settings: Settings, *, read_timeout: float = 10.0) -> Bot:
    """A Bot for the configured API server (files come from its ``/file/bot`` path)."""
    base = settings.telegram_api_url.rstrip("/")
    file_base = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"
    request = HTTPXRequest(connection_pool_size=16, read_timeout=read_timeout, connect_timeout=5.0)
    return Bot(
        settings.telegram_bot_token,
        base_url=base,
        base_file_url=file_base,
        request=request,
        get_updates_request=HTTPXRequest(read_timeout=read_timeout, connect_timeout=5.0),
    )


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time check of the webhook's secret-token header."""
    return bool(expected) and hmac.compare_digest((given or "").encode(), expected.encode())


class Bridge:
    """Stores updates, keeps one worker per Telegram user, and sweeps for due work."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        bot: Bot,
        rasa: RasaClient,
        upload_dir: Path,
        limiter: RateLimiter | None = None,
    ):
        self.sessions = sessions
        self.bot = bot
        self.rasa = rasa
        self.upload_dir = upload_dir
        self.limiter = limiter or RateLimiter()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()

    async def accept(self, update: Update) -> bool:
        """Store one update and start its user's worker; ``False`` for a repeat.

        Raises:
            OperationalError: the database is unavailable; the caller must not
                confirm the update to Telegram, which will deliver it again.
        """
        incoming = read_update(update)
        with self.sessions.begin() as session:
            new = store_update(session=session, incoming=incoming)
        if new and incoming.callback_query_id:
            with contextlib.suppress(TelegramError):  # only stops the button's spinner
                await self.bot.answer_callback_query(incoming.callback_query_id)
        if new and incoming.user_id is not None and incoming.kind != "other":
            self.kick(incoming.user_id)
        return new

    def kick(self, user_id: int) -> None:
        """Make sure the user's worker runs (again, if it is running now)."""
        task = self._tasks.get(user_id)
        if task is not None and not task.done():
            self._again.add(user_id)
            return
        self._tasks[user_id] = asyncio.create_task(self._work(user_id), name=f"telegram-chat-{user_id}")

    async def _work(self, user_id: int) -> None:
        try:
            while True:
                self._again.discard(user_id)
                try:
                    await self.process(user_id)
                except OperationalError as exc:
                    logger.warning("chat %s: database unavailable (%s); the sweep retries", user_id, type(exc).__name__)
                    return
                except Exception:
                    logger.exception("chat %s: unexpected failure; the sweep retries", user_id)
                    return
                if user_id not in self._again:
                    return
        finally:
            if self._tasks.get(user_id) is asyncio.current_task():
                del self._tasks[user_id]

    async def process(self, user_id: int) -> None:
        """Ingest, forward and send for one user, in that order."""
        sender = f"telegram:{user_id}"
        await ingest(sessions=self.sessions, user_id=user_id, download=self._download, upload_dir=self.upload_dir)
        # A message Rasa did not answer stays pending; its first failure queued the "kept, retrying" notice.
        await chat_service.deliver_pending(sessions=self.sessions, sender=sender, forward=self.rasa.send)
        await send_due(sessions=self.sessions, sender=sender, bot=self.bot, limiter=self.limiter)

    async def _download(self, file_id: str) -> bytes:
        file = await self.bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())

    async def sweep(self) -> int:
        """Start the worker of every user with something due; returns how many."""
        with self.sessions() as session:
            users = set(users_with_due_updates(session=session))
            senders = senders_with_due_messages(session=session, prefix="telegram:")
            senders += senders_with_due_replies(session=session)
        users.update(int(s.split(":", 1)[1]) for s in senders)
        for user_id in users:
            self.kick(user_id)
        return len(users)

    async def sweep_forever(self, stop: asyncio.Event, every: float = SWEEP_SECONDS) -> None:
        """Sweep until ``stop`` is set; a database outage is waited out."""
        while not stop.is_set():
            try:
                await self.sweep()
            except OperationalError as exc:
                logger.warning("sweep: database unavailable (%s)", type(exc).__name__)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)

    async def poll_once(self, offset: int | None, timeout: int = 0) -> int | None:
        """One ``getUpdates``: store each update, and return the offset that confirms the stored ones.

        If storing fails part-way this raises, the caller keeps its old
        offset, and Telegram sends the updates again (those already stored
        are dropped as repeats).
        """
        updates = await self.bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES)
        for update in updates:
            await self.accept(update)
            offset = update.update_id + 1
        return offset

    async def poll_forever(self, stop: asyncio.Event, timeout: int = POLL_TIMEOUT) -> None:
        """Long-poll Telegram; an update is confirmed (next offset) only after it is stored."""
        offset: int | None = None
        failures = 0
        while not stop.is_set():
            try:
                offset = await self.poll_once(offset, timeout)
                failures = 0
                continue
            except RetryAfter as exc:
                delay = retry_seconds(exc)
            except (TelegramError, OperationalError) as exc:
                failures += 1
                delay = min(30.0, 0.5 * 2**failures)
                logger.warning("polling: %s: %s (retrying in %.1fs)", type(exc).__name__, exc, delay)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def drain(self) -> None:
        """Wait for the running chat workers (used at shutdown and in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)


def webhook_app(bridge: Bridge, secret: str, path: str = "/") -> Starlette:
    """The webhook endpoint at ``path``: refuses a wrong secret (403), stores the update, then answers 200.

    A database outage answers 503, so Telegram delivers the update again.
    """
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def receive(request: Request) -> Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            return Response(status_code=403)
        try:
            data = await request.json()
            update = Update.de_json(data, bridge.bot)
        except Exception:  # noqa: BLE001 - not an update: say so, store nothing
            return Response(status_code=400)
        if update is None:
            return Response(status_code=400)
        try:
            await bridge.accept(update)
        except OperationalError:
            return Response(status_code=503)
        return Response(status_code=200)

    return Starlette(routes=[Route(path, receive, methods=["POST"])])


async def _serve(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    rasa = RasaClient(settings.rasa_url)
    bot = make_bot(settings, read_timeout=10.0)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with bot:
            bridge = Bridge(sessions=sessions, bot=bot, rasa=rasa, upload_dir=settings.upload_dir)
            sweeper = asyncio.create_task(bridge.sweep_forever(stop))
            if settings.telegram_webhook_url:
                await _serve_webhook(settings, bridge, stop)
            else:
                await bot.delete_webhook()
                logger.info("Telegram bridge polling as @%s", bot.username)
                await bridge.poll_forever(stop)
            stop.set()
            await sweeper
            await bridge.drain()
    finally:
        await rasa.aclose()
        engine.dispose()
        logger.info("Telegram bridge stopped")


async def _serve_webhook(settings: Settings, bridge: Bridge, stop: asyncio.Event) -> None:
    import uvicorn

    url = settings.telegram_webhook_url
    path = urlsplit(url).path or "/"
    await bridge.bot.set_webhook(url, secret_token=settings.telegram_webhook_secret, allowed_updates=ALLOWED_UPDATES)
    logger.info(
        "Telegram bridge receiving on %s (listening on %s:%s%s)",
        url,
        settings.telegram_webhook_host,
        settings.telegram_webhook_port,
        path,
    )
    config = uvicorn.Config(
        webhook_app(bridge, settings.telegram_webhook_secret, path),
        host=settings.telegram_webhook_host,
        port=settings.telegram_webhook_port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]  # ours stop it
    serving = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await serving


def run(settings: Settings) -> None:
    """Run the bridge until SIGINT/SIGTERM: long polling, or the webhook when configured."""
    asyncio.run(_serve(settings))
