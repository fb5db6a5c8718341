"""Entities from the spaCy doc the pipeline already made, instead of a second spaCy run per message.

Rasa's ``SpacyEntityExtractor`` runs the whole spaCy pipeline (jieba
segmentation and the entity ruler of the registry's places, buildings,
rooms, phones and ticket numbers) again on every message, because
``SpacyNLP`` lower-cases the text it makes its doc from and case matters to
named-entity recognition. For a message with no upper-case letter (nearly
every Chinese message) that doc is the one a second run would make: the
same model on the same text. :class:`SpacyDocEntities` takes the entities
from it and runs spaCy again only when the doc's text differs from the
message's (upper-case Latin letters, or a text a component changed after
``SpacyNLP``), so its entities are always those ``SpacyEntityExtractor``
would give. One spaCy run saved is about a fifth of a parse, more for long
letters.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.utils.spacy_utils import SpacyModel
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
    is_trainable=False,
    model_from="SpacyNLP",
)
class SpacyDocEntities(SpacyEntityExtractor):
    """``SpacyEntityExtractor`` reading the doc ``SpacyNLP`` made when it is the same text."""

    def process(self, messages: list[Message], model: SpacyModel) -> list[Message]:
        """Add the spaCy entities of each message (its ``dimensions`` only, if configured)."""
        for message in messages:
            text = message.get(TEXT)
            doc: Any = message.get(SPACY_DOCS[TEXT])
            if doc is None or doc.text != text:
                doc = model.model(text)
            extracted = self.filter_irrelevant_entities(
                self.add_extractor_name(self._extract_entities(doc)), self._config["dimensions"]
            )
            message.set(ENTITIES, message.get(ENTITIES, []) + extracted, add_to_output=True)
        return messages
