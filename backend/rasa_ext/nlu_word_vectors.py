"""Dense sentence features from word vectors the project learns from its own training examples.

The TF-IDF features (:mod:`backend.rasa_ext.nlu_tfidf`) only match words and character
n-grams seen in training; two words used in the same contexts (电梯 / 升降梯,
噪音 / 吵) share nothing there. This featurizer learns word vectors at
``rasa train`` time from the tokens of the NLU training examples only (never
the held-out split or real messages; nothing is downloaded): positive
pointwise mutual information of word co-occurrences within a window
(context counts smoothed with exponent 0.75), reduced by a seeded randomized
truncated SVD to ``dimensions`` columns (``U · sqrt(S)``, rows at unit
length). A message's sentence feature is the IDF-weighted mean of the
vectors of its words, scaled to length ``weight``. With ``characters`` a word
unseen in training gets the mean of the vectors of its characters (each the
frequency-weighted mean of the words that contain it), in the way fastText
composes unknown words.

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
import math
import zlib
from collections import Counter
from typing import Any

import numpy as np
import scipy.sparse
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

logger = logging.getLogger(__name__)

STATE_FILE = "word_vectors.json"
VECTORS_FILE = "word_vectors.npy"
CHARACTER_VECTORS_FILE = "character_vectors.npy"
CONTEXT_SMOOTHING = 0.75
# ppmi_svd needs numpy, scipy and scikit-learn only; the others need gensim at training time.
METHODS = ("ppmi_svd", "word2vec", "fasttext")


def _is_cjk(character: str) -> bool:
    return "\u4e00" <= character <= "\u9fff"


class WordVectors:
    """Word vectors (and optionally character vectors for unknown words) with the words' idf."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        vectors: np.ndarray,
        idf: list[float],
        characters: dict[str, int] | None = None,
        character_vectors: np.ndarray | None = None,
    ) -> None:
        """Vectors as learnt by :meth:`fit` or loaded from the model."""
        self.vocabulary = vocabulary
        self.vectors = np.asarray(vectors, dtype=np.float64)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.unknown_idf = float(self.idf.max()) if len(self.idf) else 1.0
        self.characters = characters or {}
        self.character_vectors = character_vectors

    @property
    def dimensions(self) -> int:
        """The length of each vector."""
        return int(self.vectors.shape[1])

    @classmethod
    def fit(
        cls,
        documents: list[list[str]],
        dimensions: int,
        window: int,
        min_count: int,
        characters: bool,
        random_state: int,
        method: str = "ppmi_svd",
    ) -> WordVectors:
        """Learn vectors from tokenised ``documents`` (PPMI + truncated SVD, or gensim's word2vec / fastText)."""
        counts: Counter[str] = Counter(w for terms in documents for w in terms)
        kept = sorted(w for w, c in counts.items() if c >= min_count)
        vocabulary = {w: i for i, w in enumerate(kept)}
        if method == "ppmi_svd":
            vectors = _ppmi_svd(documents, vocabulary, dimensions, window, random_state)
        else:
            model = _gensim(method, documents, dimensions, window, min_count, random_state)
            vectors = _unit_rows(np.vstack([model.wv[w] for w in kept]).astype(np.float64))
        frequency: Counter[str] = Counter()
        for terms in documents:
            frequency.update(w for w in set(terms) if w in vocabulary)
        n = len(documents)
        idf = [math.log((1 + n) / (1 + frequency[w])) + 1 for w in kept]
        if not characters:
            return cls(vocabulary, vectors, idf)
        character_index: dict[str, int] = {}
        sums: dict[int, np.ndarray] = {}
        for word in kept:
            for ch in set(word):
                if _is_cjk(ch):
                    index = character_index.setdefault(ch, len(character_index))
                    sums[index] = sums.get(index, np.zeros(dimensions)) + counts[word] * vectors[vocabulary[word]]
        character_vectors = np.zeros((len(character_index), dimensions))
        for index, total in sums.items():
            character_vectors[index] = total
        if method == "fasttext":  # its own composition of a character from its n-gram buckets
            character_vectors = np.vstack([model.wv[ch] for ch in character_index]).astype(np.float64)
        return cls(vocabulary, vectors, idf, character_index, _unit_rows(character_vectors))

    def word_vector(self, word: str) -> tuple[np.ndarray | None, float]:
        """The vector of ``word`` and its idf; an unknown word is composed of its characters, or ``None``."""
        index = self.vocabulary.get(word)
        if index is not None:
            return self.vectors[index], float(self.idf[index])
        if self.character_vectors is None:
            return None, 0.0
        known = [self.characters[ch] for ch in word if ch in self.characters]
        if not known:
            return None, 0.0
        return _unit_rows(self.character_vectors[known].mean(axis=0, keepdims=True))[0], self.unknown_idf

    def sentence(self, terms: list[str], weight: float = 1.0) -> np.ndarray:
        """The IDF-weighted mean of the vectors of ``terms`` at length ``weight`` (zeros if none is known)."""
        total = np.zeros(self.dimensions)
        for term in terms:
            vector, idf = self.word_vector(term)
            if vector is not None:
                total += idf * vector
        norm = np.linalg.norm(total)
        return total * (weight / norm) if norm > 0 else total


def _ppmi_svd(
    documents: list[list[str]], vocabulary: dict[str, int], dimensions: int, window: int, random_state: int
) -> np.ndarray:
    """Unit-length rows of ``U · sqrt(S)`` of the PPMI matrix of co-occurrences within ``window`` words."""
    from sklearn.utils.extmath import randomized_svd

    size = len(vocabulary)
    rows: list[int] = []
    columns: list[int] = []
    for terms in documents:
        ids = [vocabulary[w] for w in terms if w in vocabulary]
        for i, target in enumerate(ids):
            for j in range(max(0, i - window), min(len(ids), i + window + 1)):
                if j != i:
                    rows.append(target)
                    columns.append(ids[j])
    cooccurrence = scipy.sparse.csr_matrix(
        (np.ones(len(rows)), (np.asarray(rows, dtype=np.int64), np.asarray(columns, dtype=np.int64))),
        shape=(size, size),
    )
    cooccurrence.sum_duplicates()
    k = max(1, min(dimensions, size - 1))
    u, s, _ = randomized_svd(_ppmi(cooccurrence), n_components=k, n_iter=7, random_state=random_state)
    vectors = _unit_rows(u * np.sqrt(s))
    if k < dimensions:
        vectors = np.hstack([vectors, np.zeros((size, dimensions - k))])
    return vectors


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _gensim(method: str, documents: list[list[str]], dimensions: int, window: int, min_count: int, seed: int) -> Any:
    """A gensim word2vec (skip-gram) or fastText model; gensim is needed at training time only."""
    from gensim.models import FastText, Word2Vec

    common = {
        "sentences": documents,
        "vector_size": dimensions,
        "window": window,
        "min_count": min_count,
        "sg": 1,
        "epochs": 20,
        "workers": 1,
        "seed": seed,
    }
    if method == "word2vec":
        return Word2Vec(**common, hashfxn=_stable_hash)
    if method == "fasttext":
        return FastText(**common, min_n=1, max_n=3, bucket=200_000)
    raise ValueError(f"unknown word vector method {method!r}")


def _ppmi(cooccurrence: scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix:
    """Positive PMI of a word × context count matrix, context distribution smoothed."""
    total = cooccurrence.sum()
    if total == 0:
        return cooccurrence
    word_p = np.asarray(cooccurrence.sum(axis=1)).ravel() / total
    context = np.asarray(cooccurrence.sum(axis=0)).ravel() ** CONTEXT_SMOOTHING
    context_p = context / context.sum()
    coo = cooccurrence.tocoo()
    pmi = np.log(coo.data / total) - np.log(word_p[coo.row]) - np.log(context_p[coo.col])
    keep = pmi > 0
    return scipy.sparse.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=cooccurrence.shape)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


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
