"""The help answer says how long a report takes and who sees it, as the category table sets it (issue 25).

Residents ask "报了事多久有人来处理" and "我报的事谁能看到"; the answer
(``utter_help`` in ``domain/core.yml``) names the three tiers with their
deadlines from ``config/categories.yml`` and the people who see a report.
"""

from __future__ import annotations

import yaml

from backend.settings import PROJECT_ROOT


def _help_text() -> str:
    responses = yaml.safe_load((PROJECT_ROOT / "domain" / "core.yml").read_text(encoding="utf-8"))["responses"]
    return str(responses["utter_help"][0]["text"])


def test_the_help_answer_names_each_tier_and_its_deadline():
    text = _help_text()
    tiers = yaml.safe_load((PROJECT_ROOT / "config" / "categories.yml").read_text(encoding="utf-8"))["tiers"]
    for tier in tiers.values():
        small, name = str(tier["name"]).split(" · ")
        assert f"{small}{name}" in text
        days = int(tier["deadline_days"])
        assert ("当天" if days == 0 else f"{days} 天内") in text


def test_the_help_answer_says_who_sees_a_report_and_what_a_neighbour_sees():
    text = _help_text()
    assert "网格员" in text and "谁能看到" in text
    assert "看不到您写的内容、姓名和电话" in text
