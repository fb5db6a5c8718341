"""A Rasa NLU component that lets the classifier see "a ticket number", not its digits.

The word and character n-gram featurizers read each token's lemma. A ticket
number such as GZ20261122-0001 otherwise gives n-grams like "611" and "112"
that say which month the training examples were written in: the grid-member
commands all carried 202611xx numbers, so "查询 GZ20261122-0001" was read as
a command. This component runs after the tokenizer and sets the lemma of
every token inside a ``ticket_no`` or ``phone`` entity found by the spaCy
entity ruler to a fixed placeholder. The message text, the tokens' text and
the entities are untouched, so the actions and the entity extractor still
see the real number.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# What the featurizers see instead of the characters of each kind of number.
PLACEHOLDERS = {"ticket_no": "工单号", "phone": "手机号"}


def number_spans(message: Message) -> list[tuple[int, int, str]]:
    """(start, end, placeholder) for each ticket number or phone the spaCy doc marks."""
    doc = message.get(SPACY_DOCS[TEXT])
    if doc is None:
        return []
    return [(e.start_char, e.end_char, PLACEHOLDERS[e.label_]) for e in doc.ents if e.label_ in PLACEHOLDERS]


def mask_number_lemmas(message: Message) -> None:
    """Give the tokens inside ticket numbers and phones the placeholder as their lemma."""
    spans = number_spans(message)
    if not spans:
        return
    for token in message.get(TOKENS_NAMES[TEXT]) or []:
        for start, end, placeholder in spans:
            if token.start >= start and token.end <= end:
                token.lemma = placeholder
                break


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class NumberPlaceholders(GraphComponent):
    """Ticket numbers and phones become placeholders for the featurizers (text and entities stay)."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> NumberPlaceholders:
        """Create the component (it has no state)."""
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Mask number lemmas at prediction time."""
        for message in messages:
            mask_number_lemmas(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Mask number lemmas of the training examples the same way."""
        for message in training_data.training_examples:
            mask_number_lemmas(message)
        return training_data
