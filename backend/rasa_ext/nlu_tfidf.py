"""A Rasa NLU featurizer whose features do not grow with the length of a message.

Rasa's CountVectorsFeaturizer gives raw counts: a 300-character letter
carries ten times the feature mass of a 20-character chat line, so the
classifier is most sure of itself exactly where it knows least. This
featurizer gives each message two blocks, words and character 1-3-grams,
each with sublinear term frequency (1 + log tf), inverse document frequency
learnt from the training examples, and unit (L2) length, so a letter and a
chat line weigh the same. Digits, and Latin letters standing alone or
beside digits, stay out of the character n-grams: dates, amounts, ticket
numbers and anonymised names (A市, K8县) say nothing about the category, and
their n-grams were learnt mostly from policy questions. Numbers count once, as one ``<数>`` word.

Only sentence features are produced (the logistic regression reads those).
The vocabularies and weights are kept as JSON in the model (no pickle).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

NUMBER_WORD = "<数>"
FILE_NAME = "tfidf.json"
_NUMBER = re.compile(r"[0-9０-９]+(?:[.:：/-][0-9０-９]+)*")
_PUNCTUATION_ONLY = re.compile(r"[\W_]+")
# Replaced by a space before the character n-grams are taken: digits, and a
# Latin letter standing alone or next to digits (A市, K8县, GZ2026…); words in
# Latin letters (ok, nope, qwxz) keep their n-grams.
_NOT_FOR_CHARACTERS = re.compile(
    r"(?:[0-9０-９_\s]|(?<![A-Za-zＡ-Ｚａ-ｚ])[A-Za-zＡ-Ｚａ-ｚ](?![A-Za-zＡ-Ｚａ-ｚ])|[A-Za-zＡ-Ｚａ-ｚ]+(?=[0-9０-９]))+"
)


def words(message: Message) -> list[str]:
    """The message's word features: token lemmas, numbers as one word, no punctuation."""
    out = []
    for token in message.get(TOKENS_NAMES[TEXT]) or []:
        lemma = token.lemma or token.text
        if _NUMBER.fullmatch(token.text):
            out.append(NUMBER_WORD)
        elif not _PUNCTUATION_ONLY.fullmatch(lemma):
            out.append(lemma.lower())
    return out


def character_ngrams(text: str, low: int, high: int) -> list[str]:
    """Character n-grams of the runs of ``text`` left after digits, Latin letters and spaces are taken out.

    Each run is padded with a space on both sides, so n-grams at its edges
    are marked (as scikit-learn's ``char_wb`` does).
    """
    grams: list[str] = []
    for run in _NOT_FOR_CHARACTERS.split(text):
        if not run:
            continue
        padded = f" {run} "
        for n in range(low, high + 1):
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return [g for g in grams if g.strip()]


class _Block:
    """One TF-IDF block: a vocabulary, its idf weights, sublinear tf, L2 norm."""

    def __init__(self, vocabulary: dict[str, int], idf: list[float]):
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)

    @classmethod
    def fit(cls, documents: list[list[str]]) -> _Block:
        """Learn the vocabulary and smoothed idf (as scikit-learn computes it) from ``documents``."""
        frequency: Counter[str] = Counter()
        for terms in documents:
            frequency.update(set(terms))
        vocabulary = {term: i for i, term in enumerate(sorted(frequency))}
        n = len(documents)
        idf = [math.log((1 + n) / (1 + frequency[term])) + 1 for term in sorted(frequency)]
        return cls(vocabulary, idf)

    def entries(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The (columns, values) of one document's non-zero features, in the order the terms first occur."""
        counts = Counter(self.vocabulary[t] for t in terms if t in self.vocabulary)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        columns = np.fromiter(counts.keys(), dtype=np.int64)
        values = (1 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[columns]
        values /= np.linalg.norm(values)
        return columns, values

    def row(self, terms: list[str]) -> scipy.sparse.csr_matrix:
        """The 1 × vocabulary feature row of one document."""
        columns, values = self.entries(terms)
        return scipy.sparse.csr_matrix(
            (values, (np.zeros(len(columns), dtype=np.int64), columns)), shape=(1, len(self.vocabulary))
        )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class TfidfFeaturizer(SparseFeaturizer, GraphComponent):
    """Length-normalised word and character n-gram features (sentence level)."""

    @classmethod
    def required_components(cls) -> list[type]:
        """A tokenizer must run first."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Character n-grams of 1 to 3 characters."""
        return {**SparseFeaturizer.get_default_config(), "min_ngram": 1, "max_ngram": 3}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """The n-gram range must be 1 ≤ min ≤ max."""
        if not 1 <= config["min_ngram"] <= config["max_ngram"]:
            raise ValueError("TfidfFeaturizer: need 1 <= min_ngram <= max_ngram")

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        blocks: tuple[_Block, _Block] | None = None,
    ) -> None:
        """Create the featurizer, trained when ``blocks`` are given."""
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._blocks = blocks

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TfidfFeaturizer:
        """An untrained featurizer."""
        return cls({**cls.get_default_config(), **config}, model_storage, resource, execution_context)

    def _characters(self, message: Message) -> list[str]:
        return character_ngrams(str(message.get(TEXT) or ""), self._config["min_ngram"], self._config["max_ngram"])

    def train(self, training_data: TrainingData) -> Resource:
        """Learn both vocabularies and idf weights from the training examples."""
        examples = [m for m in training_data.training_examples if m.get(TOKENS_NAMES[TEXT])]
        self._blocks = (
            _Block.fit([words(m) for m in examples]),
            _Block.fit([self._characters(m) for m in examples]),
        )
        with self._model_storage.write_to(self._resource) as directory:
            state = [{"vocabulary": b.vocabulary, "idf": b.idf.tolist()} for b in self._blocks]
            (directory / FILE_NAME).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        logger.debug("tfidf: %d words, %d character n-grams", *(len(b.vocabulary) for b in self._blocks))
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> TfidfFeaturizer:
        """The trained featurizer from the model."""
        with model_storage.read_from(resource) as directory:
            state = json.loads((directory / FILE_NAME).read_text(encoding="utf-8"))
        blocks = (_Block(state[0]["vocabulary"], state[0]["idf"]), _Block(state[1]["vocabulary"], state[1]["idf"]))
        return cls({**cls.get_default_config(), **config}, model_storage, resource, execution_context, blocks)

    def _featurize(self, message: Message) -> None:
        if self._blocks is None or not message.get(TOKENS_NAMES[TEXT]):
            return
        self.add_features_to_message(sequence=None, sentence=self.sentence(message), attribute=TEXT, message=message)

    def sentence(self, message: Message) -> scipy.sparse.coo_matrix:
        """The message's 1 × (words + character n-grams) row: both blocks side by side, built as one matrix.

        The same row as ``hstack([words.row(…), characters.row(…)])``, without the two matrices and the stacking
        in between (scipy's checks on each were a fifth of a parse).
        """
        assert self._blocks is not None
        word_block, character_block = self._blocks
        word_columns, word_values = word_block.entries(words(message))
        character_columns, character_values = character_block.entries(self._characters(message))
        columns = np.concatenate([word_columns, character_columns + len(word_block.vocabulary)])
        return scipy.sparse.coo_matrix(
            (np.concatenate([word_values, character_values]), (np.zeros(len(columns), dtype=np.int32), columns)),
            shape=(1, len(word_block.vocabulary) + len(character_block.vocabulary)),
        )

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
