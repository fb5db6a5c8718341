"""Grid members in the chat (issue 25, items 11 and 12): whistles with long reasons, 查询 of their grid's tickets,
我的待办 with place and summary, and the 接单 button of a dispatch notice, through the actions with real trackers."""

from datetime import datetime, timezone

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.gridwork import ActionGridCommand
from actions.gridwork_query import member_answer
from backend.gridwork.binding import issue_code
from backend.models import Ticket
from tests.actions.conftest import make_tracker
from tests.factories import file_ticket
from tests.news import news

NOW = datetime.now(timezone.utc)
MEMBER = "telegram:8801"  # bound to 陈建国 (gm-fl-02), whose grid holds 学府街
STREETLIGHT = "学府街东头的路灯不亮好几天了，晚上走路黑乎乎的。我家电话13912345678"


async def run(action_or_answer, sender, text, intent="grid_command"):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(sender, text, intent)
    if isinstance(action_or_answer, ActionGridCommand):
        events = await action_or_answer.run(dispatcher, tracker, {})
    else:
        events = await action_or_answer(dispatcher, tracker, {})
    return dispatcher.messages, events


async def bind(backend, sender=MEMBER, member_code="gm-fl-02"):
    with backend.begin() as s:
        code = issue_code(session=s, member_code=member_code, now=NOW)
    [bound], _ = await run(ActionGridCommand(), sender, f"绑定 {code}")
    assert bound["response"] == "utter_grid_bound"


def streetlight(backend, sender="r-light"):
    with backend.begin() as s:
        return file_ticket(
            s, sender=sender, category="streetlight", description=STREETLIGHT, place_text="学府街", entities={}, now=NOW
        ).number


def elsewhere(backend):
    with backend.begin() as s:  # 望江新村 is another community's grid
        return file_ticket(
            s,
            sender="r-other",
            description="望江新村9号楼电梯困人了",
            place_text="望江新村9号楼",
            entities={"building": 9},
            now=NOW,
        ).number


def timeline_notes(backend, number):
    with backend() as s:
        ticket = s.scalars(select(Ticket).filter_by(number=number)).one()
        return ticket.status, [str(e.note or "") for e in ticket.events]


async def test_a_whistle_with_a_long_reason_goes_up_with_the_whole_reason(backend):
    await bind(backend)
    number = streetlight(backend)
    [done], _ = await run(ActionGridCommand(), MEMBER, f"吹哨 {number} 路灯所说线路老化要整段换线，网格解决不了")
    assert done["response"] == "utter_grid_done" and done["status"] == "已升级"
    status, notes = timeline_notes(backend, number)
    assert status == "escalated"
    assert "吹哨报到（路灯所说线路老化要整段换线，网格解决不了），升级到社区" in notes


async def test_the_reason_keeps_its_punctuation_and_spaces_even_when_the_classifier_took_it_for_a_question(backend):
    await bind(backend)
    number = streetlight(backend)
    reason = "线路老化，要整段换线。  供电所说得走流程；网格解决不了！"
    # Read as a status question (intent ticket_status): handed over, it is still the member's whistle.
    messages, _ = await run(member_answer, MEMBER, f"吹哨：{number}，{reason}", intent="ticket_status")
    assert messages[0]["response"] == "utter_grid_done" and messages[0]["status"] == "已升级"
    assert f"吹哨报到（{reason}），升级到社区" in timeline_notes(backend, number)[1]


async def test_a_members_query_shows_a_ticket_of_their_grid_as_staff_see_it(backend):
    await bind(backend)
    number = streetlight(backend)
    for action, intent in ((member_answer, "ticket_status"), (ActionGridCommand(), "grid_command")):
        [shown], _ = await run(action, MEMBER, f"查询 {number.lower()}", intent=intent)
        assert shown["response"] == "utter_grid_ticket_detail" and shown["number"] == number
        assert shown["place"] == "学府街" and shown["status"] == "已派单" and shown["category_name"] == "路灯照明"
        assert shown["description"].startswith("学府街东头的路灯不亮好几天了，晚上走路黑乎乎的。")
        assert "13912345678" not in shown["description"] and "139****5678" in shown["description"]
        assert "派给网格员 陈建国" in shown["timeline"]
        assert shown["buttons"] == [{"title": f"接单 {number}", "payload": f"接单 {number}"}]
    [taken], _ = await run(ActionGridCommand(), MEMBER, f"接单 {number}")
    assert taken["status"] == "处理中"
    [shown], _ = await run(member_answer, MEMBER, f"查询 {number}", intent="ticket_status")
    assert shown["status"] == "处理中" and shown["handler"] == "您"
    assert [b["title"] for b in shown["buttons"]] == [f"写进展 {number}", f"办结 {number}", f"吹哨 {number}"]


async def test_another_grids_ticket_is_answered_like_a_missing_one_and_nothing_of_it_leaks(backend):
    await bind(backend)
    other = elsewhere(backend)
    [refused], _ = await run(member_answer, MEMBER, f"查询 {other}", intent="ticket_status")
    [missing], _ = await run(member_answer, MEMBER, "查询 GZ20990101-0001", intent="ticket_status")
    assert refused["text"].replace(other, "X") == missing["text"].replace("GZ20990101-0001", "X")
    assert "望江" not in refused["text"] and "电梯" not in refused["text"] and not refused.get("buttons")
    [whistled], _ = await run(ActionGridCommand(), MEMBER, f"吹哨 {other} 网格解决不了")
    assert whistled["text"] == refused["text"]
    assert timeline_notes(backend, other)[0] == "assigned"


async def test_a_residents_query_is_left_to_the_residents_answer(backend):
    number = streetlight(backend, sender="r-owner")
    messages, events = await run(member_answer, "web:r-owner", f"查询 {number}", intent="ticket_status")
    assert events is None and messages == []


async def test_my_todo_shows_number_place_summary_and_deadline(backend):
    await bind(backend)
    number = streetlight(backend)
    [listed], _ = await run(ActionGridCommand(), MEMBER, "我的待办")
    assert listed["response"] == "utter_grid_todo" and listed["count"] == 1
    first, second = listed["lines"].split("\n")
    assert first == f"{number} 学府街"
    summary, status, deadline = second.strip().split(" · ")
    assert summary == "学府街东头的路灯不亮好几天了，晚上走路黑乎乎的"  # the first sentence, without the phone
    assert status == "已派单" and deadline.startswith("时限 ") and "月" in deadline
    assert listed["buttons"] == [{"title": f"接单 {number}", "payload": f"接单 {number}"}]


async def test_the_dispatch_notices_button_takes_the_ticket_as_the_typed_command_does(backend):
    await bind(backend)
    number = streetlight(backend)
    with backend() as s:
        [notice] = news(s, sender="telegram:8801")
        [button] = notice.payload["buttons"]
    [taken], _ = await run(ActionGridCommand(), MEMBER, button["payload"])
    assert taken["response"] == "utter_grid_done" and taken["status"] == "处理中"
    [again], _ = await run(ActionGridCommand(), MEMBER, button["payload"])  # pressed twice: told, nothing breaks
    assert "已经接过" in again["text"]
    assert timeline_notes(backend, number)[0] == "in_progress"


async def test_a_question_is_not_taken_for_a_progress_note(backend):
    await bind(backend)
    number = streetlight(backend, sender="r-ask")
    # A resident's "进展 …" question stays the resident's, whatever word it starts with.
    messages, events = await run(member_answer, "web:r-ask", f"进展怎么样了 {number}", intent="ticket_status")
    assert events is None and messages == []
    # The member asking "进展 GZ… 怎么样了？" is shown the ticket; no note is written.
    [shown], _ = await run(member_answer, MEMBER, f"进展 {number} 怎么样了？", intent="ticket_status")
    assert shown["response"] == "utter_grid_ticket_detail"
    assert "怎么样了？" not in timeline_notes(backend, number)[1]
