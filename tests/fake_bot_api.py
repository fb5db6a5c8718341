"""A fake Telegram Bot API server on a loopback port, for the bridge and the notification tests.

It speaks the Bot API's HTTP interface closely enough for python-telegram-bot's
real client: ``getMe``, ``getUpdates`` (with offsets: an update stays until a
later offset confirms it), ``sendMessage``, ``answerCallbackQuery``,
``getFile`` and file downloads, ``setWebhook`` / ``deleteWebhook``. Every
call is recorded. ``script`` makes the next ``sendMessage`` calls answer 429
with ``retry_after``, 500, or hang past the client's timeout (a hung call is
recorded as not delivered, as when Telegram never got it). Connections are
kept alive between calls (HTTP/1.1), as Telegram keeps them.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

TOKEN = "123:TEST"


def too_many(retry_after: int) -> tuple[int, dict[str, Any]]:
    """A scripted 429 answer."""
    return 429, {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


SERVER_ERROR = (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
FORBIDDEN = (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})


def hang(seconds: float) -> tuple[str, float]:
    """A scripted ``sendMessage`` that answers only after ``seconds`` (past the client's timeout)."""
    return "hang", seconds


class FakeBotAPI:
    """The server and what it saw."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.delivered: list[dict[str, Any]] = []  # sendMessage calls that "reached" the chat
        self.script: list[Any] = []
        self.updates: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as Telegram's API: with http.server's default HTTP/1.0 every call of the
            # bridge opened a new connection (and this server a new thread), which Telegram never costs.
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; on a kept connection Nagle's algorithm held the body
            # back until the client's delayed ACK (~40 ms per call). Telegram's servers send at once.
            disable_nagle_algorithm = True

            def _answer(self, status: int, body: Any, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/octet-stream" if raw else "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if "/file/bot" in self.path:
                    name = self.path.rsplit("/", 1)[-1]
                    if name in fake.files:
                        self._answer(200, None, raw=fake.files[name])
                        return
                self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                method = self.path.rsplit("/", 1)[-1]
                with fake.lock:
                    fake.calls.append((method, params))
                    scripted = fake.script.pop(0) if fake.script and method == "sendMessage" else None
                if scripted is not None and scripted[0] == "hang":
                    time.sleep(scripted[1])
                    self._answer(504, {"ok": False, "error_code": 504, "description": "Gateway Timeout"})
                    return
                if scripted is not None:
                    self._answer(*scripted)
                    return
                if method == "getUpdates":
                    self._answer(200, {"ok": True, "result": fake.pending_updates(params)})
                    return
                if method == "sendMessage":
                    with fake.lock:
                        fake.delivered.append(params)
                self._answer(200, {"ok": True, "result": fake.result(method, params)})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/bot"

    def pending_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Like Telegram: an offset confirms every update below it, the rest come again.

        With nothing to give, a long poll waits (here at most half a second)
        for an update to arrive, as Telegram does.
        """
        offset = params.get("offset")
        deadline = time.monotonic() + min(0.5, float(params.get("timeout") or 0))
        while True:
            with self.lock:
                if offset not in (None, ""):
                    self.updates = [u for u in self.updates if u["update_id"] >= int(offset)]
                if self.updates or time.monotonic() >= deadline:
                    return list(self.updates)
            time.sleep(0.02)

    def push(self, update: dict[str, Any]) -> None:
        """An update arrives at Telegram for the bot."""
        with self.lock:
            self.updates.append(update)

    @staticmethod
    def result(method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": 1, "is_bot": True, "first_name": "三事通", "username": "santong_bot"}
        if method == "getFile":
            return {
                "file_id": params["file_id"],
                "file_unique_id": "u" + params["file_id"],
                "file_path": params["file_id"],
            }
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return True
        return {
            "message_id": 1,
            "date": 1763776800,
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": params.get("text", ""),
        }

    def sent(self) -> list[dict[str, Any]]:
        """Every sendMessage call, delivered or not."""
        return [p for m, p in self.calls if m == "sendMessage"]

    def close(self) -> None:
        self.server.shutdown()


def user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "居民"}


def text_update(update_id: int, user_id: int, text: str, chat_type: str = "private") -> dict[str, Any]:
    """A Telegram update carrying a text message from ``user_id`` in their private chat."""
    chat_id = user_id if chat_type == "private" else -1000 - user_id
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1763776800,
            "from": user(user_id),
            "chat": {"id": chat_id, "type": chat_type},
            "text": text,
        },
    }


def button_update(update_id: int, user_id: int, data: str) -> dict[str, Any]:
    """A button press (callback query) from ``user_id``."""
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1763776800,
                "chat": {"id": user_id, "type": "private"},
                "text": "…",
            },
        },
    }


def photo_update(update_id: int, user_id: int, file_id: str, caption: str | None = None) -> dict[str, Any]:
    """A photo (two sizes) from ``user_id``."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": 1763776800,
        "from": user(user_id),
        "chat": {"id": user_id, "type": "private"},
        "photo": [
            {"file_id": file_id + "s", "file_unique_id": "s" + file_id, "width": 90, "height": 90, "file_size": 100},
            {"file_id": file_id, "file_unique_id": "l" + file_id, "width": 800, "height": 600, "file_size": 2000},
        ],
    }
    if caption:
        message["caption"] = caption
    return {"update_id": update_id, "message": message}


def sticker_update(update_id: int, user_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1763776800,
            "from": user(user_id),
            "chat": {"id": user_id, "type": "private"},
            "sticker": {
                "file_id": "st",
                "file_unique_id": "st",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            },
        },
    }
