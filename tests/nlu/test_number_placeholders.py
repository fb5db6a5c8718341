"""Ticket numbers and phones reach the featurizers as placeholders; text and entities stay as sent."""

import spacy
from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from backend.rasa_ext.nlu_placeholders import mask_number_lemmas
from backend.training.spacy_pipeline import build


def tokenised(text: str) -> Message:
    nlp = spacy.load(build())
    message = Message(data={TEXT: text})
    message.set(SPACY_DOCS[TEXT], nlp(text))
    tokenizer = SpacyTokenizer({**SpacyTokenizer.get_default_config()})
    tokenizer.process([message])
    return message


def test_two_ticket_numbers_of_different_days_look_the_same_to_the_featurizers():
    lemmas = []
    for number in ("GZ20261122-0001", "GZ20250309-0417"):
        message = tokenised(f"查询 {number} 怎么样了")
        mask_number_lemmas(message)
        tokens = message.get(TOKENS_NAMES[TEXT])
        lemmas.append([t.lemma for t in tokens])
        assert "".join(t.text for t in tokens).replace(" ", "") == f"查询{number}怎么样了"
        assert message.get(TEXT) == f"查询 {number} 怎么样了"
    assert lemmas[0] == lemmas[1]
    assert "工单号" in lemmas[0] and not any("2026" in lemma for lemma in lemmas[0])


def test_a_phone_becomes_a_placeholder_and_other_digits_are_left_alone():
    message = tokenised("3栋电梯坏了，电话13957204816")
    mask_number_lemmas(message)
    lemmas = [t.lemma for t in message.get(TOKENS_NAMES[TEXT])]
    assert "手机号" in lemmas and "13957204816" not in lemmas
    assert "3" in lemmas or "3栋" in lemmas
