"""A Rasa NLU component that reads a message in another language as ``other_language``, by its letters.

It runs last in the pipeline (``config.yml``). When
:func:`backend.triage.languages.language_of` says a message is English,
Japanese, Korean, Russian or in another alphabet, the intent becomes
``other_language`` with full confidence, whatever the classifier thought,
and the rule of ``data/rules/other_languages.yml`` answers in that language
(:mod:`actions.other_languages`). The intent has a few training examples
only because every intent of the domain must have some; the classifier's
guess is never trusted: a Chinese message, a code or a chat token
(``ok``, ``GZ20261206-0001``) the classifier put there is read as not
understood instead.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from backend.triage.languages import language_of

logger = logging.getLogger(__name__)

INTENT_NAME = "other_language"


def mark_language(message: Message) -> None:
    """Set ``other_language`` on a message in another language; take it off one that is not."""
    text = message.get(TEXT)
    if not isinstance(text, str):
        return
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != INTENT_NAME]
    language = language_of(text)
    if language is not None:
        message.set(INTENT, {"name": INTENT_NAME, "confidence": 1.0}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [{"name": INTENT_NAME, "confidence": 1.0}, *ranking], add_to_output=True)
        logger.debug("message read as written in %s", language)
        return
    if (message.get(INTENT) or {}).get("name") == INTENT_NAME:
        confidence = float(ranking[0].get("confidence") or 0.0) if ranking else 0.0
        fallback = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": confidence}
        message.set(INTENT, fallback, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class OtherLanguages(GraphComponent):
    """``other_language`` for a message in another language, decided by its letters, never by the classifier."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OtherLanguages:
        """Create the component (it has no state)."""
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Read each message's language and set or clear ``other_language``."""
        for message in messages:
            mark_language(message)
        return messages
