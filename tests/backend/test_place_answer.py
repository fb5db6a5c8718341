"""A place told in the report form, read as text: which words go to the registry."""

from backend.triage.place_answer import has_place, names_own_place, place_candidate


def test_what_names_a_place():
    assert has_place("枫林苑3号楼电梯坏了") and has_place("学府街路灯不亮")
    assert not has_place("电梯坏了") and not has_place("好的")


def test_the_answer_to_the_building_question_goes_with_the_estate_asked_about():
    assert place_candidate("4号楼", partial="枫林苑", asked=True) == "枫林苑 4号楼"
    # an answer that names its own place is read alone: another estate, a road, "not in an estate"
    assert (
        names_own_place("望江新村2号楼")
        and place_candidate("望江新村2号楼", partial="枫林苑", asked=True) == "望江新村2号楼"
    )
    assert place_candidate("不是小区，是马路上", partial="枫林苑", asked=True) == "不是小区，是马路上"
    assert place_candidate("枫林路口", partial="枫林苑", asked=True) == "枫林路口"


def test_without_the_building_question_the_words_are_read_as_they_are():
    assert place_candidate("4号楼", partial="", asked=True) == "4号楼"
    assert place_candidate("4号楼", partial="枫林苑", asked=False) == "4号楼"  # pre-filled, not an answer
