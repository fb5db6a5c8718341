"""The Rasa server's parse of a message also says the problems it tells, when it tells several.

:mod:`backend.triage.several` cuts a message into clauses and decides from
their parses; the clauses are parsed here, by the same graph, in the Rasa
server that has the model loaded, and the result rides along in the parse
as ``problems`` (a list of dicts, empty for the usual one-problem message).
Rasa keeps extra keys of a parse in the user event, so the actions find it
in ``tracker.latest_message`` and ``/model/parse`` (the triage API) returns
it too. Only a message whose own intent is a request category or the
fallback, and that has two clauses or more, costs extra parses.
"""

from __future__ import annotations

import logging
from typing import Any

from backend.categories import default_table
from backend.triage.several import find_problems

logger = logging.getLogger(__name__)

PROBLEMS = "problems"
FALLBACK = "nlu_fallback"
_ORIGINAL: dict[str, Any] = {}


def with_problems(parse: dict[str, Any], text: str, parse_clause: Any) -> dict[str, Any]:
    """``parse`` with ``problems`` added (empty unless the message tells several problems).

    Args:
        parse: the whole message's parse.
        text: the message as sent.
        parse_clause: a function from a clause's text to its parse.
    """
    table = default_table()
    intent = str((parse.get("intent") or {}).get("name") or "")
    if not text or text.startswith("/") or (intent != FALLBACK and table.get(intent) is None):
        return {**parse, PROBLEMS: []}
    try:
        found = find_problems(text, parse_clause, table=table)
    except Exception:  # the whole message's parse must never be lost to this extra
        logger.exception("several problems: the clauses could not be parsed")
        found = []
    return {**parse, PROBLEMS: [p.as_dict() for p in found]}


def parse_message_with_graph(
    self: Any, message: Any, tracker: Any, only_output_properties: bool = True
) -> dict[str, Any]:
    """``MessageProcessor._parse_message_with_graph``, its result with ``problems``."""
    from rasa.core.channels.channel import UserMessage

    original = _ORIGINAL["parse"]
    parse: dict[str, Any] = original(self, message, tracker, only_output_properties)
    if not only_output_properties or not isinstance(message.text, str):
        return parse

    def parse_clause(clause: str) -> dict[str, Any]:
        result: dict[str, Any] = original(self, UserMessage(clause, sender_id=message.sender_id), tracker, True)
        return result

    return with_problems(parse, message.text, parse_clause)


def install() -> None:
    """Wrap the processor's graph parse (after the payload_parse patch, which it keeps)."""
    from rasa.core.processor import MessageProcessor

    if MessageProcessor._parse_message_with_graph is not parse_message_with_graph:
        _ORIGINAL["parse"] = MessageProcessor._parse_message_with_graph
        MessageProcessor._parse_message_with_graph = parse_message_with_graph
