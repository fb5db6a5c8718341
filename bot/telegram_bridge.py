"""The Telegram bridge: Telegram chats ⇄ Rasa's REST channel (python-telegram-bot 22).

Long polling, so it works behind NAT with no public URL. The sender Rasa
sees is ``telegram:<from.id>``, taken from Telegram's update, never from the
message text. Rasa's buttons become inline keyboards; pressing one sends its
payload back as the resident's next message. When Rasa gives no answer, the
resident is told the system is busy.

Durable storage of updates, per-chat ordering across restarts, retries,
photos and the grid member commands come with the Telegram feature; this
module is the working core they build on.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from backend import messages
from backend.settings import Settings
from bot.rasa_client import RasaClient, RasaUnavailable

logger = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096
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
    if text.startswith("/start") or text.startswith("/help"):
        text = "/help" if text.startswith("/help") else "/greet"
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


async def _post_init(application: Application) -> None:
    application.bot_data["rasa"] = RasaClient(application.bot_data["rasa_url"])


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
    application.bot_data["rasa_url"] = settings.rasa_url
    application.add_handler(CommandHandler(["start", "help"], _on_text))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _on_text))
    application.add_handler(CallbackQueryHandler(_on_button))
    return application


def run(settings: Settings) -> None:
    """Long-poll Telegram until stopped (Ctrl-C / SIGTERM)."""
    build_application(settings).run_polling(allowed_updates=Update.ALL_TYPES)
