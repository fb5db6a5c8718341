"""Rasa keeps its connections to the action server open between calls (installed by the launcher).

Rasa 3.6's ``EndpointConfig.request`` opens a new ``aiohttp.ClientSession``
for every call, so every custom action (two or three per message while a
resident fills in the report form) pays for a new TCP connection on both
sides and the session's set-up and tear-down; and it encodes the whole
conversation it sends with the standard library's ``json.dumps``; both
showed in the Rasa server's profiles (docs/benchmark.md).

:func:`endpoint_session` is ``EndpointConfig.session`` with two changes:

- its sessions share one connection pool per event loop
  (``connector_owner=False``: closing the session, as ``request`` does
  after each call, leaves the pool open). Idle connections are dropped
  after ``IDLE_SECONDS`` (:mod:`backend.connection_pool`), well before the action server closes them
  (the launcher sets its keep-alive to 75 s), so a call never starts on a
  connection the server is closing;
- request bodies are encoded with ``ujson`` (installed with Rasa), falling
  back to ``json.dumps`` for anything ujson refuses (NaN, integers beyond
  64 bits), so what was sendable before still is. For the plain data Rasa
  sends (string keys, numbers, text) both write the same JSON values.

Headers, authentication and the timeout are Rasa's own. Rasa 3.6.21 is the
last open-source release, so this cannot be fixed upstream.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import ujson

from backend.connection_pool import connection_pool


def encode_json(value: Any) -> str:
    """``json.dumps(value)``'s JSON, with ujson's speed where ujson can encode it."""
    try:
        return str(ujson.dumps(value))
    except (TypeError, ValueError, OverflowError):
        return json.dumps(value)


def endpoint_session(self: Any) -> aiohttp.ClientSession:
    """``EndpointConfig.session``: the same headers, authentication and timeout, on the shared pool."""
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT

    auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
    return aiohttp.ClientSession(
        headers=self.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=connection_pool(),
        connector_owner=False,
        json_serialize=encode_json,
    )


def install() -> None:
    """Make Rasa's endpoints (the action server, an NLG or model server) use :func:`endpoint_session`."""
    from rasa.utils.endpoints import EndpointConfig

    EndpointConfig.session = endpoint_session
