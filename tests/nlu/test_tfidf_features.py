"""Features that weigh a letter like a chat line, and confidences fitted on held-back examples."""

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from backend.rasa_ext.nlu_classifier import fit_temperature, logits, sentence_matrix, weights_for_products
from backend.rasa_ext.nlu_tfidf import NUMBER_WORD, TfidfFeaturizer, _Block, character_ngrams, words


def test_digits_latin_letters_and_spaces_stay_out_of_the_character_ngrams():
    grams = character_ngrams("A市K8县2019年3月 路灯坏了", 1, 3)
    assert not any(ch.isdigit() or (ch.isascii() and ch.isalpha()) for gram in grams for ch in gram)
    assert {"路灯", "坏了", " 路灯", "年", "市"} <= set(grams)
    assert "__" not in grams and "mb" not in grams


def test_a_number_is_one_word_and_punctuation_is_none():
    message = Message(data={"text": "2019年，路灯坏了"})
    tokens = [Token("2019", 0), Token("年", 4), Token("，", 5), Token("路灯", 6), Token("坏", 8), Token("了", 9)]
    message.set("text_tokens", tokens)
    assert words(message) == [NUMBER_WORD, "年", "路灯", "坏", "了"]


def test_every_row_has_unit_length_whatever_the_length_of_the_message():
    short = character_ngrams("电梯坏了", 1, 3)
    long = character_ngrams("电梯坏了" + "我们反映了很多次一直没有人来处理" * 20, 1, 3)
    block = _Block.fit([short, long, character_ngrams("路灯不亮", 1, 3)])
    for terms in (short, long):
        assert np.linalg.norm(block.row(terms).toarray()) == pytest.approx(1.0)
    assert block.row(["没见过"]).nnz == 0


def test_repeating_a_word_ten_times_weighs_far_less_than_ten_times():
    block = _Block.fit([["噪音", "工地"], ["工地"], ["垃圾"]])
    once = block.row(["噪音", "工地"]).toarray()[0]
    often = block.row(["噪音"] * 10 + ["工地"]).toarray()[0]
    i, j = block.vocabulary["噪音"], block.vocabulary["工地"]
    assert often[i] / often[j] == pytest.approx((1 + np.log(10)) * once[i] / once[j])  # 3.3 times, not 10


def test_temperature_softens_an_overconfident_classifier_and_sharpens_a_timid_one():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 400)
    right = rng.random(400) < 0.6  # right 60 % of the time
    predicted = np.where(right, gold, (gold + 1) % 3)
    scores = np.zeros((400, 3))
    scores[np.arange(400), predicted] = 10.0  # but "sure" every time
    assert fit_temperature(scores, gold) > 3
    timid = np.zeros((400, 3))
    timid[np.arange(400), gold] = 0.2  # always right, barely above the rest
    assert fit_temperature(timid, gold) < 0.1


def test_logits_of_a_two_class_model_have_two_columns():
    class TwoClasses:
        def decision_function(self, X):
            return np.array([1.5, -2.0])

    assert logits(TwoClasses(), None).shape == (2, 2)


def test_words_in_latin_letters_keep_their_ngrams_anonymised_names_do_not():
    grams = set(character_ngrams("K8县 GZ2026 ok qwxz", 1, 2))
    assert {"ok", "qw", "xz"} <= grams
    assert not {"K", "G", "GZ"} & grams


def test_weights_laid_out_for_scoring_give_the_same_scores_bit_for_bit():
    from scipy.sparse import random as sparse_random
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    X = sparse_random(300, 2000, density=0.01, format="csr", random_state=7)
    y = rng.integers(0, 5, size=300)
    clf = LogisticRegression(max_iter=200).fit(X, y)
    clf.coef_ = np.ascontiguousarray(clf.coef_)  # as saga fits it and skops loads it
    before = logits(clf, X[:40])
    weights_for_products(clf)
    assert clf.coef_.flags.f_contiguous and not clf.coef_.flags.c_contiguous
    assert np.array_equal(logits(clf, X[:40]), before)  # exact, not approximately
    weights_for_products(clf)  # once laid out, left as it is
    assert clf.coef_.flags.f_contiguous


def _tokenised(text: str) -> Message:
    message = Message(data={"text": text})
    message.set("text_tokens", [Token(ch, i) for i, ch in enumerate(text)])
    return message


def test_the_sentence_row_is_both_blocks_side_by_side_as_stacking_them_gave():
    examples = [_tokenised(t) for t in ("井盖松了一踩就晃", "三号楼电梯又坏了", "路灯不亮2019年")]
    context = ExecutionContext(GraphSchema({}), node_name="tfidf")
    featurizer = TfidfFeaturizer.create({}, None, None, context)  # no storage: not trained here
    featurizer._blocks = (
        _Block.fit([words(m) for m in examples]),
        _Block.fit([featurizer._characters(m) for m in examples]),
    )
    for message in [*examples, _tokenised("完全没见过的字"), _tokenised("电梯电梯电梯")]:
        word_block, character_block = featurizer._blocks
        stacked = scipy.sparse.hstack(
            [word_block.row(words(message)), character_block.row(featurizer._characters(message))], format="coo"
        )
        row = featurizer.sentence(message)
        assert row.shape == stacked.shape
        assert np.array_equal(row.toarray(), stacked.toarray())  # bit for bit, not approximately


def _features(matrix, kind: str, origin: str) -> Features:
    return Features(matrix, kind, "text", origin)


def test_the_classifiers_rows_are_the_matrix_rasa_builds_bit_for_bit():
    rng = np.random.default_rng(3)

    def message(words_nonzero: int) -> Message:
        m = Message(data={"text": "x"})
        m.features = [
            _features(scipy.sparse.coo_matrix(rng.random((3, 5))), FEATURE_TYPE_SEQUENCE, "regex"),  # never read
            _features(
                scipy.sparse.random(1, 7, density=0.4, format="coo", random_state=1), FEATURE_TYPE_SENTENCE, "regex"
            ),
            _features(rng.random((1, 4)), FEATURE_TYPE_SENTENCE, "vectors"),  # dense: after every sparse one
            _features(
                scipy.sparse.csr_matrix(
                    (
                        rng.random(words_nonzero),
                        (np.zeros(words_nonzero, dtype=int), rng.permutation(20)[:words_nonzero]),
                    ),
                    shape=(1, 20),
                ),
                FEATURE_TYPE_SENTENCE,
                "tfidf",
            ),
        ]
        return m

    messages = [message(n) for n in (0, 1, 6, 20)]
    built = sentence_matrix(messages)
    rasa = LogisticRegressionClassifier._create_X(None, messages)  # reads no attribute of self
    assert built.shape == rasa.shape == (4, 31)
    assert np.array_equal(built.toarray(), rasa.toarray())

    narrower = message(3)
    narrower.features = narrower.features[:2]
    with pytest.raises(ValueError):
        sentence_matrix([messages[0], narrower])
