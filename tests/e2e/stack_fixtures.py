"""The running stack for the tests that need it: one per test session, shared by every folder.

Registered once in ``tests/conftest.py`` (``pytest_plugins``), so the
end-to-end, conversation and security tests all get the same stack. When each
folder imported these fixtures into its own namespace, each import was a
fixture of its own: four stacks started per pass, all left running to its end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from backend.model_store import ensure_model
from backend.settings import load_settings
from tests.e2e.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = load_settings(require_secrets=False)
    # The model `make test` trained (or trains now, if the data changed).
    ensure_model(settings.model_dir, env={**os.environ, **settings.rasa_environment()})
    stack = Stack.prepare(tmp_path_factory.mktemp("stack"), settings.model_dir)
    try:
        yield stack.up()
    finally:
        stack.stop_all()


@pytest.fixture()
def running(stack: Stack) -> Stack:
    """The stack with every process up (a test that stops one must not leak that)."""
    return stack.up()
