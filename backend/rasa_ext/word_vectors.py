"""Word vectors learnt from tokenised sentences, and a sentence's vector as the IDF-weighted mean of its words'.

Positive pointwise mutual information of word co-occurrences within a window
(context counts smoothed with exponent 0.75), reduced by a seeded randomized
truncated SVD to ``dimensions`` columns (``U · sqrt(S)``, rows at unit
length); or gensim's word2vec / fastText, at training time only. A word
unseen in training can get the mean of the vectors of its characters (each
the frequency-weighted mean of the words that contain it), in the way
fastText composes unknown words. The Rasa component that learns them at
``rasa train`` and stores them in the model is
:class:`backend.rasa_ext.nlu_word_vectors.WordVectorFeaturizer`.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from typing import Any

import numpy as np
import scipy.sparse

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
