"""The points conversation's actions with real trackers and a real ledger."""

from datetime import datetime, timezone

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.filing import ActionHandleAffirm, ActionHandleDeny
from actions.points import (
    ActionPointsBalance,
    ActionPointsCatalogue,
    ActionPointsHistory,
    ActionPointsRedeem,
    ActionPointsRules,
    asked_change,
)
from backend.models import CatalogueItem, Community
from backend.models.ledger import Redemption
from backend.points import supermarket
from backend.points.config import import_points_config
from backend.points.earning import log_volunteer
from backend.points.ledger import adjust, balance
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from tests.actions.conftest import make_tracker

NOW = datetime.now(timezone.utc)


@pytest.fixture()
def ledger(backend):
    data = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
    with backend.begin() as s:
        import_points_config(session=s, data=data)
        resident = get_or_create_resident(session=s, channel="web", sender_id="p1")
        resident.community_id = s.scalars(select(Community.id).filter_by(code="fl")).one()
        s.flush()
        log_volunteer(session=s, member_code="gm-fl-01", reference=resident.code, hours=4, log_id="v1", now=NOW)
        adjust(
            session=s, resident=resident, amount=-20, reason="上月重复记分，撤回", actor="admin:张", ref="a1", now=NOW
        )
        adjust(session=s, resident=resident, amount=45, reason="协商议事会补记", actor="admin:张", ref="a2", now=NOW)
    return backend


async def run(action, text, intent, sender="web:p1", **slots):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(sender, text, intent, slots=slots), {})
    return dispatcher.messages, events


def test_changes_asked_about():
    assert asked_change("为什么少了20分") == -20
    assert asked_change("我积分怎么扣了二十分") == -20
    assert asked_change("咋多了5分") == 5
    assert asked_change("积分怎么来的") is None


async def test_balance_rank_and_resident_code(ledger):
    [message], _ = await run(ActionPointsBalance(), "我有多少积分", "points_balance")
    assert message["balance"] == 45 and "排第 1 名" in message["standing"] and message["title"] == "★ 本月积分之星！"
    assert message["code"].startswith("R")


async def test_a_newcomer_has_no_points_yet_and_learns_how_to_earn(ledger):
    [message], _ = await run(ActionPointsHistory(), "积分怎么来的", "points_history", sender="web:new")
    assert message["response"] == "utter_points_none_yet"
    [message], _ = await run(ActionPointsBalance(), "我有多少积分", "points_balance", sender="web:new")
    assert message["balance"] == 0 and "还没有对应到社区" in message["standing"]


async def test_why_twenty_points_went_away(ledger):
    [message], _ = await run(ActionPointsHistory(), "为什么少了20分", "points_history")
    assert message["response"] == "utter_points_change"
    assert message["amount"] == "-20" and "上月重复记分" in message["reason"] and message["balance"] == 45
    [message], _ = await run(ActionPointsHistory(), "为什么少了7分", "points_history")
    assert message["response"] == "utter_points_change_not_found" and "志愿服务 4 小时" in message["lines"]


async def test_rules_and_what_the_balance_buys(ledger):
    [rules], _ = await run(ActionPointsRules(), "积分怎么挣", "points_rules")
    assert "环境整治：10 分，每月最多 40 分（网格员记录）" in rules["lines"] and "人工调整" not in rules["lines"]
    [offer], _ = await run(ActionPointsCatalogue(), "能换什么", "points_catalogue")
    assert "洗衣皂" in offer["can"] and "大米（5斤）：60 分（还差 15 分）" in offer["later"]


async def test_redeem_asks_first_then_gives_a_code_on_yes(ledger):
    messages, events = await run(ActionPointsRedeem(), "我要换毛巾", "points_redeem")
    assert messages[0]["response"] == "utter_points_redeem_confirm" and messages[0]["left"] == 15
    assert events == [{"event": "slot", "name": "redeem_item", "value": "towel", "timestamp": None}]
    tracker = make_tracker(
        "web:p1",
        "确认兑换",
        "affirm",
        slots={"redeem_item": "towel"},
        events=[
            {"event": "user", "text": "我要换毛巾"},
            {"event": "action", "name": "action_points_redeem"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "确认兑换"},
        ],
    )
    dispatcher = CollectingDispatcher()
    await ActionHandleAffirm().run(dispatcher, tracker, {})
    done = dispatcher.messages[0]
    assert done["response"] == "utter_points_redeemed" and done["code"].startswith("DH") and done["balance"] == 15
    with ledger() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="p1")
        assert balance(session=s, resident=resident) == 15


async def test_no_to_the_redemption_changes_nothing(ledger):
    tracker = make_tracker(
        "web:p1",
        "不换了",
        "deny",
        slots={"redeem_item": "towel"},
        events=[
            {"event": "action", "name": "action_points_redeem"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "不换了"},
        ],
    )
    dispatcher = CollectingDispatcher()
    await ActionHandleDeny().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["response"] == "utter_points_redeem_declined"


async def test_not_enough_points_or_no_stock_get_a_clear_answer(ledger):
    [message], events = await run(ActionPointsRedeem(), "换一桶油", "points_redeem")
    assert message["response"] == "utter_points_not_enough" and message["cost"] == 80 and message["balance"] == 45
    assert events[0]["value"] is None
    [message], _ = await run(ActionPointsRedeem(), "我想兑换", "points_redeem")
    assert message["response"] == "utter_points_which_item"
    assert {"title": "洗衣皂", "payload": "我要换洗衣皂"} in message["buttons"]


def retire(sessions, code):
    """Staff take the item off fl's shelf (下架)."""
    with sessions.begin() as s:
        place = s.scalars(select(Community.id).filter_by(code="fl")).one()
        item = s.scalars(select(CatalogueItem).filter_by(community_id=place, code=code)).one()
        assert supermarket.retire(session=s, item=item, now=NOW)


async def test_a_retired_item_is_neither_offered_nor_found_by_name(ledger):
    retire(ledger, "soap")
    [offer], _ = await run(ActionPointsCatalogue(), "能换什么", "points_catalogue")
    assert "洗衣皂" not in offer["can"] + offer["later"] and "毛巾：30 分" in offer["can"]
    assert "换洗衣皂" not in [b["title"] for b in offer["buttons"]]
    [message], events = await run(ActionPointsRedeem(), "我要换洗衣皂", "points_redeem")
    assert message["response"] == "utter_points_which_item" and events[0]["value"] is None
    titles = [b["title"] for b in message["buttons"]]
    assert "洗衣皂" not in titles and "毛巾" in titles


async def test_a_redemption_confirmed_after_the_item_was_retired_is_refused_and_changes_nothing(ledger):
    messages, _ = await run(ActionPointsRedeem(), "我要换毛巾", "points_redeem")
    assert messages[0]["response"] == "utter_points_redeem_confirm"  # the resident is asked to confirm…
    retire(ledger, "towel")  # …and the towel is taken off the shelf before they do
    tracker = make_tracker(
        "web:p1",
        "确认兑换",
        "affirm",
        slots={"redeem_item": "towel"},
        events=[
            {"event": "user", "text": "我要换毛巾"},
            {"event": "action", "name": "action_points_redeem"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "确认兑换"},
        ],
    )
    dispatcher = CollectingDispatcher()
    events = await ActionHandleAffirm().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert message["text"] == (
        "没有兑换成功：抱歉，毛巾已经下架，社区不再提供了；您的积分没有扣。可以问我“能换什么”看看别的。"
    )
    assert {"event": "slot", "name": "redeem_item", "value": None, "timestamp": None} in events
    with ledger() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="p1")
        towel = s.scalars(select(CatalogueItem).filter_by(community_id=resident.community_id, code="towel")).one()
        assert balance(session=s, resident=resident) == 45 and towel.stock == 40
        assert s.scalars(select(Redemption)).all() == []


async def test_asking_for_the_ranking_shows_the_board_masked(ledger):
    messages, _ = await run(ActionPointsBalance(), "积分排行榜给我看看", "points_balance")
    _, board = messages
    assert board["response"] == "utter_points_board" and board["community"] == "枫林社区"
    assert board["lines"].startswith("1. R") and "45 分 ★" not in board["lines"]  # adjustments do not rank
    assert "20 分 ★" in board["lines"]
