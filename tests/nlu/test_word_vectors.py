"""Word vectors learnt from the project's training examples: trained, stored in the model, loaded, deterministic."""

from pathlib import Path

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from backend.rasa_ext.nlu_word_vectors import WordVectorFeaturizer
from backend.rasa_ext.word_vectors import WordVectors

DATA = Path(__file__).resolve().parents[2] / "data" / "nlu"
CONFIG = {"dimensions": 40, "window": 5, "min_count": 2, "characters": True}


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> JiebaTokenizer:
    storage = LocalModelStorage(tmp_path_factory.mktemp("tokenizer"))
    context = ExecutionContext(GraphSchema({}), node_name="tokenizer")
    return JiebaTokenizer.create(JiebaTokenizer.get_default_config(), storage, Resource("tokenizer"), context)


@pytest.fixture(scope="module")
def training_data(tokenizer: JiebaTokenizer) -> TrainingData:
    data = load_data(str(DATA))
    tokenizer.process_training_data(data)
    return data


def featurizer(storage: LocalModelStorage, **config: object) -> WordVectorFeaturizer:
    context = ExecutionContext(GraphSchema({}), node_name="word_vectors")
    return WordVectorFeaturizer.create({**CONFIG, **config}, storage, Resource("word_vectors"), context)


def loaded(storage: LocalModelStorage, **config: object) -> WordVectorFeaturizer:
    context = ExecutionContext(GraphSchema({}), node_name="word_vectors")
    full = {**WordVectorFeaturizer.get_default_config(), **CONFIG, **config}
    return WordVectorFeaturizer.load(full, storage, Resource("word_vectors"), context)


def sentence_feature(component: WordVectorFeaturizer, tokenizer: JiebaTokenizer, text: str) -> np.ndarray | None:
    message = Message(data={TEXT: text})
    tokenizer.process([message])
    component.process([message])
    _, sentence = message.get_dense_features(TEXT)
    return None if sentence is None else sentence.features


@pytest.fixture(scope="module")
def trained(training_data: TrainingData, tmp_path_factory: pytest.TempPathFactory) -> LocalModelStorage:
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    featurizer(storage).train(training_data)
    return storage


def test_a_trained_model_is_stored_and_loaded_with_the_same_features(trained, tokenizer, training_data):
    component = loaded(trained)
    text = "小区电梯又坏了，老人上不了楼，物业也不来修"
    again = loaded(trained)
    assert np.array_equal(sentence_feature(component, tokenizer, text), sentence_feature(again, tokenizer, text))
    with trained.read_from(Resource("word_vectors")) as directory:
        assert {p.name for p in directory.iterdir()} == {
            "word_vectors.json",
            "word_vectors.npy",
            "character_vectors.npy",
        }
    # Training examples get the features too (the classifier is trained on them).
    fresh = featurizer(LocalModelStorage(trained._storage_path))
    fresh._vectors = component._vectors
    fresh.process_training_data(training_data)
    example = next(m for m in training_data.training_examples if m.get("text_tokens"))
    assert example.get_dense_features(TEXT)[1].features.shape == (1, CONFIG["dimensions"])


def test_features_have_the_right_shape_and_unit_length_for_a_line_and_a_letter(trained, tokenizer):
    component = loaded(trained)
    line = sentence_feature(component, tokenizer, "路灯不亮")
    letter = sentence_feature(
        component,
        tokenizer,
        "尊敬的领导：您好！我是幸福路社区的居民，我们小区门口那条路上的路灯已经坏了三个多月，"
        "晚上一片漆黑，老人孩子出门很不安全，多次向街道反映都没有人来修，恳请有关部门尽快处理。",
    )
    for feature in (line, letter):
        assert feature.shape == (1, CONFIG["dimensions"])
        assert np.linalg.norm(feature) == pytest.approx(1.0)


def test_weight_scales_the_features_and_nothing_known_gives_zeros(training_data, tokenizer, tmp_path):
    storage = LocalModelStorage(tmp_path)
    featurizer(storage, weight=2.0).train(training_data)
    component = loaded(storage, weight=2.0)
    assert np.linalg.norm(sentence_feature(component, tokenizer, "垃圾桶满了没人清")) == pytest.approx(2.0)
    assert not sentence_feature(component, tokenizer, "qwxz zzkv").any()


def test_training_twice_gives_the_same_vectors(training_data, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = featurizer(LocalModelStorage(tmp_path / "a"))
    second = featurizer(LocalModelStorage(tmp_path / "b"))
    first.train(training_data)
    second.train(training_data)
    assert first._vectors.vocabulary == second._vectors.vocabulary
    np.testing.assert_allclose(first._vectors.vectors, second._vectors.vectors, rtol=0, atol=1e-9)
    np.testing.assert_allclose(first._vectors.character_vectors, second._vectors.character_vectors, atol=1e-9)


def test_words_used_in_the_same_contexts_are_close_and_unknown_words_come_from_their_characters():
    lifts = [["电梯", "坏", "了", "困", "人"], ["电梯", "不", "动", "了"], ["电梯", "停", "了", "一", "天"]]
    lamps = [["路灯", "不", "亮"], ["路灯", "灭", "了", "晚上", "黑"], ["路灯", "一闪", "一闪", "不", "亮"]]
    lifts_too = [["升降梯", "坏", "了", "困", "人"], ["升降梯", "不", "动", "了"], ["升降梯", "停", "了", "一", "天"]]
    vectors = WordVectors.fit(
        (lifts + lamps + lifts_too) * 3, dimensions=4, window=3, min_count=1, characters=True, random_state=0
    )

    def vector(word: str) -> np.ndarray:
        found, _ = vectors.word_vector(word)
        assert found is not None
        return found

    assert vector("电梯") @ vector("升降梯") > vector("电梯") @ vector("路灯")
    assert "梯子" not in vectors.vocabulary
    assert vector("梯子") @ vector("电梯") > vector("梯子") @ vector("路灯")  # from 梯, seen in 电梯 and 升降梯
    assert vectors.word_vector("冰箱")[0] is None


def test_an_unknown_method_or_a_zero_dimension_is_refused(tmp_path):
    with pytest.raises(ValueError):
        featurizer(LocalModelStorage(tmp_path), method="glove")
    with pytest.raises(ValueError):
        featurizer(LocalModelStorage(tmp_path), dimensions=0)
