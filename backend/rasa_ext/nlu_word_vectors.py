"""Dense sentence features from word vectors the project learns from its own training examples.

The TF-IDF features (:mod:`backend.rasa_ext.nlu_tfidf`) only match words and character
n-grams seen in training; two words used in the same contexts (电梯 / 升降梯,
噪音 / 吵) share nothing there. This featurizer learns word vectors at
``rasa train`` time from the tokens of the NLU training examples only (never
the held-out split or real messages; nothing is downloaded), as
:mod:`backend.rasa_ext.word_vectors` describes. A message's sentence feature
is the IDF-weighted mean of the vectors of its words, scaled to length
``weight``; with ``characters`` a word unseen in training is composed of its
characters.

``method`` ``ppmi_svd`` needs only numpy, scipy and scikit-learn;
``word2vec`` and ``fasttext`` need gensim at training time (not in
requirements.lock), never at run time. Not in ``config.yml``: beside the
TF-IDF features both lowered category accuracy on real messages
(config/experiments/word_vectors*.yml, figures in docs/nlu-pipeline.md).
The vocabulary is kept as JSON and the vectors as ``.npy`` arrays in the
model (no pickle).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from backend.rasa_ext.nlu_tfidf import words
from backend.rasa_ext.word_vectors import METHODS, WordVectors

logger = logging.getLogger(__name__)

STATE_FILE = "word_vectors.json"
VECTORS_FILE = "word_vectors.npy"
CHARACTER_VECTORS_FILE = "character_vectors.npy"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class WordVectorFeaturizer(DenseFeaturizer, GraphComponent):
    """Sentence features: the IDF-weighted mean of word vectors learnt from the training examples."""

    @classmethod
    def required_components(cls) -> list[type]:
        """A tokenizer must run first."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """100 dimensions, a window of 5 words, words seen twice, unknown words from their characters."""
        return {
            **DenseFeaturizer.get_default_config(),
            "dimensions": 100,
            "window": 5,
            "min_count": 2,
            "characters": True,
            "weight": 1.0,
            "random_state": 2026,
            "method": "ppmi_svd",
        }

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Dimensions, window and min_count must be positive; weight above zero."""
        if min(config["dimensions"], config["window"], config["min_count"]) < 1 or config["weight"] <= 0:
            raise ValueError("WordVectorFeaturizer: dimensions, window, min_count >= 1 and weight > 0")
        if config["method"] not in METHODS:
            raise ValueError(f"WordVectorFeaturizer: method must be one of {', '.join(METHODS)}")

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        vectors: WordVectors | None = None,
    ) -> None:
        """Create the featurizer, trained when ``vectors`` are given."""
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._vectors = vectors

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> WordVectorFeaturizer:
        """An untrained featurizer."""
        return cls({**cls.get_default_config(), **config}, model_storage, resource, execution_context)

    def train(self, training_data: TrainingData) -> Resource:
        """Learn the vectors from the training examples' words and store them in the model."""
        documents = [words(m) for m in training_data.training_examples if m.get(TOKENS_NAMES[TEXT])]
        documents = [d for d in documents if d]
        if not documents:
            return self._resource
        c = self._config
        self._vectors = WordVectors.fit(
            documents, c["dimensions"], c["window"], c["min_count"], c["characters"], c["random_state"], c["method"]
        )
        with self._model_storage.write_to(self._resource) as directory:
            state = {
                "vocabulary": self._vectors.vocabulary,
                "idf": self._vectors.idf.tolist(),
                "characters": self._vectors.characters if c["characters"] else None,
            }
            (directory / STATE_FILE).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
            np.save(directory / VECTORS_FILE, self._vectors.vectors, allow_pickle=False)
            if self._vectors.character_vectors is not None:
                np.save(directory / CHARACTER_VECTORS_FILE, self._vectors.character_vectors, allow_pickle=False)
        logger.debug("word vectors: %d words x %d dimensions", len(self._vectors.vocabulary), c["dimensions"])
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> WordVectorFeaturizer:
        """The trained featurizer from the model (untrained if the model holds no vectors)."""
        config = {**cls.get_default_config(), **config}
        try:
            with model_storage.read_from(resource) as directory:
                state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
                vectors = np.load(directory / VECTORS_FILE, allow_pickle=False)
                character_vectors = (
                    np.load(directory / CHARACTER_VECTORS_FILE, allow_pickle=False) if state["characters"] else None
                )
        except (ValueError, OSError, KeyError):
            logger.warning("no word vectors in the model: featurizer left untrained")
            return cls(config, model_storage, resource, execution_context)
        loaded = WordVectors(state["vocabulary"], vectors, state["idf"], state["characters"], character_vectors)
        return cls(config, model_storage, resource, execution_context, loaded)

    def _featurize(self, message: Message) -> None:
        if self._vectors is None or not message.get(TOKENS_NAMES[TEXT]):
            return
        sentence = self._vectors.sentence(words(message), self._config["weight"])[np.newaxis, :]
        self.add_features_to_message(sequence=None, sentence=sentence, attribute=TEXT, message=message)

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurize messages at prediction time."""
        for message in messages:
            self._featurize(message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize the training examples."""
        for message in training_data.training_examples:
            self._featurize(message)
        return training_data
