"""Fixtures shared by the backend tests that load the trained model in process."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def agent():
    """The trained model (``make test`` trains it first), loaded in this process without an action server."""
    from rasa.core.agent import Agent

    from backend.model_store import ensure_model, model_path
    from backend.settings import load_settings

    settings = load_settings(require_secrets=False)
    ensure_model(settings.model_dir, env={**os.environ, **settings.rasa_environment()})
    return Agent.load(str(model_path(settings.model_dir)))
