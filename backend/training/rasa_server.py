"""Rasa's HTTP API for the model: which one is loaded, and swapping in another.

Rasa runs with ``--enable-api`` and a JWT secret derived from ``RASA_TOKEN``;
every call here sends a short-lived JWT in the ``Authorization`` header
(:mod:`backend.rasa_auth`), never the token in the URL, where the request
log line (``HTTP Request: GET …``) would show it. ``PUT /model`` loads the new archive and replaces the agent in the
running server: requests that arrive while it loads wait and are answered
(by the old agent until the new one is in place), so no message is lost and
nobody restarts anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from backend.rasa_auth import RasaAuth


class RasaServerError(Exception):
    """The Rasa server could not be reached or refused the request."""


class RasaServer:
    """One Rasa server's HTTP API.

    Args:
        base_url: e.g. ``http://127.0.0.1:5005``.
        token: ``RASA_TOKEN``, whose derived secret signs the JWT each request carries.
        timeout: seconds; loading a model takes a few seconds, more on a busy machine.
    """

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 180.0):
        self.base_url = base_url.rstrip("/")
        self._auth = RasaAuth(token)
        self._timeout = timeout

    def status(self) -> dict[str, Any]:
        """``GET /status``: the loaded model's file and id."""
        try:
            response = httpx.get(f"{self.base_url}/status", headers=self._auth.headers(), timeout=10)
        except httpx.HTTPError as exc:
            raise RasaServerError(f"连不上 Rasa 服务器 {self.base_url}（{type(exc).__name__}）") from exc
        if response.status_code != 200:
            raise RasaServerError(f"Rasa 服务器回答 HTTP {response.status_code}")
        return dict(response.json())

    def loaded_model(self) -> str | None:
        """The loaded archive's name without ``.tar.gz`` (None when unreachable)."""
        try:
            model_file = str(self.status().get("model_file") or "")
        except RasaServerError:
            return None
        return Path(model_file).name.removesuffix(".tar.gz") or None

    def replace_model(self, archive: Path) -> None:
        """``PUT /model``: load ``archive`` into the running server (waits until it serves)."""
        try:
            response = httpx.put(
                f"{self.base_url}/model",
                headers=self._auth.headers(),
                json={"model_file": str(archive.resolve())},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise RasaServerError(f"换模型时连不上 Rasa 服务器（{type(exc).__name__}）") from exc
        if response.status_code != 204:
            raise RasaServerError(f"Rasa 服务器没有换上模型：HTTP {response.status_code} {response.text[:200]}")
