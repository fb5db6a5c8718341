"""Roads and public places at the report form's place step (issue 25, item 1), with the demo registry.

枫林路 (alias 枫林大道) is a road of 枫林社区第一网格, two characters from the
estate 枫林苑: it used to be read as the estate, and "枫林苑的几号楼？" came
back whatever the resident said, until they cancelled.
"""

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.filing import ActionSubmitReport
from actions.report_form import ValidateReportForm
from backend.models import Community, Ticket, TicketEvent
from backend.tickets.routing import describe, route, suggest_places
from backend.triage.entities import extract
from tests.actions.conftest import make_tracker

FORM = ValidateReportForm()
ROAD = "枫林路（枫林社区第一网格）"


def asking(**slots):
    return {"requested_slot": "report_place", "category": "streetlight", **slots}


async def answer(text, sender="web:road", intent="inform_place", **slots):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(sender, text, intent, slots=asking(**slots))
    result = await FORM.validate_report_place(text, dispatcher, tracker, {})
    return result, [m.get("response") for m in dispatcher.messages], dispatcher.messages


@pytest.mark.parametrize(
    "text", ["就在枫林路公交站边上", "不是小区啊，是马路上 枫林路", "枫林大道", "枫林路口那个站台"]
)
async def test_the_road_is_the_road_not_the_estate(backend, text):
    result, responses, _ = await answer(text)
    assert "utter_report_which_building" not in responses
    assert result["report_place"] == text and result["report_place_display"] == ROAD
    assert responses == []


@pytest.mark.parametrize("text", ["就在枫林路公交站边上", "不是小区啊，是马路上 枫林路", "枫林大道"])
async def test_after_the_building_question_a_road_answer_is_read_on_its_own(backend, text):
    """The building question was asked (wrongly or not): an answer naming a road is not "枫林苑 + answer"."""
    result, responses, _ = await answer(text, report_place_partial="枫林苑")
    assert responses == []
    assert result["report_place"] == text and result["report_place_display"] == ROAD
    assert result["report_place_partial"] is None


async def test_a_typo_in_a_road_is_matched_against_roads_and_a_typo_in_an_estate_still_against_estates(backend):
    result, _, _ = await answer("风林路公交站")
    assert result["report_place_display"] == ROAD
    result, _, _ = await answer("枫林院3号楼")
    assert result["report_place_display"] == "枫林苑 3号楼（枫林社区第一网格）"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("枫林苑3号楼门口，枫林路上", "枫林苑 3号楼（枫林社区第一网格）"),  # a building number: the estate's building
        ("枫林苑门口的枫林路上", ROAD),  # the head of the phrase comes last: the road
        ("学府街菜场门口", "学府街（枫林社区第二网格）"),
        ("滨湖广场", "滨湖广场（望江社区第三网格）"),
    ],
)
def test_route_with_both_an_estate_and_a_road_named(backend, text, shown):
    with backend() as s:
        where = route(session=s, place_text=text, entities=extract(text))
        assert where.resolved and describe(where) == shown


async def test_not_in_an_estate_is_believed_no_building_is_asked_then_the_words_are_filed(backend):
    """ "不是小区，在马路上" after the building question: asked which road (roads only), then filed as said."""
    first, responses, messages = await answer("不是小区啊，是在马路上", report_place_partial="枫林苑")
    assert responses == ["utter_report_which_road"]
    assert first["report_place"] is None and first["report_place_tries"] == 1
    assert first["report_place_partial"] is None
    with backend() as s:
        estates = {"枫林苑", "锦绣花园", "和园新村", "望江新村", "江南家园", "碧湖丽苑"}
        assert not estates & {b["title"] for b in messages[0]["buttons"]}
        assert not estates & set(suggest_places(session=s, text="不是小区啊，是在马路上"))

    second, responses, _ = await answer("就是那个大转盘旁边的马路", report_place_tries=1)
    assert responses == ["utter_report_place_as_written"]
    assert second["report_place"] == "就是那个大转盘旁边的马路"
    assert "核实" in second["report_place_display"]


async def test_an_estate_gets_one_building_question_then_the_answer_is_kept_and_flagged_for_dispatch(backend):
    """枫林苑 → 几号楼？ → 小区门口: no second building question; the ticket waits for dispatch, flagged."""
    first, responses, _ = await answer("枫林苑", sender="web:gate")
    assert responses == ["utter_report_which_building"]
    second, responses, _ = await answer(
        "小区门口", sender="web:gate", report_place_partial=first["report_place_partial"]
    )
    assert responses == ["utter_report_place_as_written"]
    assert second["report_place"] == "枫林苑 小区门口" and "核实" in second["report_place_display"]

    slots = {
        "category": "streetlight",
        "request_text": "小区门口的灯不亮",
        "report_description": "小区门口的灯不亮",
        "report_place": second["report_place"],
        "report_urgency": "normal",
        "report_phone": "none",
        "report_confirm": "yes",
    }
    dispatcher = CollectingDispatcher()
    await ActionSubmitReport().run(dispatcher, make_tracker("web:gate", "确认", "affirm", slots=slots), {})
    with backend() as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.place_text == "枫林苑 小区门口" and ticket.needs_dispatch == 1
        assert ticket.community_id == s.scalars(select(Community.id).filter_by(code="fl")).one()
        assert ticket.grid_id is None and ticket.assignee_id is None
        kinds = [e.kind for e in s.scalars(select(TicketEvent).filter_by(ticket_id=ticket.id))]
        assert "needs_dispatch" in kinds


async def test_two_misses_of_a_road_the_registry_does_not_know_are_filed_as_given(backend):
    first, responses, _ = await answer("不是小区，在东湖大道那边的公交站")
    assert responses == ["utter_report_which_road"] and first["report_place_tries"] == 1
    second, responses, _ = await answer("东湖大道公交站", report_place_tries=1)
    assert responses == ["utter_report_place_as_written"]
    assert second["report_place"] == "东湖大道公交站" and "核实" in second["report_place_display"]
