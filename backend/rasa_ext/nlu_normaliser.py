"""A Rasa NLU component that normalises a message before anything reads it.

It is the first step of the pipeline (``config.yml``), so every channel
gets the same treatment the triage API applies
(:func:`backend.triage.text.classification_text`): Traditional characters
become Simplified (電梯壞了 → 电梯坏了), control characters go, and a very
long message is cut to its first 500 characters for classification, and a
blank one becomes "？" (the classifier cannot score a message with no tokens). Only the
parse sees the normalised text; the tracker keeps what the resident sent.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from backend.triage.text import classification_text

EMPTY_STAND_IN = "？"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class TextNormaliser(GraphComponent):
    """Simplified characters, no control characters, at most 500 characters."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextNormaliser:
        """Create the component (it has no state)."""
        return cls()

    @staticmethod
    def _normalise(message: Message) -> None:
        text = message.get(TEXT)
        if not isinstance(text, str) or text.startswith("/"):
            return
        # A blank message has no tokens, and the classifier cannot score zero
        # features: it becomes a lone question mark, which reads as "unclear".
        message.set(TEXT, classification_text(text) or EMPTY_STAND_IN)

    def process(self, messages: list[Message]) -> list[Message]:
        """Normalise messages at prediction time."""
        for message in messages:
            self._normalise(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalise training examples the same way."""
        for message in training_data.training_examples:
            self._normalise(message)
        return training_data
