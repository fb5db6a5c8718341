"""The triage's "unsure between two" on rankings the trained model gave held-out messages (tests/nlu_heldout)."""

from __future__ import annotations

import yaml

from backend.categories import default_table
from backend.settings import PROJECT_ROOT
from backend.triage.core import triage
from backend.triage.result import LOW_CONFIDENCE
from backend.triage.two_categories import two_choices


def parse(ranking: list[tuple[str, float]]) -> dict:
    """A parse as Rasa returns it: the intent (nlu_fallback when under the threshold) and the ranking."""
    top = ranking[0]
    return {
        "intent": {"name": top[0], "confidence": top[1]},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    }


def test_under_the_fallback_threshold_between_two_categories_asks_which():
    result = triage(
        parse([("nlu_fallback", 0.5), ("street_order", 0.376), ("public_safety", 0.308), ("pollution", 0.194)]),
        "晚上有人在学府街的小巷子里抢学生的手机",
    )
    assert result.choices == ["street_order", "public_safety"]
    assert result.question == "您说的是【市容秩序】还是【治安消防】？"
    assert result.kind == "request" and result.needs_clarification and result.category is None
    assert [t["category"] for t in result.top] == ["street_order", "public_safety", "pollution"]
    assert result.as_dict()["choices"] == ["street_order", "public_safety"]


def test_a_category_just_ahead_of_the_second_asks_too():
    result = triage(
        parse([("policy_service", 0.508), ("traffic", 0.438), ("other_public", 0.027)]), "老年人乘公交免费卡在哪办理"
    )
    assert result.choices == ["policy_service", "traffic"] and result.intent == "policy_service"


def test_a_clear_lead_is_answered_without_a_question():
    result = triage(parse([("elevator", 0.93), ("building_common", 0.05)]), "三号楼电梯又坏了")
    assert result.choices == [] and result.category == "elevator" and not result.needs_clarification


def test_no_question_about_categories_when_the_message_may_be_something_else():
    # The model's second guess is a place answer, not a category: no category buttons.
    result = triage(
        parse([("nlu_fallback", 0.5), ("inform_place", 0.473), ("other_public", 0.415), ("estate_sanitation", 0.059)]),
        "小区旁边的地块说好是公园，现在围起来在盖写字楼",
    )
    assert result.choices == []
    # Two categories holding too little of the probability between them: not a choice of two either.
    assert (
        two_choices(
            [{"name": "street_order", "confidence": 0.44}, {"name": "personal_help", "confidence": 0.12}],
            default_table(),
        )
        == []
    )


def test_the_place_decides_before_the_resident_is_asked():
    # 户内维修 or 楼道: the message says 楼道, so it is the building's matter.
    said = triage(parse([("nlu_fallback", 0.5), ("home_repair", 0.45), ("building_common", 0.4)]), "楼道里漏水了")
    assert said.choices == [] and said.category == "building_common" and said.low_confidence
    # The same two without a place: the place question settles it, not a choice of categories.
    unsaid = triage(parse([("nlu_fallback", 0.5), ("home_repair", 0.45), ("building_common", 0.4)]), "漏水了")
    assert unsaid.choices == [] and unsaid.question == "是在您家里、楼道小区里，还是外面马路上？"
    assert unsaid.intent == "home_repair"  # the answer is read through 漏水's places, not 楼道灯's


def test_under_the_fallback_threshold_means_what_the_fallback_classifier_means():
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    fallback = next(c for c in config["pipeline"] if c["name"] == "FallbackClassifier")
    assert LOW_CONFIDENCE == fallback["threshold"]
