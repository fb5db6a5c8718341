"""Logistic regression whose confidence is calibrated on a dev split of the training data.

The fallback threshold only means something if a confidence of 0.6 is right
about 60 % of the time, for a 10-character line as for a 300-character
letter. This classifier is Rasa's :class:`LogisticRegressionClassifier` with
an L2 strength that suits length-normalised features (``C``), plus one
temperature: before the final fit on all examples, a copy is fitted on 80 %
of them (stratified by intent) and the temperature that minimises the
log-loss of the other 20 % is kept. The probabilities it reports are
``softmax(logits / temperature)``. The dev split comes from the project's
own training data only; real messages for evaluation are never used.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.special import softmax

logger = logging.getLogger(__name__)

FILE_NAME = "calibration.json"
# Temperatures tried (log-spaced): below 1 sharpens, above 1 softens.
TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(5.0), 80))


def logits(clf: Any, X: Any) -> np.ndarray:
    """Per-class scores of a fitted scikit-learn LogisticRegression (two columns for two classes)."""
    scores = clf.decision_function(X)
    return np.column_stack([np.zeros_like(scores), scores]) if scores.ndim == 1 else scores


def fit_temperature(scores: np.ndarray, gold: np.ndarray) -> float:
    """The temperature minimising the mean negative log-likelihood of ``gold`` (column indices)."""
    rows = np.arange(len(gold))

    def loss(t: float) -> float:
        return float(-np.log(softmax(scores / t, axis=1)[rows, gold] + 1e-12).mean())

    return float(min(TEMPERATURES, key=loss))


def weights_for_products(clf: Any) -> None:
    """Keep a fitted classifier's weights in Fortran order, so scoring a message copies nothing.

    scikit-learn scores sparse features ``X`` as ``X @ coef_.T``; with
    ``coef_`` in C order (as it is fitted and loaded) the transpose is not
    C-contiguous, and scipy copies the whole matrix (classes × features,
    several MB) for every product, which was most of a parse. In Fortran
    order the transpose is the C-ordered matrix scipy wants: the same
    numbers multiplied in the same order, so the scores are bit for bit the
    same.
    """
    coef = getattr(clf, "coef_", None)
    if coef is not None and not coef.flags.f_contiguous:
        clf.coef_ = np.asfortranarray(coef)


def _one_row(matrix: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """The (columns, values, width) of a 1 × n sparse matrix, read without building another matrix."""
    if matrix.shape[0] != 1:
        raise ValueError(f"a sentence feature has {matrix.shape[0]} rows")
    if scipy.sparse.isspmatrix_coo(matrix):
        return matrix.col, matrix.data, matrix.shape[1]
    if scipy.sparse.isspmatrix_csr(matrix):
        return matrix.indices, matrix.data, matrix.shape[1]
    part = scipy.sparse.coo_matrix(matrix)
    return part.col, part.data, part.shape[1]


def sentence_matrix(messages: list[Message]) -> scipy.sparse.csr_matrix:
    """One row per message: its sentence-level features of every featurizer, the sparse ones then the dense ones.

    The matrix Rasa's ``LogisticRegressionClassifier._create_X`` builds, in one step: Rasa combines each
    message's features (a deep copy and a sparse stack per featurizer, the sequence features too, which
    the classifier never reads), stacks them with the dense ones and then stacks the rows, and scipy's
    checks on each of those small matrices cost more than the scoring itself.

    Raises:
        ValueError: the messages' rows are not the same width (as stacking them would).
    """
    data: list[np.ndarray] = []
    columns: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    width: int | None = None
    for index, message in enumerate(messages):
        sentence = [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
        offset = 0
        for feature in [f for f in sentence if f.is_sparse()] + [f for f in sentence if f.is_dense()]:
            if feature.is_sparse():
                found, values, size = _one_row(feature.features)
            else:
                dense = np.asarray(feature.features).reshape(-1)
                found = np.flatnonzero(dense)
                values, size = dense[found], dense.size
            columns.append(found.astype(np.int64) + offset)
            data.append(values.astype(np.float64, copy=False))
            rows.append(np.full(len(found), index, dtype=np.int64))
            offset += size
        if width is not None and offset != width:
            raise ValueError(f"message {index} has {offset} features where the others have {width}")
        width = offset
    if not data:
        return scipy.sparse.csr_matrix((len(messages), width or 0))
    matrix = scipy.sparse.coo_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(columns))), shape=(len(messages), width or 0)
    )
    return matrix.tocsr()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class CalibratedLogisticRegression(LogisticRegressionClassifier):
    """Rasa's logistic regression, with ``C`` and a temperature fitted on a dev split.

    Its weights are kept laid out for scoring (:func:`weights_for_products`).
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """``C`` (inverse L2 strength) and the share of examples held back to calibrate."""
        return {**LogisticRegressionClassifier.get_default_config(), "C": 10.0, "dev_share": 0.2}

    def __init__(self, config: dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource) -> None:
        """Construct the classifier (untrained, temperature 1)."""
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=self.config["C"])
        self.temperature = 1.0

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the temperature on a dev split, then the classifier on every example."""
        from sklearn.base import clone
        from sklearn.model_selection import train_test_split

        X, y = self._create_training_matrix(training_data)
        X = X.tocsr()
        if X.shape[0] == 0:
            return self._resource
        labels = np.asarray(y)
        _, counts = np.unique(labels, return_counts=True)
        if self.config["dev_share"] > 0 and counts.min() >= 2:
            fit_rows, dev_rows = train_test_split(
                np.arange(len(labels)),
                test_size=self.config["dev_share"],
                stratify=labels,
                random_state=self.config["random_state"],
            )
            probe = clone(self.clf).fit(X[fit_rows], labels[fit_rows])
            known = np.isin(labels[dev_rows], probe.classes_)
            gold = np.searchsorted(probe.classes_, labels[dev_rows][known])
            self.temperature = fit_temperature(logits(probe, X[dev_rows][known]), gold)
        self.clf.fit(X, labels)
        weights_for_products(self.clf)
        logger.debug("calibrated logistic regression: temperature %.3f", self.temperature)
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """The intent and ranking with calibrated probabilities."""
        if not hasattr(self.clf, "classes_"):
            return messages
        probabilities = softmax(logits(self.clf, sentence_matrix(messages)) / self.temperature, axis=1)
        for message, row in zip(messages, probabilities, strict=True):
            order = np.argsort(-row, kind="stable")
            ranking: list[dict[str, Any]] = [
                {"name": str(self.clf.classes_[i]), "confidence": float(row[i])} for i in order
            ]
            message.set("intent", ranking[0], add_to_output=True)
            if self.config["ranking_length"] > 0:
                ranking = ranking[: self.config["ranking_length"]]
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def persist(self) -> None:
        """Save the classifier (skops, as Rasa does) and the temperature (JSON)."""
        super().persist()
        with self._model_storage.write_to(self._resource) as directory:
            (directory / FILE_NAME).write_text(json.dumps({"temperature": self.temperature}), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CalibratedLogisticRegression:
        """The trained classifier and its temperature."""
        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        assert isinstance(component, CalibratedLogisticRegression)
        try:
            with model_storage.read_from(resource) as directory:
                component.temperature = float(json.loads((directory / FILE_NAME).read_text())["temperature"])
        except (ValueError, OSError, KeyError):
            logger.warning("no calibration in the model: temperature 1")
        weights_for_products(component.clf)
        return component
