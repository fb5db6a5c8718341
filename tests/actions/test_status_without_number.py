"""A status question without a number ("路灯修好没啊？？"), real trackers, a real database (issue 25, item 5).

ActionTriageRequest calls :func:`actions.ticket_status.status_question` before
treating a message the classifier read as a report; ActionTicketStatus uses it
when the classifier read it as a status question. Both are exercised here.
"""

from datetime import datetime, timezone

from rasa_sdk.executor import CollectingDispatcher

from actions.ticket_status import ActionTicketStatus, status_question
from backend.services.residents import get_or_create_resident
from backend.tickets.service import follow, transition
from tests.actions.conftest import make_tracker
from tests.factories import file_ticket

NOW = datetime.now(timezone.utc)


def streetlight(s, sender, description="学府街公交站旁边的路灯晚上不亮", place_text="学府街公交站"):
    return file_ticket(
        s,
        sender=sender,
        now=NOW,
        category="streetlight",
        description=description,
        place_text=place_text,
        entities={"road": "学府街"},
    )


def ask(sender, text, intent="streetlight", **kwargs):
    dispatcher = CollectingDispatcher()
    events = status_question(dispatcher, make_tracker(sender, text, intent), **kwargs)
    return events, dispatcher.messages


async def query(sender, number):
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, make_tracker(sender, f"查询 {number}", "ticket_status"), {})
    return dispatcher.messages


async def test_the_one_open_ticket_about_it_gets_the_answer_a_query_by_number_gets(backend):
    with backend.begin() as s:
        number = streetlight(s, "sw1").number
        file_ticket(s, sender="sw1", now=NOW)  # an elevator ticket: not what the question names
    events, answer = ask("web:sw1", "路灯修好没啊？？")
    assert events == []
    assert answer == await query("web:sw1", number)
    assert answer[0]["response"] == "utter_ticket_detail" and answer[0]["number"] == number
    assert "已受理" in answer[0]["status"] + answer[0]["timeline"]


async def test_without_a_thing_named_every_open_ticket_fits_and_several_get_a_button_each(backend):
    with backend.begin() as s:
        light = streetlight(s, "sw2").number
        lift = file_ticket(s, sender="sw2", now=NOW).number
    _, answer = ask("web:sw2", "我反映的事咋样了？", intent="nlu_fallback")
    assert [m["response"] for m in answer] == ["utter_which_ticket"]
    buttons = answer[0]["buttons"]
    assert {b["payload"] for b in buttons} == {
        f'/ticket_status{{"ticket_no": "{light}"}}',
        f'/ticket_status{{"ticket_no": "{lift}"}}',
    }
    titles = {b["title"] for b in buttons}
    assert f"{light} 路灯照明 · 学府街公交站" in titles and f"{lift} 电梯 · 枫林苑3号楼" in titles
    # Pressing one asks for that ticket: the payload's entity reaches ActionTicketStatus.
    dispatcher = CollectingDispatcher()
    pressed = make_tracker(
        "web:sw2", buttons[0]["payload"], "ticket_status", entities=[{"entity": "ticket_no", "value": light}]
    )
    await ActionTicketStatus().run(dispatcher, pressed, {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_detail" and dispatcher.messages[0]["number"] == light


async def test_the_thing_named_picks_among_open_tickets_and_two_of_a_kind_are_asked_about(backend):
    with backend.begin() as s:
        first = streetlight(s, "sw3").number
        lift = file_ticket(s, sender="sw3", now=NOW).number
    _, answer = ask("web:sw3", "电梯咋还没人修啊", intent="elevator")
    assert answer[0]["response"] == "utter_ticket_detail" and answer[0]["number"] == lift
    with backend.begin() as s:
        second = streetlight(s, "sw3", description="枫林路的路灯一闪一闪的", place_text="枫林路").number
    _, answer = ask("web:sw3", "路灯有人来弄没")
    assert answer[0]["response"] == "utter_which_ticket"
    assert {b["title"].split()[0] for b in answer[0]["buttons"]} == {first, second}


async def test_a_closed_ticket_is_not_open_and_the_resident_is_told_so_before_the_offer(backend):
    with backend.begin() as s:
        ticket = streetlight(s, "sw4")
        transition(session=s, ticket=ticket, to="resolved", actor="grid_member:gm-fl-02", now=NOW, note="换了灯泡")
        transition(session=s, ticket=ticket, to="closed", actor="resident:x", now=NOW, note="居民评价：满意")
    # From ActionTriageRequest: one polite line, then the caller explains and offers a new ticket.
    events, answer = ask("web:sw4", "路灯修好没啊？？")
    assert events is None
    assert [m["response"] for m in answer] == ["utter_no_open_ticket_about"] and answer[0]["thing"] == "路灯"
    # From ActionTicketStatus: the same line, and the resident is asked to tell it as a new problem.
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, make_tracker("web:sw4", "路灯修好没啊？？", "ticket_status"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_no_open_ticket_about", "utter_report_as_new"]
    # Nothing named, nothing open.
    _, answer = ask("web:sw-none", "怎么样了", intent="nlu_fallback")
    assert [m["response"] for m in answer] == ["utter_no_open_ticket"]


async def test_new_reports_are_left_to_the_triage_untouched(backend):
    assert ask("web:sw5", "路灯坏了") == (None, [])
    assert ask("web:sw5", "学府街的路灯坏了一个礼拜了咋还没人修", intent="streetlight") == (None, [])
    with backend.begin() as s:
        streetlight(s, "sw5")
    assert ask("web:sw5", "望江路路灯坏了") == (None, [])
    assert ask("web:sw5", "小区门口垃圾堆了三天了有人管吗", intent="estate_sanitation") == (None, [])
    letter = "您好，" + "我们小区东门外的路灯已经坏了很久，晚上老人孩子出门很不方便，" * 3 + "请问到底有没有人管？"
    assert ask("web:sw5", letter) == (None, [])


async def test_a_followed_ticket_is_shown_as_a_follower_may_see_it(backend):
    with backend.begin() as s:
        ticket = streetlight(s, "owner", description="学府街路灯坏了，我家电话13912345678")
        follower = get_or_create_resident(session=s, channel="web", sender_id="sw6")
        follow(session=s, ticket=ticket, resident=follower, now=NOW)
        number = ticket.number
    _, answer = ask("web:sw6", "路灯修好没")
    assert answer[0]["response"] == "utter_ticket_detail_followed" and answer[0]["number"] == number
    assert "13912345678" not in str(answer) and "我家电话" not in str(answer)


async def test_a_resolved_ticket_waiting_for_a_rating_answers_and_asks_for_the_rating(backend):
    with backend.begin() as s:
        ticket = streetlight(s, "sw7")
        transition(session=s, ticket=ticket, to="in_progress", actor="grid_member:gm-fl-02", now=NOW)
        transition(session=s, ticket=ticket, to="resolved", actor="grid_member:gm-fl-02", now=NOW, note="换了灯泡")
        number = ticket.number
    _, answer = ask("web:sw7", "路灯修好了没")
    assert [m["response"] for m in answer] == ["utter_ticket_detail", "utter_ask_rating"]
    assert answer[1]["number"] == number and len(answer[1]["buttons"]) == 3


async def test_my_tickets_is_still_the_list(backend):
    with backend.begin() as s:
        streetlight(s, "sw8")
        file_ticket(s, sender="sw8", now=NOW)
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, make_tracker("web:sw8", "我的工单", "ticket_status"), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_list"


async def test_the_status_action_answers_about_the_ticket_the_question_names(backend):
    with backend.begin() as s:
        number = streetlight(s, "sw9").number
        file_ticket(s, sender="sw9", now=NOW)
    dispatcher = CollectingDispatcher()
    await ActionTicketStatus().run(dispatcher, make_tracker("web:sw9", "路灯修好没啊？？", "ticket_status"), {})
    assert dispatcher.messages[0]["response"] == "utter_ticket_detail", dispatcher.messages
    assert dispatcher.messages[0]["number"] == number


async def test_the_triage_answers_a_status_question_read_as_a_report(backend):
    """Needs the two lines ActionTriageRequest calls status_question with (actions/requests.py)."""
    from actions.requests import ActionTriageRequest

    with backend.begin() as s:
        number = streetlight(s, "sw10").number
    dispatcher = CollectingDispatcher()
    await ActionTriageRequest().run(dispatcher, make_tracker("web:sw10", "路灯修好没啊？？", "streetlight"), {})
    assert [m.get("response") for m in dispatcher.messages] == ["utter_ticket_detail"], dispatcher.messages
    assert dispatcher.messages[0]["number"] == number
