"""A report that names its place, with the classifier torn between a place answer and the category (issue 25).

"俺们枫林苑3号楼的电悌又趴窝了，老人家上不去" scored inform_place 0.506 and
elevator 0.477, too close to call, so the fallback took it; it is a report.
"""

from backend.triage.core import triage

TEXT = "俺们枫林苑3号楼的电悌又趴窝了，老人家上不去"
RANKING = [
    {"name": "nlu_fallback", "confidence": 0.5},
    {"name": "inform_place", "confidence": 0.506},
    {"name": "elevator", "confidence": 0.477},
]


def test_a_report_with_its_place_is_read_as_its_category_when_the_fallback_took_it():
    parse = {"intent": {"name": "nlu_fallback", "confidence": 0.5}, "intent_ranking": RANKING}
    result = triage(parse, TEXT)
    assert result.kind == "request" and result.category == "elevator"


def test_a_bare_place_the_fallback_took_stays_a_place_answer():
    parse = {"intent": {"name": "nlu_fallback", "confidence": 0.5}, "intent_ranking": RANKING}
    assert triage(parse, "枫林苑3号楼").category is None


def test_words_without_a_place_the_fallback_took_are_not_made_a_report():
    parse = {"intent": {"name": "nlu_fallback", "confidence": 0.5}, "intent_ranking": RANKING}
    assert triage(parse, "🙏🙏🙏").category is None
