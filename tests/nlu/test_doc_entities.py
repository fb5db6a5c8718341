"""The entity extractor that reads SpacyNLP's doc gives Rasa's SpacyEntityExtractor's entities, with one spaCy run.

Both run on the project's own spaCy pipeline (``var/spacy/zh_santong``, built
by ``make train``), after ``SpacyNLP`` has made each message's doc as in
the served model.
"""

from __future__ import annotations

import pytest
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from backend.rasa_ext.nlu_entities import SpacyDocEntities
from backend.settings import PROJECT_ROOT

PIPELINE = PROJECT_ROOT / "var" / "spacy" / "zh_santong"

TEXTS = [
    "碧湖丽苑5号楼2单元302室楼道灯坏了",
    "枫林路公交站边上的井盖没了，电话13912345678",
    "查询 GZ20261203-0001",  # upper-case letters: the doc is lower-cased, spaCy runs again
    "查询 gz20261203-0001",
    "学府街东头的路灯有三盏不亮了，晚上黑乎乎的",
    "滨湖广场跳舞的音响太吵了 SOS",
    "？",
    "👍👍",
    "我家住和园新村1号楼，想问问积分怎么换东西",
]


@pytest.fixture(scope="module")
def spacy_model():
    if not PIPELINE.exists():
        pytest.fail(f"no spaCy pipeline at {PIPELINE}: run `make train` first")
    return SpacyNLP.load_model(str(PIPELINE))


class CountingLanguage:
    """The spaCy pipeline, counting the texts it is run on."""

    def __init__(self, nlp):
        self.nlp = nlp
        self.runs: list[str] = []

    def __call__(self, text):
        self.runs.append(text)
        return self.nlp(text)


def _messages(spacy_model):
    messages = [Message(data={TEXT: text}) for text in TEXTS]
    SpacyNLP(spacy_model, {**SpacyNLP.get_default_config(), "model": str(PIPELINE)}).process(messages, spacy_model)
    return messages


def test_the_entities_are_those_of_rasas_extractor_and_spacy_runs_only_for_a_different_text(spacy_model):
    config = SpacyEntityExtractor.get_default_config()
    expected = SpacyEntityExtractor(config).process(_messages(spacy_model), spacy_model)
    counting = CountingLanguage(spacy_model.model)
    got = SpacyDocEntities(config).process(_messages(spacy_model), SpacyModel(counting, spacy_model.model_name))
    found = 0
    for before, after in zip(expected, got, strict=True):
        ours = [{**e, "extractor": "SpacyEntityExtractor"} for e in after.get(ENTITIES, [])]
        assert ours == before.get(ENTITIES, []), before.get(TEXT)
        found += len(ours)
    assert found >= 8  # places, building, unit, room, phone, ticket numbers
    assert counting.runs == [text for text in TEXTS if text != text.lower()]


def test_a_text_changed_after_the_doc_was_made_is_read_again(spacy_model):
    message = _messages(spacy_model)[0]
    message.set(TEXT, "枫林苑8号楼电梯坏了")
    counting = CountingLanguage(spacy_model.model)
    SpacyDocEntities(SpacyEntityExtractor.get_default_config()).process([message], SpacyModel(counting, "zh"))
    assert counting.runs == ["枫林苑8号楼电梯坏了"]
    assert message.get(SPACY_DOCS[TEXT]).text != "枫林苑8号楼电梯坏了"
    assert {e["value"] for e in message.get(ENTITIES)} >= {"枫林苑", "8号楼"}
