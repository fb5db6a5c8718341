"""A stand-in Rasa server on a loopback port, for tests of the code that talks to Rasa over HTTP.

The tests script Rasa's answers as functions of an ``httpx.Request`` that
return an ``httpx.Response`` (plain or ``async``); the stub serves them
over real HTTP from a thread of its own, so the client under test makes
real connections, reads real status lines and bodies, and can be refused
(:func:`refused_url`) or kept waiting past its timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
from typing import Any, Awaitable, Callable

import httpx
from aiohttp import web

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


class RasaStub:
    """Serves ``handler`` at ``url`` until :meth:`close` (or the end of a ``with`` block)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="rasa-stub", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Rasa stub did not start")

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._answer)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._ready.set()
        self._loop.run_forever()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        url = f"{self.url}{request.path_qs}"
        asked = httpx.Request(request.method, url, headers=dict(request.headers), content=body)
        answer: Any = self.handler(asked)
        if inspect.isawaitable(answer):
            answer = await answer
        headers = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type",)}
        return web.Response(status=answer.status_code, body=answer.content, headers=headers)

    def close(self) -> None:
        """Stop serving (connections still open are closed)."""
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> RasaStub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting to it is refused, as to a Rasa server that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
