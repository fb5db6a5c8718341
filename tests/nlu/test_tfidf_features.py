"""Features that weigh a letter like a chat line, and confidences fitted on held-back examples."""

import numpy as np
import pytest
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from backend.rasa_ext.nlu_classifier import fit_temperature, logits, weights_for_products
from backend.rasa_ext.nlu_tfidf import NUMBER_WORD, _Block, character_ngrams, words


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
