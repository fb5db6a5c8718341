"""The report form's actions with real trackers, a real database and the demo registry."""

from rasa_sdk.executor import CollectingDispatcher

from actions.emergency import ActionEmergency, add_emergency_place
from actions.filing import ActionHandleAffirm, ActionSubmitReport
from actions.photos import ActionReceivePhoto
from actions.report_form import ActionStartReport, ValidateReportForm
from actions.report_questions import ActionAskReportConfirm
from actions.report_slots import start_events
from actions.requests import ActionCancelReport
from backend.models import Ticket
from backend.models.base import utcnow
from backend.photos import save_photo
from backend.services.residents import get_or_create_resident
from tests.actions.conftest import make_tracker

DOMAIN_SLOTS = [
    "report_description",
    "report_place",
    "report_duplicate",
    "report_urgency",
    "report_phone",
    "report_remember_phone",
    "report_confirm",
]
FORM = ValidateReportForm()


def slots_of(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def asking(slot, **slots):
    return {"requested_slot": slot, "category": "elevator", **slots}


async def test_start_prefills_description_place_and_inferred_urgency(backend):
    text = "枫林苑3号楼电梯又坏了，把我家老人关里面半个钟头"
    tracker = make_tracker("web:s1", "登记工单", "report_start", slots={"category": "elevator", "request_text": text})
    dispatcher = CollectingDispatcher()
    slots = slots_of(await ActionStartReport().run(dispatcher, tracker, {}))
    assert slots["report_description"] == text
    assert slots["report_place"] == text
    assert slots["report_urgency"] == "urgent"
    assert slots["report_phone"] is None
    assert dispatcher.messages[0]["response"] == "utter_report_starting"


async def test_start_without_a_place_leaves_it_to_ask_and_uses_a_consented_phone(backend):
    tracker = make_tracker("demo:demo-1", slots={"category": "streetlight", "request_text": "路灯坏了"})
    slots = slots_of(start_events(tracker))
    assert slots["report_place"] is None and slots["report_urgency"] == "normal"
    assert slots["report_phone"] == "13900000001"


async def test_start_without_a_request_asks_for_it_and_does_not_open_the_form(backend):
    dispatcher = CollectingDispatcher()
    events = await ActionStartReport().run(dispatcher, make_tracker("web:s2", "我要报修", "report_start"), {})
    assert dispatcher.messages[0]["response"] == "utter_report_what"
    assert events == [{"event": "followup", "name": "action_listen", "timestamp": None}]


async def test_yes_right_after_the_offer_starts_the_form(backend):
    tracker = make_tracker(
        "web:s3",
        slots={"category": "road", "request_text": "望江路井盖没了", "offer_pending": True},
        events=[
            {"event": "user", "text": "望江路井盖没了"},
            {"event": "action", "name": "action_triage_request"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "好的"},
        ],
    )
    events = await ActionHandleAffirm().run(CollectingDispatcher(), tracker, {})
    assert events[-1] == {"event": "followup", "name": "report_form", "timestamp": None}
    assert slots_of(events)["report_place"] == "望江路井盖没了"


async def test_a_known_place_resolves_to_its_grid(backend):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:p1", "锦秀花园5栋", "inform_place", slots=asking("report_place"))
    result = await FORM.validate_report_place("锦秀花园5栋", dispatcher, tracker, {})
    assert result["report_place"] == "锦秀花园5栋"
    assert "锦绣花园" in result["report_place_display"] and "网格" in result["report_place_display"]
    assert dispatcher.messages == []


async def test_an_unknown_place_gets_suggestions_then_is_accepted_as_written(backend):
    dispatcher = CollectingDispatcher()
    first = await FORM.validate_report_place(
        "风林院那边", dispatcher, make_tracker("web:p2", "风林院那边", "inform_place", slots=asking("report_place")), {}
    )
    assert first["report_place"] is None and first["report_place_tries"] == 1
    [message] = dispatcher.messages
    assert message["response"] == "utter_report_place_unknown" and "枫林苑" in message["suggestions"]
    assert {"title": "枫林苑", "payload": "枫林苑"} in message["buttons"]

    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:p2", "火星路88号", "inform_place", slots=asking("report_place", report_place_tries=1))
    second = await FORM.validate_report_place("火星路88号", dispatcher, tracker, {})
    assert second["report_place"] == "火星路88号" and "核实" in second["report_place_display"]
    assert dispatcher.messages[0]["response"] == "utter_report_place_as_written"


async def test_an_estate_without_the_building_asks_which_and_combines_the_answers(backend):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:p3", "枫林苑", "inform_place", slots=asking("report_place"))
    first = await FORM.validate_report_place("枫林苑", dispatcher, tracker, {})
    assert first == {"report_place": None, "report_place_partial": "枫林苑", "report_hinted": True}
    assert dispatcher.messages[0]["response"] == "utter_report_which_building"
    tracker = make_tracker(
        "web:p3", "三号楼", "inform_place", slots=asking("report_place", report_place_partial="枫林苑")
    )
    second = await FORM.validate_report_place("三号楼", CollectingDispatcher(), tracker, {})
    assert second["report_place"] == "枫林苑 三号楼" and "3号楼" in second["report_place_display"]


async def test_a_prefilled_place_that_does_not_resolve_is_simply_asked(backend):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:p4", "登记", "report_start", slots={"category": "elevator"})
    assert await FORM.validate_report_place("3号楼电梯坏了", dispatcher, tracker, {}) == {"report_place": None}
    assert dispatcher.messages == []


async def test_an_open_ticket_at_the_same_building_is_offered_to_follow(backend):
    await submit("web:d1", "枫林苑3号楼电梯坏了", "elevator", place="枫林苑3号楼")
    tracker = make_tracker("web:d2", "枫林苑三号楼", "inform_place", slots=asking("report_place"))
    result = await FORM.validate_report_place("枫林苑三号楼", CollectingDispatcher(), tracker, {})
    assert result["report_duplicate_of"].startswith("GZ")
    with_duplicate = make_tracker(
        "web:d2", slots={"report_duplicate_of": result["report_duplicate_of"], "report_phone": "13957204816"}
    )
    assert await FORM.required_slots(DOMAIN_SLOTS, CollectingDispatcher(), with_duplicate, {}) == DOMAIN_SLOTS
    following = make_tracker(
        "web:d2", slots={"report_duplicate_of": result["report_duplicate_of"], "report_duplicate": "follow"}
    )
    assert await FORM.required_slots(DOMAIN_SLOTS, CollectingDispatcher(), following, {}) == [
        "report_description",
        "report_place",
        "report_duplicate",
    ]
    without = make_tracker("web:d3")
    assert "report_duplicate" not in await FORM.required_slots(DOMAIN_SLOTS, CollectingDispatcher(), without, {})


async def test_the_resident_may_insist_on_a_separate_ticket(backend):
    tracker = make_tracker("web:d4", "我的情况不一样，单独登记", "deny", slots=asking("report_duplicate"))
    assert await FORM.validate_report_duplicate(
        tracker.latest_message["text"], CollectingDispatcher(), tracker, {}
    ) == {"report_duplicate": "file"}
    tracker = make_tracker("web:d4", "关注这张工单", "affirm", slots=asking("report_duplicate"))
    assert await FORM.validate_report_duplicate("关注这张工单", CollectingDispatcher(), tracker, {}) == {
        "report_duplicate": "follow"
    }


async def phone(text, intent="inform_phone"):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:ph", text, intent, slots=asking("report_phone"))
    result = await FORM.validate_report_phone(text, dispatcher, tracker, {})
    return result["report_phone"], dispatcher.messages


async def test_phone_answers_as_residents_type_them(backend):
    assert (await phone("139 5720 4816"))[0] == "13957204816"
    assert (await phone("+86 136-2651-0947"))[0] == "13626510947"
    assert (await phone("电话号码是一三八五七二零四六九一"))[0] == "13857204691"
    assert (await phone("不留电话", "deny"))[0] == "none"
    assert (await phone("算了不想留"))[0] == "none"


async def test_a_wrong_phone_is_refused_without_repeating_it(backend):
    for wrong in ("1592068374", "139521047738", "12856730914", "0571-86021573"):
        value, messages = await phone(wrong)
        assert value is None
        assert messages[0]["response"] == "utter_report_phone_invalid"
        assert wrong not in str(messages)


async def test_asking_why_a_phone_is_needed_gets_the_reason(backend):
    value, messages = await phone("要电话干嘛", "out_of_scope")
    assert value is None and messages[0]["response"] == "utter_report_phone_why"


async def test_the_summary_masks_the_phone_and_counts_photos(backend):
    dispatcher = CollectingDispatcher()
    slots = {
        "category": "elevator",
        "report_description": "电梯坏了",
        "report_place_display": "枫林苑 3号楼（枫林社区第一网格）",
        "report_urgency": "urgent",
        "report_phone": "13957204816",
        "report_photos": ["Pa", "Pb"],
    }
    await ActionAskReportConfirm().run(dispatcher, make_tracker("web:c1", slots=slots), {})
    [summary] = dispatcher.messages
    assert summary["phone"] == "139****4816" and "13957204816" not in str(summary)
    assert summary["urgency"] == "紧急" and summary["photos"] == "2 张" and summary["kind"] == "大家事 · 电梯"


async def test_confirm_edit_and_correct_one_field(backend):
    async def confirm(text, intent, **slots):
        tracker = make_tracker("web:c2", text, intent, slots=asking("report_confirm", **slots))
        return await FORM.validate_report_confirm(text, CollectingDispatcher(), tracker, {})

    assert (await confirm("确认", "affirm"))["report_confirm"] == "yes"
    assert await confirm("修改", "report_edit") == {"report_confirm": None, "report_editing": True}
    unclear = await confirm("嗯？", "out_of_scope")
    assert unclear == {"report_confirm": None, "report_hinted": True}
    changed = await confirm("改电话", "report_edit", report_editing=True)
    assert changed == {
        "report_phone": None,
        "report_remember_phone": None,
        "report_confirm": None,
        "report_editing": False,
    }
    place = await confirm("地址写错了", "report_edit")
    assert place["report_place"] is None and place["report_place_display"] is None and place["report_confirm"] is None
    assert "report_phone" not in place


async def test_a_correction_while_another_field_is_asked(backend):
    tracker = make_tracker("web:c3", "等下，地址写错了", "report_edit", slots=asking("report_phone"))
    dispatcher = CollectingDispatcher()
    result = await FORM.validate_report_phone("等下，地址写错了", dispatcher, tracker, {})
    assert result["report_place"] is None and result["report_phone"] is None
    assert dispatcher.messages[0]["response"] == "utter_report_will_change"


async def submit(sender, description, category, *, place, urgency="normal", phone_number="none", **slots):
    dispatcher = CollectingDispatcher()
    values = {
        "category": category,
        "report_description": description,
        "report_place": place,
        "report_urgency": urgency,
        "report_phone": phone_number,
        **slots,
    }
    events = await ActionSubmitReport().run(dispatcher, make_tracker(sender, "确认", slots=values), {})
    return dispatcher.messages, events


async def test_submit_files_with_place_urgency_phone_and_photos(backend, sessions, tmp_path):
    with sessions.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="f1")
        token = save_photo(
            session=s, resident=resident, data=b"\xff\xd8\xff" + b"0" * 100, upload_dir=tmp_path, now=utcnow()
        ).token
    messages, events = await submit(
        "web:f1",
        "电梯又坏了，<b>关了人</b>'; DROP TABLE tickets;--",
        "elevator",
        place="锦绣花园5栋",
        urgency="urgent",
        phone_number="13957204816",
        report_photos=[token, "Psomeone-elses"],
    )
    filed = messages[0]
    assert filed["response"] == "utter_ticket_filed" and filed["matter_name"] == "大家事"
    assert "网格员" in filed["follow_up"] and filed["photos"] == "已附照片 1 张。"
    with sessions() as s:
        ticket = s.query(Ticket).filter_by(number=filed["number"]).one()
        assert ticket.description == "电梯又坏了，<b>关了人</b>'; DROP TABLE tickets;--"
        assert ticket.urgency == "urgent" and ticket.contact_phone == "13957204816"
        assert ticket.photos == [token] and ticket.building_id is not None and ticket.status == "assigned"
    assert slots_of(events)["last_ticket"] == filed["number"]
    assert slots_of(events)["report_confirm"] is None and slots_of(events)["category"] is None


async def test_a_private_matter_the_resident_wants_help_with_is_recorded(backend, sessions):
    messages, _ = await submit("web:f2", "家里马桶堵了，老两口弄不了", "home_repair", place="和园新村2号楼")
    assert messages[0]["response"] == "utter_private_ticket_filed"
    with sessions() as s:
        ticket = s.query(Ticket).filter_by(number=messages[0]["number"]).one()
        assert ticket.matter == "private" and ticket.contact_phone is None


async def test_following_the_duplicate_files_nothing_new(backend, sessions):
    first, _ = await submit("web:f3", "枫林苑3号楼电梯坏了", "elevator", place="枫林苑3号楼")
    number = first[0]["number"]
    followed, _ = await submit(
        "web:f4",
        "3号楼电梯停了",
        "elevator",
        place="枫林苑3号楼",
        report_duplicate_of=number,
        report_duplicate="follow",
    )
    assert followed[0]["response"] == "utter_ticket_followed" and followed[0]["number"] == number
    with sessions() as s:
        assert s.query(Ticket).count() == 1


async def test_cancel_stops_the_form_and_forgets_the_request(backend):
    tracker = make_tracker(
        "web:x1",
        "算了不登了",
        "cancel",
        slots=asking("report_phone", report_place="枫林苑3号楼"),
        active_loop="report_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionCancelReport().run(dispatcher, tracker, {})
    assert events[0] == {"event": "active_loop", "name": None, "timestamp": None}
    slots = slots_of(events)
    assert slots["requested_slot"] is None and slots["report_place"] is None and slots["category"] is None
    assert dispatcher.messages[0]["response"] == "utter_cancelled"


async def test_emergency_numbers_first_then_an_immediate_ticket_then_the_place(backend, sessions):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:e1", "楼道里好大的煤气味！！", "emergency")
    events = await ActionEmergency().run(dispatcher, tracker, {})
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == ["utter_emergency", "utter_emergency_ticket", "utter_emergency_where"]
    number = slots_of(events)["emergency_ticket"]
    with sessions() as s:
        ticket = s.query(Ticket).filter_by(number=number).one()
        assert ticket.tier == "immediate" and ticket.urgency == "emergency" and ticket.category == "utility"
        assert ticket.needs_dispatch == 1
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:e1", "碧湖丽苑2幢", "inform_place", slots={"emergency_ticket": number})
    assert slots_of(add_emergency_place(dispatcher, tracker)) == {"last_ticket": number}  # the slot stays a while
    assert dispatcher.messages[0]["response"] == "utter_emergency_place_added"
    with sessions() as s:
        ticket = s.query(Ticket).filter_by(number=number).one()
        assert ticket.needs_dispatch == 0 and ticket.status == "assigned"
        assert [e.kind for e in ticket.events][-2:] == ["place_added", "assigned"]


async def test_a_photo_is_kept_in_the_form_and_someone_elses_is_refused(backend, sessions, tmp_path):
    with sessions.begin() as s:
        mine = get_or_create_resident(session=s, channel="web", sender_id="ph1")
        theirs = get_or_create_resident(session=s, channel="web", sender_id="ph2")
        jpeg = b"\xff\xd8\xff" + b"1" * 50
        my_token = save_photo(session=s, resident=mine, data=jpeg, upload_dir=tmp_path, now=utcnow()).token
        their_token = save_photo(session=s, resident=theirs, data=jpeg, upload_dir=tmp_path, now=utcnow()).token

    def photo(token):
        return make_tracker(
            "web:ph1",
            f'/share_photo{{"photo": "{token}"}}',
            "share_photo",
            active_loop="report_form",
            entities=[{"entity": "photo", "value": token}],
        )

    dispatcher = CollectingDispatcher()
    events = await ActionReceivePhoto().run(dispatcher, photo(my_token), {})
    assert slots_of(events) == {"report_photos": [my_token]}
    assert dispatcher.messages[0]["response"] == "utter_photo_kept"
    dispatcher = CollectingDispatcher()
    assert await ActionReceivePhoto().run(dispatcher, photo(their_token), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_photo_lost"


async def test_typing_about_a_photo_without_one_explains_how(backend):
    dispatcher = CollectingDispatcher()
    await ActionReceivePhoto().run(dispatcher, make_tracker("web:ph3", "我拍了照片", "share_photo"), {})
    assert dispatcher.messages[0]["response"] == "utter_photo_how"


async def test_a_question_is_not_repeated_under_the_validators_hint(backend):
    from actions.report_questions import ActionAskReportPlace

    dispatcher = CollectingDispatcher()
    hinted = make_tracker("web:h1", slots={"report_hinted": True})
    assert await ActionAskReportPlace().run(dispatcher, hinted, {}) == [
        {"event": "slot", "name": "report_hinted", "value": False, "timestamp": None}
    ]
    assert dispatcher.messages == []
    await ActionAskReportPlace().run(dispatcher, make_tracker("web:h1"), {})
    assert dispatcher.messages[0]["response"] == "utter_ask_report_place"


async def test_a_new_number_is_kept_for_next_time_only_on_yes_and_deleted_on_request(backend, sessions):
    from actions.contact import ActionForgetPhone
    from backend.models import Resident

    ask = make_tracker("web:k1", slots={"report_phone": "13957204816"})
    assert "report_remember_phone" in await FORM.required_slots(DOMAIN_SLOTS, CollectingDispatcher(), ask, {})
    kept = make_tracker("web:k1", slots={"report_phone": "13900000001", "report_phone_saved": "13900000001"})
    assert "report_remember_phone" not in await FORM.required_slots(DOMAIN_SLOTS, CollectingDispatcher(), kept, {})

    answer = make_tracker("web:k1", "记住吧", "affirm", slots=asking("report_remember_phone"))
    assert await FORM.validate_report_remember_phone("记住吧", CollectingDispatcher(), answer, {}) == {
        "report_remember_phone": "yes"
    }
    no = make_tracker("web:k1", "不用了", "deny", slots=asking("report_remember_phone"))
    assert await FORM.validate_report_remember_phone("不用了", CollectingDispatcher(), no, {}) == {
        "report_remember_phone": "no"
    }

    await submit(
        "web:k1", "路灯坏了", "streetlight", place="学府街", phone_number="13957204816", report_remember_phone="no"
    )
    with sessions() as s:
        assert s.query(Resident).filter_by(sender_id="k1").one().phone is None
    await submit(
        "web:k1", "路灯又坏了", "streetlight", place="学府街", phone_number="13957204816", report_remember_phone="yes"
    )
    with sessions() as s:
        resident = s.query(Resident).filter_by(sender_id="k1").one()
        assert resident.phone == "13957204816" and resident.consent_at is not None
    assert slots_of(start_events(make_tracker("web:k1", slots={"request_text": "x"})))["report_phone"] == "13957204816"

    dispatcher = CollectingDispatcher()
    await ActionForgetPhone().run(dispatcher, make_tracker("web:k1", "删除我的电话", "forget_phone"), {})
    assert dispatcher.messages[0]["response"] == "utter_phone_forgotten"
    with sessions() as s:
        assert s.query(Resident).filter_by(sender_id="k1").one().phone is None
    dispatcher = CollectingDispatcher()
    await ActionForgetPhone().run(dispatcher, make_tracker("web:k1", "删除我的电话", "forget_phone"), {})
    assert dispatcher.messages[0]["response"] == "utter_no_phone_kept"
