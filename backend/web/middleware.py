"""ASGI guards around the whole web app: request bodies have a size limit, responses carry security headers.

:class:`BodySizeLimit` refuses a body over its limit with 413 before the
app reads it: at once when ``Content-Length`` says so, or, for a chunked
body without one, as soon as the bytes received pass the limit (the app
then sees the client as gone, and nothing it answers is sent). Without it a
50 MB JSON body was read into memory and parsed by the chat and triage APIs.

:class:`SecurityHeaders` adds the headers that keep the chat page and the
console from being framed, sniffed or made to run injected script:
``Content-Security-Policy`` (scripts, styles, images and requests only from
this origin: no inline script, no inline style, no framing),
``X-Frame-Options``, ``X-Content-Type-Options`` and ``Referrer-Policy``.
The API reference pages (``/docs``, ``/redoc``) are FastAPI's, which load
their scripts from a CDN and start them inline; they get a looser policy of
their own and show no resident data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from backend import messages

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's Swagger UI and ReDoc pages: their scripts and styles come from jsDelivr and start inline.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)


def readable_size(limit: int) -> str:
    """``65536`` → ``64 KB``, ``8388608`` → ``8 MB``: the limit as a person reads it."""
    if limit >= 1024 * 1024 and limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit >= 1024:
        return f"{limit // 1024} KB"
    return f"{limit} B"


class BodySizeLimit:
    """Answer 413 to a request whose body is over its limit, without reading the body.

    Args:
        app: the ASGI app guarded.
        limit: the largest body in bytes, for every path not in ``limits``.
        limits: paths with a limit of their own (the photo upload: an image is
            bigger than any JSON a resident sends), path → bytes.
    """

    def __init__(self, app: ASGIApp, *, limit: int, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse at once on a declared length over the limit, else count the body as the app reads it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = self.limits.get(path, self.limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            logger.info("refused a %d-byte body to %s %s (limit %d)", declared, scope.get("method"), path, limit)
            await _too_large(send, path, limit, self.limits)
            return

        received = 0
        refused = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    logger.info("refused a streamed body over %d bytes to %s %s", limit, scope.get("method"), path)
                    if not response_started:
                        await _too_large(send, path, limit, self.limits)
                    return {"type": "http.disconnect"}  # the app stops reading: for it, the client left
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return  # the 413 went out; whatever the app answers to the "disconnect" is dropped
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            logger.debug("the app stopped on the refused body to %s", path, exc_info=True)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None


async def _too_large(send: Send, path: str, limit: int, limits: dict[str, int]) -> None:
    """Send the 413: a Chinese and English sentence as ``detail``, as every error of the API has."""
    text = messages.PHOTO_BODY_TOO_LARGE if path in limits else messages.BODY_TOO_LARGE
    body = json.dumps({"detail": text.format(limit=readable_size(limit))}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of the body is never read: this connection is done
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Add the security headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the missing headers to the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        policy = DOCS_CONTENT_SECURITY_POLICY if path in DOCS_PATHS else CONTENT_SECURITY_POLICY
        extra = ((b"content-security-policy", policy.encode()), *SECURITY_HEADERS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
