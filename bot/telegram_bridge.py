"""The Telegram bridge: Telegram chats ⇄ Rasa's REST channel (python-telegram-bot 22).

Long polling, so it works behind NAT with no public URL. The sender Rasa
sees is ``telegram:<from.id>``, taken from Telegram's update, never from the
message text. Rasa's buttons become inline keyboards; pressing one sends its
payload back as the resident's next message. When Rasa gives no answer, the
resident is told the system is busy.

A photo is downloaded (largest size), checked and stored through the
backend (:mod:`backend.photos`) as the sender's, and the conversation gets
only its token, so it joins the report in progress or the resident's open
ticket.

Durable storage of updates, per-chat ordering across restarts, retries and
the grid member commands come with the Telegram feature; this module is the
working core they build on.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from backend import messages
from backend.db import make_engine, make_session_factory
from backend.errors import InvalidInput
from backend.models.base import utcnow
from backend.photos import MAX_BYTES, photo_message, save_photo
from backend.services.residents import get_or_create_resident
from backend.settings import Settings
from bot.rasa_client import RasaClient, RasaUnavailable

logger = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096
# Telegram commands and what the conversation receives for them.
COMMANDS = {"/start": "/greet", "/help": "/help", "/mytickets": "/ticket_status", "/points": "/points_balance"}
CALLBACK_DATA_LIMIT = 64


def sender_id(update: Update) -> str | None:
    """The Rasa sender for an update: the Telegram user who sent it."""
    user = update.effective_user
    return f"telegram:{user.id}" if user is not None else None


def render(answers: list[dict[str, Any]]) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """Turn Rasa's answers into Telegram messages: text plus an inline keyboard of its buttons.

    Telegram limits a message to 4096 characters and callback data to 64
    bytes; longer texts are split, and a button whose payload is too long is
    sent as its title instead (Rasa understands the title as text).
    """
    out: list[tuple[str, InlineKeyboardMarkup | None]] = []
    for answer in answers:
        text = str(answer.get("text") or "")
        buttons = [b for b in answer.get("buttons") or [] if isinstance(b, dict)]
        keyboard = None
        if buttons:
            rows = []
            for b in buttons:
                title = str(b.get("title", ""))[:64] or "…"
                payload = str(b.get("payload", "")) or title
                if len(payload.encode()) > CALLBACK_DATA_LIMIT:
                    payload = title[: CALLBACK_DATA_LIMIT // 3]
                rows.append([InlineKeyboardButton(title, callback_data=payload)])
            keyboard = InlineKeyboardMarkup(rows)
        if not text and keyboard is None:
            continue
        chunks = [text[i : i + TELEGRAM_TEXT_LIMIT] for i in range(0, len(text), TELEGRAM_TEXT_LIMIT)] or ["请选择："]
        for chunk in chunks[:-1]:
            out.append((chunk, None))
        out.append((chunks[-1], keyboard))
    return out


async def relay(rasa: RasaClient, sender: str, text: str) -> list[tuple[str, InlineKeyboardMarkup | None]]:
    """Send one message to Rasa and return what to send back to the chat."""
    try:
        answers = await rasa.send(sender, text)
    except RasaUnavailable as exc:
        logger.warning("Rasa gave no answer for %s: %s", sender, exc)
        return [(messages.BUSY_TELEGRAM, None)]
    return render(answers)


async def _on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    sender = sender_id(update)
    if message is None or sender is None or not message.text:
        return
    text = message.text
    if text.startswith("/"):
        command = text.split()[0].split("@")[0]
        text = COMMANDS.get(command, text)
    for reply, keyboard in await relay(context.bot_data["rasa"], sender, text[:2000]):
        await message.reply_text(reply, reply_markup=keyboard)


async def _on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    sender = sender_id(update)
    if query is None or sender is None or query.data is None:
        return
    await query.answer()
    chat = update.effective_chat
    if chat is None:
        return
    for reply, keyboard in await relay(context.bot_data["rasa"], sender, query.data):
        await context.bot.send_message(chat.id, reply, reply_markup=keyboard)


def store_photo(sessions: sessionmaker[Session], settings: Settings, user_id: int, data: bytes) -> str:
    """Keep a Telegram user's photo as theirs and return the token the conversation gets.

    Raises:
        InvalidInput: not an image, empty or too large (the message says which).
    """
    with sessions.begin() as session:
        resident = get_or_create_resident(session=session, channel="telegram", sender_id=str(user_id))
        photo = save_photo(session=session, resident=resident, data=data, upload_dir=settings.upload_dir, now=utcnow())
        return str(photo.token)


async def _on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or not message.photo:
        return
    largest = message.photo[-1]
    if largest.file_size and largest.file_size > MAX_BYTES:
        await message.reply_text("照片太大了，请压缩后再发。")
        return
    data = bytes(await (await largest.get_file()).download_as_bytearray())
    try:
        token = store_photo(context.bot_data["sessions"], context.bot_data["settings"], user.id, data)
    except InvalidInput as exc:
        await message.reply_text(str(exc))
        return
    for reply, keyboard in await relay(context.bot_data["rasa"], f"telegram:{user.id}", photo_message(token)):
        await message.reply_text(reply, reply_markup=keyboard)


async def _post_init(application: Application) -> None:
    settings: Settings = application.bot_data["settings"]
    application.bot_data["rasa"] = RasaClient(settings.rasa_url)
    application.bot_data["sessions"] = make_session_factory(make_engine(settings.database_url))


async def _post_shutdown(application: Application) -> None:
    rasa = application.bot_data.get("rasa")
    if rasa is not None:
        await rasa.aclose()


def build_application(settings: Settings) -> Application:
    """The python-telegram-bot application with the bridge's handlers."""
    application = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data["settings"] = settings
    application.add_handler(CommandHandler([c.lstrip("/") for c in COMMANDS], _on_text))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _on_text))
    application.add_handler(MessageHandler(filters.PHOTO, _on_photo))
    application.add_handler(CallbackQueryHandler(_on_button))
    return application


def run(settings: Settings) -> None:
    """Long-poll Telegram until stopped (Ctrl-C / SIGTERM)."""
    build_application(settings).run_polling(allowed_updates=Update.ALL_TYPES)
