import cn2an
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.triage.core import resolve_with_answer, triage
from backend.triage.entities import extract, to_int
from backend.triage.place import scope_of, topic_of
from backend.triage.text import classification_text


def parse(intent, confidence=0.9, ranking=None):
    return {"intent": {"name": intent, "confidence": confidence}, "intent_ranking": ranking or []}


@given(st.integers(min_value=1, max_value=9999))
def test_chinese_numerals_normalise_to_the_number(n):
    assert to_int(cn2an.an2cn(n)) == n
    assert to_int(str(n)) == n


@given(st.integers(min_value=1, max_value=99), st.sampled_from(["号楼", "栋", "幢"]), st.booleans())
def test_building_forms_all_mean_the_same_building(n, suffix, chinese):
    number = cn2an.an2cn(n) if chinese else str(n)
    assert extract(f"我们{number}{suffix}电梯又坏了")["building"] == n


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_mobile_numbers_are_found(phone):
    assert extract(f"电话{phone}，谢谢")["phone"] == phone


@given(st.text(max_size=300))
def test_extraction_and_triage_never_crash_on_any_text(text):
    entities = extract(text)
    assert isinstance(entities, dict)
    result = triage(parse("nlu_fallback", 0.3), text)
    assert result.kind in ("request", "other")


def test_places_units_rooms_tickets_and_registry_aliases():
    e = extract("锦秀花园五栋二单元602室楼上漏水，我电话138-1234-5678")
    assert e == {"estate": "锦绣花园", "building": 5, "unit": 2, "room": "602", "phone": "13812345678"}
    assert extract("查一下 gz 20261121-0007")["ticket_no"] == "GZ20261121-0007"
    assert extract("望江大道上的井盖没了")["road"] == "望江路"


def test_scope_words_and_the_head_of_the_phrase():
    assert scope_of("我家厨房水管漏水") == "home"
    assert scope_of("楼道里一直在滴水") == "estate"
    assert scope_of("小区门口的马路上漏水") == "public"
    assert scope_of("漏水了") is None
    assert topic_of("漏水了") == "leak" and topic_of("电梯坏了") is None


def test_place_dependent_message_without_place_asks_one_question():
    result = triage(parse("home_repair"), "漏水了，快来人看看")
    assert result.needs_clarification and result.question == "是在您家里、楼道小区里，还是外面马路上？"
    assert result.category is None and result.kind == "request"


def test_the_place_in_the_message_decides_the_category():
    result = triage(parse("streetlight"), "楼道灯不亮好几天了")
    assert (result.category, result.matter, result.place_scope) == ("building_common", "shared", "estate")
    result = triage(parse("streetlight"), "学府街的路灯一到晚上就不亮")
    assert (result.category, result.matter) == ("streetlight", "public")


def test_a_category_that_does_not_depend_on_place_is_taken_as_is():
    result = triage(parse("elevator", 0.97), "3号楼电梯又坏了")
    assert (result.kind, result.category, result.matter, result.tier) == ("request", "elevator", "shared", "immediate")
    assert result.entities["building"] == 3


def test_non_request_intents_are_other():
    result = triage(parse("greet"), "你好")
    assert (result.kind, result.category, result.matter) == ("other", None, None)


def test_fallback_asks_for_the_problem():
    result = triage(parse("nlu_fallback", 0.3, [{"name": "greet", "confidence": 0.3}]), "啊这")
    assert result.kind == "other" and result.needs_clarification and "什么问题" in result.question


def test_the_answer_to_the_place_question_decides():
    assert resolve_with_answer("home_repair", "在我家卫生间") == ("home_repair", "home")
    assert resolve_with_answer("home_repair", "楼道里") == ("building_common", "estate")
    assert resolve_with_answer("home_repair", "public") == ("utility", "public")
    assert resolve_with_answer("home_repair", "不知道") == (None, None)


def test_long_and_dirty_text_is_cut_for_classification_only():
    text = "井盖\x00没了" + "很危险" * 2000
    assert len(classification_text(text)) == 500 and "\x00" not in classification_text(text)


def test_a_short_report_read_as_a_place_answer_takes_the_runner_up_category():
    parse = {
        "intent": {"name": "inform_place", "confidence": 0.66},
        "intent_ranking": [
            {"name": "inform_place", "confidence": 0.66},
            {"name": "building_common", "confidence": 0.29},
        ],
    }
    assert triage(parse, "望江新村9号楼单元门坏了").category == "building_common"
    assert triage({**parse, "intent_ranking": parse["intent_ranking"][:1]}, "望江新村9号楼单元门坏了").category is None
    only_place = {"intent": {"name": "inform_place", "confidence": 0.66}, "intent_ranking": parse["intent_ranking"]}
    assert triage(only_place, "碧湖丽苑5幢").kind == "other"


def test_xiang_inside_yingxiang_is_not_a_noise():
    assert topic_of("这件事影响很大，希望有关部门尽快响应") is None
    assert topic_of("半夜音响开得震天响") == "noise"


@pytest.mark.parametrize(
    "text",
    ["街边那个垃圾桶满了好几天没人倒", "路边的垃圾都堆成山了", "马路上到处是垃圾", "公交站旁边垃圾没人清"],
)
def test_street_words_are_public_places(text):
    result = triage(parse("estate_sanitation"), text)
    assert (result.category, result.place_scope, result.needs_clarification) == ("street_sanitation", "public", False)


LETTER_ABOUT_A_QUARRY = (
    "关于城郊采石场夜间作业扰民的投诉。尊敬的领导：我是家住清河苑的一名普通居民，今年开春以来，"
    "离我们小区不到一公里的采石场几乎每晚都在开山放炮、机器轰鸣，一直持续到凌晨两三点，"
    "家里老人孩子整夜睡不着觉，卧室的窗户都在震。我们多次打电话反映，都没有下文。恳请环保部门"
    "依法查处，还我们一个安静的夜晚。"
)
LETTER_ABOUT_A_FACTORY = (
    "反映东湖工业园一家化工厂的问题。去年十月起，这家厂每天傍晚排放刺鼻的气体，"
    "附近几个村的村民都闻得到，小孩老人咳嗽不断，地里的庄稼也发黄。"
    "我们找过村委会，也打过热线，到现在还没有人来查，请求有关部门派人调查处理。"
)


def test_a_letter_about_works_noise_is_public_although_it_names_home_and_estate():
    assert len(LETTER_ABOUT_A_QUARRY) >= 80
    result = triage(parse("pollution", 0.8), LETTER_ABOUT_A_QUARRY)
    assert (result.category, result.matter, result.needs_clarification) == ("pollution", "public", False)


def test_a_letter_whose_place_is_not_said_keeps_the_guess_flagged_instead_of_asking():
    letter = LETTER_ABOUT_A_FACTORY.replace("刺鼻的气体", "刺鼻的气体和很大的噪音")
    result = triage(parse("pollution", 0.9), letter)
    assert (result.category, result.needs_clarification, result.question) == ("pollution", False, None)
    assert result.low_confidence
    short = triage(parse("pollution", 0.9), "晚上太吵了睡不着")
    assert short.needs_clarification and short.category is None


def test_a_letter_the_classifier_is_unsure_of_gets_its_best_guess_not_please_describe():
    ranking = [{"name": "nlu_fallback", "confidence": 0.3}, {"name": "pollution", "confidence": 0.25}]
    result = triage(parse("nlu_fallback", 0.3, ranking), LETTER_ABOUT_A_FACTORY)
    assert (result.kind, result.category, result.low_confidence, result.needs_clarification) == (
        "request",
        "pollution",
        True,
        False,
    )
    assert triage(parse("nlu_fallback", 0.3, ranking), "那个厂的事").kind == "other"


def test_home_words_in_a_noise_sentence_say_where_it_is_heard_neighbours_say_where_it_comes_from():
    assert triage(parse("neighbor_dispute"), "楼上每天半夜剁东西，吵得我家孩子睡不着").category == "neighbor_dispute"
    assert triage(parse("civility"), "楼下烧烤店每天营业到凌晨，吵得我们家里没法睡").category == "pollution"
