"""Run the trained NLU model in this process (no Rasa server needed).

Used by ``python -m backend triage`` for bulk pre-sorting and by the
evaluation; the web API asks the running Rasa server instead. Both feed the
same :func:`backend.triage.core.triage`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from backend.triage.core import NOTHING_TO_CLASSIFY, TriageResult, triage
from backend.triage.text import classification_text

logger = logging.getLogger(__name__)


class LocalNLU:
    """A loaded Rasa model that parses messages in this process."""

    def __init__(self, model_path: Path):
        import structlog
        from rasa.core.agent import Agent

        # Rasa logs every parse through structlog, which prints to stdout unless
        # configured; stdout carries this process's results, so send it to stderr.
        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        )

        self._agent = Agent.load(str(model_path))
        self._loop = asyncio.new_event_loop()

    def parse(self, text: str) -> dict[str, Any]:
        """Rasa's parse of one message (cut for classification)."""
        return self._loop.run_until_complete(self._agent.parse_message(classification_text(text)))

    def triage(self, text: str) -> TriageResult:
        """The triage of one message."""
        if not classification_text(text):
            return triage(NOTHING_TO_CLASSIFY, text)
        return triage(self.parse(text), text)

    def triage_many(self, texts: Iterable[str]) -> Iterator[TriageResult]:
        """Triage messages in order."""
        for text in texts:
            yield self.triage(text)

    def close(self) -> None:
        """Release the event loop."""
        self._loop.close()
