"""Several problems in one message: how a message is cut, when it is two problems, and the Rasa parse that says so.

The decision is tested twice: on parses written here (the rules themselves)
and on the trained model (``models/``, as ``make train`` leaves it), with
messages written for this test, two problems and one problem told at length.
"""

import pytest

from backend.model_store import model_path
from backend.rasa_ext.patches.several_problems import with_problems
from backend.settings import PROJECT_ROOT
from backend.triage import several
from backend.triage.core import triage
from backend.triage.several import find_problems, problems_of, segments


def parse(name, confidence, runner_up=None):
    ranking = [{"name": name, "confidence": confidence}]
    if runner_up:
        ranking.append({"name": runner_up[0], "confidence": runner_up[1]})
    return {"intent": {"name": name, "confidence": confidence}, "intent_ranking": ranking}


def test_a_message_is_cut_at_sentences_and_before_another_matter():
    assert segments("路灯坏了一个礼拜了晚上黑乎乎的，还有5号楼电梯老是卡在三楼") == [
        "路灯坏了一个礼拜了晚上黑乎乎的",
        "还有5号楼电梯老是卡在三楼",
    ]
    letter = "我家楼上卫生间漏水，已经渗到天花板了。找了物业三次，物业说自己协商。墙皮掉了一大块"
    assert segments(letter) == [
        "我家楼上卫生间漏水，已经渗到天花板了",
        "找了物业三次，物业说自己协商",
        "墙皮掉了一大块",
    ]
    # a short part (好的, 谢谢) joins its neighbour; one sentence of one clause stays whole
    assert segments("路灯坏了好几天了。谢谢") == ["路灯坏了好几天了，谢谢"]
    assert segments("电梯坏了") == ["电梯坏了"]


def test_two_confident_problems_with_different_handlers_are_two():
    text = "滨湖路的路灯坏了一个礼拜了，还有碧湖丽苑5号楼电梯老是卡在三楼"
    found = problems_of(text, [parse("streetlight", 0.99), parse("elevator", 0.98)])
    assert [p.category for p in found] == ["streetlight", "elevator"]
    assert found[0].summary == "滨湖路的路灯坏了一个礼拜了" and found[1].name == "电梯"


def test_one_problem_told_at_length_stays_one():
    text = "小区里垃圾桶满了好几天没人清理，味道特别大。物业费年年交，保洁就是不来。楼下老人出门都得捂着鼻子"
    parses = [parse("estate_sanitation", 0.96), parse("property_service", 0.99), parse("civility", 0.8)]
    # 物业不管 is who failed to help; 捂着鼻子 read as 文明公约 (a noise-group category) names no noise
    assert problems_of(text, parses) == []
    # unsure clauses never split a letter
    assert problems_of("路灯坏了好几天了。晚上走路黑乎乎的", [parse("streetlight", 0.99), parse("road", 0.6)]) == []


def test_the_same_topic_in_two_places_or_a_private_consequence_is_not_a_second_problem():
    # rubbish in the street and rubbish in the estate: one topic, the place decides which
    text = "望江路边上垃圾成堆好几天了没人管，小区门口垃圾桶也满得冒出来了"
    assert problems_of(text, [parse("street_sanitation", 0.9), parse("estate_sanitation", 0.9)]) == []
    # a household consequence beside a public problem is not offered as a ticket of its own
    text = "隔壁采石场天天放炮震得厉害，家里的碗都在柜子里跳来跳去"
    assert problems_of(text, [parse("pollution", 0.95), parse("home_repair", 0.95)]) == []


def test_rubbish_unsure_between_street_and_estate_is_still_sure_it_is_rubbish():
    text = "望江路那家烧烤店天天半夜吵得整栋楼睡不着，还有他家门口的垃圾堆成小山了没人收"
    parses = [parse("pollution", 0.95), parse("street_sanitation", 0.62, ("estate_sanitation", 0.2))]
    assert [p.category for p in problems_of(text, parses)] == ["pollution", "street_sanitation"]


def test_the_rasa_parse_carries_the_problems_and_the_triage_returns_them():
    text = "滨湖路的路灯坏了一个礼拜了，还有碧湖丽苑5号楼电梯老是卡在三楼"
    clauses = {
        "滨湖路的路灯坏了一个礼拜了": parse("streetlight", 0.99),
        "还有碧湖丽苑5号楼电梯老是卡在三楼": parse("elevator", 0.98),
    }
    whole = with_problems(parse("elevator", 0.9), text, lambda texts: [clauses[t] for t in texts])
    assert [p["category"] for p in whole["problems"]] == ["streetlight", "elevator"]
    assert [p["category"] for p in triage(whole, text).problems] == ["streetlight", "elevator"]
    # not a request (a points question), or a button: no clause is parsed at all
    assert with_problems(parse("points_catalogue", 0.9), "积分怎么换，能换啥东西呀", None)["problems"] == []
    assert with_problems(parse("affirm", 1.0), "/affirm", None)["problems"] == []


@pytest.fixture(scope="module")
def nlu():
    from backend.triage.local import LocalNLU

    model = model_path(PROJECT_ROOT / "models")
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make train` first")
    loaded = LocalNLU(model)
    yield loaded
    loaded.close()


TWO = [
    (
        "我实在忍不下去了要反映一下，望江路上新开的那家烧烤店天天营业到后半夜两三点，一帮人喝酒划拳吆五喝六的，"
        "吵得我们这几栋楼的人都睡不着觉，我家老人本来心脏就不好。还有他家门口的垃圾堆得跟小山一样，"
        "竹签子啤酒瓶子剩菜剩饭全扔在人行道上，汤汤水水流得到处都是，这么热的天臭得窗户都不敢开，麻烦你们管一管",
        ["pollution", "street_sanitation"],
    ),
    ("小区门口那个路灯坏了一个礼拜了晚上黑乎乎的，还有我们5号楼电梯老是卡在三楼不动", ["elevator"]),
    ("楼下广场舞音响开得震天响天天吵到十点，另外马路边上井盖缺了一块好危险", ["road"]),
]
ONE = [
    "我家楼上卫生间漏水，已经渗到我家天花板了。找了物业三次，物业说让我们自己协商。楼上那家人一直不开门。"
    "墙皮都掉了一大块，孩子房间都没法住人，怎么办啊",
    "小区里垃圾桶满了好几天没人清理，味道特别大。物业费年年交，保洁就是不来。楼下老人出门都得捂着鼻子。希望社区督促一下。",
    "路灯坏了好几天了。晚上走路黑乎乎的，昨天有个老太太还摔了一跤。希望尽快修一下，谢谢。",
    "隔壁装修天天早上七点就开始电钻，周末也不停，跟他们说了也没用，孩子要中考了，能不能管管",
    "你好，我想问下积分怎么换东西",
]


@pytest.mark.parametrize(("text", "among"), TWO)
def test_the_model_finds_two_problems(nlu, text, among):
    found = find_problems(text, nlu.parse_many)
    assert len(found) == 2, [(p.category, p.confidence) for p in found]
    assert set(among) <= {p.category for p in found}


@pytest.mark.parametrize(("text", "among"), TWO[:2])
def test_the_clauses_parsed_as_one_batch_read_as_each_parsed_alone(nlu, text, among):
    clauses = segments(text)
    together = nlu.parse_many(clauses)
    alone = [nlu.parse_many([clause])[0] for clause in clauses]
    assert [p["text"] for p in together] == clauses
    for batched, single in zip(together, alone, strict=True):
        assert batched["intent"]["name"] == single["intent"]["name"]
        assert [r["name"] for r in batched["intent_ranking"]] == [r["name"] for r in single["intent_ranking"]]
        assert batched["intent"]["confidence"] == pytest.approx(single["intent"]["confidence"], abs=1e-9)


def test_the_cli_triage_in_this_process_says_both_problems(nlu):
    text, among = TWO[0]
    found = nlu.triage(text).problems
    assert len(found) == 2
    assert set(among) <= {p["category"] for p in found}
    assert nlu.triage(ONE[0]).problems == []


@pytest.mark.parametrize("text", ONE)
def test_the_model_keeps_one_problem_one(nlu, text):
    assert find_problems(text, nlu.parse_many) == []


def test_a_letter_is_one_petition_and_its_sentences_are_not_parsed_again():
    letter = (
        "尊敬的街道领导：我是枫林苑的老住户，想反映两个拖了很久的问题。第一，滨湖路靠近公交站那一段的路灯"
        "坏了一个多月，晚上漆黑一片，上周还有骑电动车的老人摔倒在路边，我们打过热线，说是已经报修，可到现在"
        "也没有人来，孩子晚上放学都得绕远路。第二，枫林苑2号楼的电梯这个月困了三次人，最长的一次关了四十分钟，物业只说在等配件。我家有八十多岁的老人，电梯一停就下不了楼，去医院复查都成了难事。"
        "恳请街道督促有关单位尽快处理，谢谢！"
    )
    assert len(letter) > several.LETTER_CHARS

    def parse(clauses):
        raise AssertionError(f"a letter's clauses were parsed: {clauses}")

    assert several.find_problems(letter, parse) == []
