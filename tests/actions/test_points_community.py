"""Issue 25, item 13: a resident whose tickets were filed at a building is asked, once, to join that community.

Each conversation runs turn by turn through the real actions, with the
events and slots Rasa would keep (the bot's answers carry the response they
came from, as Rasa records it), a follow-up action run as Rasa runs it, and
the real ledger and registry in the test database.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
import yaml
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.clarify import ActionClarifyNeither
from actions.filing import ActionHandleAffirm, ActionHandleDeny
from actions.points import ActionPointsBalance, ActionPointsCatalogue, ActionPointsRedeem
from actions.points_community import ActionPointsCommunityDecline, ActionPointsCommunityJoin, asked_this_conversation
from backend.models import Community, Resident
from backend.points.config import import_points_config
from backend.points.ledger import adjust
from backend.rasa_ext.typed_buttons import load_paraphrases, match
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from tests.factories import file_ticket

NOW = datetime.now(timezone.utc)
ACTIONS: dict[str, Action] = {
    a.name(): a
    for a in (
        ActionPointsBalance(),
        ActionPointsCatalogue(),
        ActionPointsRedeem(),
        ActionPointsCommunityJoin(),
        ActionPointsCommunityDecline(),
        ActionHandleAffirm(),
        ActionHandleDeny(),
        ActionClarifyNeither(),
    )
}
YES_FL = '/affirm{"points_community": "fl"}'
YES_WJ = '/affirm{"points_community": "wj"}'


@pytest.fixture()
def street(backend):
    """The demo registry and catalogue; residents who filed at 枫林苑8号楼, at both buildings, on a road."""
    data = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
    with backend.begin() as s:
        import_points_config(session=s, data=data)
        for sender, places in {
            "fl8": [("枫林苑8号楼", 8)],
            "both": [("枫林苑8号楼", 8), ("碧湖丽苑5号楼", 5)],
        }.items():
            for place, building in places:
                file_ticket(s, now=NOW, sender=sender, place_text=place, entities={"building": building})
            resident = get_or_create_resident(session=s, channel="web", sender_id=sender)
            adjust(
                session=s, resident=resident, amount=70, reason="协商议事会补记", actor="admin:张", ref=sender, now=NOW
            )
        file_ticket(
            s,
            now=NOW,
            sender="road",
            category="streetlight",
            description="枫林路的路灯不亮",
            place_text="枫林路公交站",
            entities={"road": "枫林路"},
        )
    return backend


class Chat:
    """One resident's conversation: what Rasa would send the action server at each turn."""

    def __init__(self, sender: str, active_loop: str | None = None) -> None:
        self.sender = f"web:{sender}"
        self.events: list[dict[str, Any]] = []
        self.slots: dict[str, Any] = {}
        self.active_loop = active_loop

    def _tracker(self, text: str, intent: str, entities: list[dict[str, Any]], latest_action: str) -> Tracker:
        return Tracker(
            sender_id=self.sender,
            slots=dict(self.slots),
            latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities},
            events=list(self.events),
            paused=False,
            followup_action=None,
            active_loop={"name": self.active_loop} if self.active_loop else {},
            latest_action_name=latest_action,
        )

    async def say(self, text: str, intent: str, action: str, community: str | None = None) -> list[dict[str, Any]]:
        """The resident's message, the action the rules run for it, and any follow-up; the answers."""
        entities = [{"entity": "points_community", "value": community}] if community else []
        self.events.append({"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}})
        said: list[dict[str, Any]] = []
        latest = "action_listen"
        name: str | None = action
        while name is not None:
            dispatcher = CollectingDispatcher()
            events = await ACTIONS[name].run(dispatcher, self._tracker(text, intent, entities, latest), {})
            self.events.append({"event": "action", "name": name})
            for message in dispatcher.messages:
                self.events.append({"event": "bot", "text": "", "metadata": {"utter_action": message.get("response")}})
            said.extend(dispatcher.messages)
            latest, name = name, None
            for event in events:
                self.events.append(event)
                if event["event"] == "slot":
                    self.slots[event["name"]] = event["value"]
                elif event["event"] == "followup":
                    name = event["name"]
        return said

    def new_session(self) -> None:
        """The conversation expired: a new one starts (slots carried over, as domain/core.yml says)."""
        self.events.append({"event": "session_started"})


def _resident(sessions, sender: str) -> Resident:
    with sessions.begin() as s:
        resident = s.scalars(select(Resident).filter_by(sender_id=sender)).one()
        s.expunge(resident)
        return resident


def _community_id(sessions, code: str) -> int:
    with sessions.begin() as s:
        return int(s.scalars(select(Community.id).filter_by(code=code)).one())


async def test_the_catalogue_asks_first_and_a_yes_registers_the_resident_and_shows_the_catalogue(street):
    chat = Chat("fl8")
    [question] = await chat.say("我能换点啥", "points_catalogue", "action_points_catalogue")
    assert question["response"] == "utter_points_community_offer"
    assert question["community"] == "枫林社区" and question["code"] == "fl"
    assert chat.slots["points_community_pending"] is True
    assert _resident(street, "fl8").community_id is None  # nothing is set before the resident says yes

    joined, catalogue = await chat.say("是", "affirm", "action_points_community_join", community="fl")
    assert joined["response"] == "utter_points_community_joined" and joined["community"] == "枫林社区"
    assert catalogue["response"] == "utter_points_catalogue" and catalogue["balance"] == 70
    assert "毛巾：30 分" in catalogue["can"] and "食用油（1升）" in catalogue["later"]
    assert chat.slots["points_community_pending"] is False
    resident = _resident(street, "fl8")
    assert resident.community_id == _community_id(street, "fl")
    assert resident.community_consent_at is not None  # when they agreed is recorded


async def test_a_typed_yes_without_the_button_registers_too(street):
    chat = Chat("fl8")
    await chat.say("积分能换什么东西", "points_catalogue", "action_points_catalogue")
    joined, catalogue = await chat.say("好的呀", "affirm", "action_points_community_join")
    assert joined["response"] == "utter_points_community_joined"
    assert catalogue["response"] == "utter_points_catalogue"
    assert _resident(street, "fl8").community_id == _community_id(street, "fl")


async def test_a_redemption_asked_before_the_yes_is_the_one_answered_and_can_be_confirmed(street):
    chat = Chat("fl8")
    [question] = await chat.say("我要换一袋大米", "points_redeem", "action_points_redeem")
    assert question["response"] == "utter_points_community_offer"
    _, confirm = await chat.say("是", "affirm", "action_points_community_join", community="fl")
    # The rice asked about before the question, not "which item?": the words first asked are answered.
    assert confirm["response"] == "utter_points_redeem_confirm" and confirm["item"] == "大米（5斤）"
    assert confirm["left"] == 10
    [done] = await chat.say("确认兑换", "affirm", "action_handle_affirm")
    assert done["response"] == "utter_points_redeemed" and done["place"] == "枫林社区爱心超市"
    assert done["balance"] == 10


async def test_the_balance_asks_first_and_after_a_yes_tells_the_standing_in_the_community(street):
    chat = Chat("fl8")
    [question] = await chat.say("我有多少积分", "points_balance", "action_points_balance")
    assert question["response"] == "utter_points_community_offer"
    _, answer = await chat.say("是", "affirm", "action_points_community_join", community="fl")
    assert answer["response"] == "utter_points_balance" and answer["balance"] == 70
    assert "还没有对应到社区" not in answer["standing"]


async def test_a_no_changes_nothing_says_how_else_to_join_and_is_not_asked_again_in_the_conversation(street):
    chat = Chat("fl8")
    await chat.say("能换什么", "points_catalogue", "action_points_catalogue")
    declined, answer = await chat.say("不用", "deny", "action_points_community_decline")
    assert declined["response"] == "utter_points_community_declined"
    assert answer["response"] == "utter_points_no_community"
    assert chat.slots["points_community_pending"] is False
    resident = _resident(street, "fl8")
    assert resident.community_id is None and resident.community_consent_at is None

    for intent, action, response in [
        ("points_catalogue", "action_points_catalogue", "utter_points_no_community"),
        ("points_redeem", "action_points_redeem", "utter_points_no_community"),
        ("points_balance", "action_points_balance", "utter_points_balance"),
    ]:
        [again] = await chat.say("那我能换什么", intent, action)
        assert again["response"] == response
    assert "还没有对应到社区" in again["standing"]

    chat.new_session()  # a later conversation may ask again
    [asked] = await chat.say("能换什么", "points_catalogue", "action_points_catalogue")
    assert asked["response"] == "utter_points_community_offer"


async def test_tickets_in_two_communities_offer_both_and_the_one_chosen_is_joined(street):
    chat = Chat("both")
    [question] = await chat.say("积分可以兑换什么", "points_catalogue", "action_points_catalogue")
    assert question["response"] == "utter_points_community_offer_two"
    # One ticket in each: the latest (碧湖丽苑5号楼, 望江社区) first.
    assert (question["first"], question["second"]) == ("望江社区", "枫林社区")
    assert (question["first_code"], question["second_code"]) == ("wj", "fl")

    # A plain yes does not say which: the question is asked again.
    [which] = await chat.say("是的", "affirm", "action_points_community_join")
    assert which["response"] == "utter_points_community_offer_two"
    assert _resident(street, "both").community_id is None

    joined, catalogue = await chat.say("望江社区", "affirm", "action_points_community_join", community="wj")
    assert joined["community"] == "望江社区" and catalogue["response"] == "utter_points_catalogue"
    assert _resident(street, "both").community_id == _community_id(street, "wj")


async def test_neither_of_two_communities(street):
    chat = Chat("both")
    await chat.say("积分可以兑换什么", "points_catalogue", "action_points_catalogue")
    declined, answer = await chat.say("都不是", "deny", "action_points_community_decline")
    assert declined["response"] == "utter_points_community_declined"
    assert answer["response"] == "utter_points_no_community"
    assert _resident(street, "both").community_id is None


@pytest.mark.parametrize("sender", ["road", "nobody"])
async def test_no_building_ticket_no_question(street, sender):
    # A road says nothing of where the resident lives; a newcomer has no tickets at all.
    [answer] = await Chat(sender).say("能换什么", "points_catalogue", "action_points_catalogue")
    assert answer["response"] == "utter_points_no_community"
    assert "同意登记为那个社区的居民" in _no_community_text()


async def test_a_resident_with_a_community_is_not_asked(street):
    with street.begin() as s:
        resident = s.scalars(select(Resident).filter_by(sender_id="fl8")).one()
        resident.community_id = s.scalars(select(Community.id).filter_by(code="wj")).one()
    [answer] = await Chat("fl8").say("能换什么", "points_catalogue", "action_points_catalogue")
    assert answer["response"] == "utter_points_catalogue"


async def test_not_asked_in_the_middle_of_a_report_form(street):
    # The form hides an answer's buttons and asks its own question next: 是 would be read as the form's answer.
    [answer] = await Chat("fl8", active_loop="report_form").say(
        "能换什么", "points_catalogue", "action_points_catalogue"
    )
    assert answer["response"] == "utter_points_no_community"


async def test_a_yes_to_something_asked_since_goes_on_as_usual(street):
    chat = Chat("fl8")
    await chat.say("能换什么", "points_catalogue", "action_points_catalogue")
    # The resident ignored the question; the open question must not swallow a later yes or no.
    chat.events.append({"event": "user", "text": "学府街路灯不亮"})
    chat.events.append({"event": "action", "name": "action_triage_request"})
    [anything_else] = await chat.say("好的", "affirm", "action_points_community_join")
    assert anything_else["response"] == "utter_anything_else"  # action_handle_affirm's answer, nothing joined
    assert chat.slots["points_community_pending"] is False
    assert _resident(street, "fl8").community_id is None


async def test_a_button_for_a_community_not_offered_joins_nothing(street):
    chat = Chat("fl8")
    await chat.say("能换什么", "points_catalogue", "action_points_catalogue")
    [answer] = await chat.say("是", "affirm", "action_points_community_join", community="wj")
    assert answer["response"] == "utter_anything_else"
    assert _resident(street, "fl8").community_id is None


def _domain_response(name: str) -> dict[str, Any]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain" / "points.yml").read_text(encoding="utf-8"))
    return domain["responses"][name][0]


def _no_community_text() -> str:
    return str(_domain_response("utter_points_no_community")["text"])


def _rendered_buttons(name: str, **values: str) -> list[dict[str, str]]:
    """The response's buttons as Rasa renders them (``{{`` → ``{``, ``{code}`` filled in)."""
    buttons = []
    for button in _domain_response(name)["buttons"]:
        title, payload = button["title"], button["payload"].replace("{{", "\0").replace("}}", "\1")
        for key, value in values.items():
            title, payload = title.replace(f"{{{key}}}", value), payload.replace(f"{{{key}}}", value)
        buttons.append({"title": title, "payload": payload.replace("\0", "{").replace("\1", "}")})
    return buttons


@pytest.mark.parametrize(
    ("typed", "payload"),
    [("是", YES_FL), ("好的", YES_FL), ("可以", YES_FL), ("不用", "/deny"), ("不用了", "/deny"), ("算了", "/deny")],
)
def test_typing_instead_of_pressing_one_community(typed, payload):
    buttons = _rendered_buttons("utter_points_community_offer", community="枫林社区", code="fl")
    assert [b["title"] for b in buttons] == ["是", "不用"]
    pressed = match(typed, buttons, load_paraphrases())
    assert pressed is not None and pressed.payload == payload


@pytest.mark.parametrize(
    ("typed", "payload"),
    [("枫林社区", YES_FL), ("望江", YES_WJ), ("第二个", YES_WJ), ("都不是", "/deny"), ("是", None)],
)
def test_typing_instead_of_pressing_two_communities(typed, payload):
    buttons = _rendered_buttons(
        "utter_points_community_offer_two", first="枫林社区", first_code="fl", second="望江社区", second_code="wj"
    )
    pressed = match(typed, buttons, load_paraphrases())
    assert (pressed.payload if pressed else None) == payload


def test_the_question_says_what_the_brief_promises():
    text = _domain_response("utter_points_community_offer")["text"].format(community="枫林社区", code="fl")
    assert text.startswith("您报过的工单在枫林社区，要把您登记为枫林社区的居民吗？")


async def test_rasa_records_which_response_an_answer_came_from_so_the_question_is_asked_once():
    """The once-per-conversation check reads the bot event Rasa stores for the question: pin that shape."""
    domain = Domain.load(str(PROJECT_ROOT / "domain"))
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response="utter_points_community_offer", community="枫林社区", code="fl")
    [uttered] = await RemoteAction._utter_responses(
        dispatcher.messages,
        CollectingOutputChannel(),
        TemplatedNaturalLanguageGenerator(domain.responses),
        DialogueStateTracker("web:x", domain.slots),
    )
    assert uttered.text.startswith("您报过的工单在枫林社区，要把您登记为枫林社区的居民吗？")
    assert uttered.data["buttons"][0]["payload"] == YES_FL
    stored = uttered.as_dict()
    tracker = Tracker(
        "web:x", {}, {}, [{"event": "user", "text": "能换什么"}, stored], False, None, {}, "action_listen"
    )
    assert asked_this_conversation(tracker)


async def test_the_question_supersedes_an_open_two_category_question_and_a_later_one_gets_its_no(street):
    chat = Chat("fl8")
    chat.slots["clarify_pending"] = True
    await chat.say("能换什么", "points_catalogue", "action_points_catalogue")
    assert chat.slots["clarify_pending"] is False  # 不用 now answers the community question alone
    # Asked about two categories since (clarify_pending again), the resident's 都不是 is that question's.
    chat.events.append({"event": "user", "text": "门口那个东西又坏了"})
    chat.events.append({"event": "action", "name": "action_triage_request"})
    chat.slots["clarify_pending"] = True
    [again] = await chat.say("都不是", "deny", "action_points_community_decline")
    assert again["response"] == "utter_clarify_describe_again"
    assert chat.slots["points_community_pending"] is False
