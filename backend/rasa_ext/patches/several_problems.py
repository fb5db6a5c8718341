"""The Rasa server's parse of a message also says the problems it tells, when it tells several.

:mod:`backend.triage.several` cuts a message into clauses and decides from
their parses; the clauses are parsed here, by the same graph, in the Rasa
server that has the model loaded, and the result rides along in the parse
as ``problems`` (a list of dicts, empty for the usual one-problem message).
Rasa keeps extra keys of a parse in the user event, so the actions find it
in ``tracker.latest_message`` and ``/model/parse`` (the triage API) returns
it too. Only a message whose own intent is a request category or the
fallback, and that has two clauses or more, costs more: one more run of the
NLU graph with all its clauses as one batch (the components take lists of
messages; the classifier scores them as one matrix).
"""

from __future__ import annotations

import logging
from typing import Any

from backend.triage.local import parse_batch
from backend.triage.several import PROBLEMS, find_problems, problems_worth_looking_for

logger = logging.getLogger(__name__)

_ORIGINAL: dict[str, Any] = {}


def with_problems(parse: dict[str, Any], text: str, parse_all: Any) -> dict[str, Any]:
    """``parse`` with ``problems`` added (empty unless the message tells several problems).

    Args:
        parse: the whole message's parse.
        text: the message as sent.
        parse_all: a function from the clauses' texts to their parses, in order.
    """
    if not problems_worth_looking_for(parse, text):
        return {**parse, PROBLEMS: []}
    try:
        found = find_problems(text, parse_all)
    except Exception:  # the whole message's parse must never be lost to this extra
        logger.exception("several problems: the clauses could not be parsed")
        found = []
    return {**parse, PROBLEMS: [p.as_dict() for p in found]}


def parse_message_with_graph(
    self: Any, message: Any, tracker: Any, only_output_properties: bool = True
) -> dict[str, Any]:
    """``MessageProcessor._parse_message_with_graph``, its result with ``problems``."""
    parse: dict[str, Any] = _ORIGINAL["parse"](self, message, tracker, only_output_properties)
    if not only_output_properties or not isinstance(message.text, str):
        return parse

    def parse_all(clauses: list[str]) -> list[dict[str, Any]]:
        return parse_batch(self, clauses, tracker, message.sender_id)

    return with_problems(parse, message.text, parse_all)


def install() -> None:
    """Wrap the processor's graph parse (after the payload_parse patch, which it keeps)."""
    from rasa.core.processor import MessageProcessor

    if MessageProcessor._parse_message_with_graph is not parse_message_with_graph:
        _ORIGINAL["parse"] = MessageProcessor._parse_message_with_graph
        MessageProcessor._parse_message_with_graph = parse_message_with_graph
