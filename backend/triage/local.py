"""Run the trained NLU model in this process (no Rasa server needed).

Used by ``python -m backend triage`` for bulk pre-sorting and by the
evaluation; the web API asks the running Rasa server instead. Both feed the
same :func:`backend.triage.core.triage`, and both find the problems of a
message that tells several (:mod:`backend.triage.several`) with
:func:`parse_batch`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from backend.triage.core import NOTHING_TO_CLASSIFY, triage
from backend.triage.result import TriageResult
from backend.triage.several import PROBLEMS, Problem, find_problems, problems_worth_looking_for
from backend.triage.text import classification_text

logger = logging.getLogger(__name__)


def parse_batch(processor: Any, texts: list[str], tracker: Any, sender_id: str | None = None) -> list[dict[str, Any]]:
    """The NLU parses of ``texts``, in order, from one run of a Rasa ``MessageProcessor``'s graph.

    What ``MessageProcessor._parse_message_with_graph`` does for one message,
    for several at once: the graph's components each take the whole list
    (the classifier scores it as one matrix), so a message's clauses cost one
    graph run, not one each.
    """
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER

    target = processor.model_metadata.nlu_target
    results = processor.graph_runner.run(
        inputs={
            PLACEHOLDER_MESSAGE: [UserMessage(text, sender_id=sender_id) for text in texts],
            PLACEHOLDER_TRACKER: tracker,
        },
        targets=[target],
    )
    return [message.as_dict(only_output_properties=True) for message in results[target]]


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
        """Rasa's parse of one message (cut for classification), with the ``problems`` it tells."""
        cut = classification_text(text)
        parse: dict[str, Any] = self._loop.run_until_complete(self._agent.parse_message(cut))
        if PROBLEMS in parse:  # the Rasa patch of the server is installed in this process too
            return parse
        return {**parse, PROBLEMS: [p.as_dict() for p in self.problems(cut, parse)]}

    def parse_many(self, texts: list[str]) -> list[dict[str, Any]]:
        """The parses of ``texts`` (as given, not cut), from one run of the graph."""
        return parse_batch(self._agent.processor, texts, tracker=None)

    def problems(self, text: str, parse: dict[str, Any]) -> list[Problem]:
        """The problems a message tells when it tells several, as the Rasa server finds them."""
        if not problems_worth_looking_for(parse, text):
            return []
        return find_problems(text, self.parse_many)

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
