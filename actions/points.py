"""The resident's questions about points: balance, why it changed, how to earn, what it buys, redeeming.

Every answer is read from the ledger (:mod:`backend.points.ledger`), so each
number can be traced to entries with dates and reasons. Redeeming asks for
a confirmation first; the "确认兑换" (or a typed yes) right after it is
handled by :class:`actions.filing.ActionHandleAffirm`, which calls
:func:`redeem_chosen_item` here.

The answers that need the resident's community (balance and rank, what the
points buy, redeeming) first ask a resident without one whether to register
them in the community their tickets point to (:mod:`actions.points_community`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from typing_extensions import override

from actions.points_community import offer_community, question_text
from actions.runtime import resident_of, resident_text, sessions
from backend.dates import day
from backend.errors import DomainError
from backend.points.ledger import balance
from backend.points.ranking import monthly_ranking, rank_of, this_month, title_of
from backend.points.resident_views import community_of, earning_rules, redeemed_item
from backend.points.statement import entry_for_change, history
from backend.points.supermarket import catalogue, find_item, redeem
from backend.triage.entities import to_int

logger = logging.getLogger(__name__)

REDEEM_SLOT = "redeem_item"
_BOARD = re.compile(r"排行|排名|榜|评比|积分之星|第几")
_CHANGE = re.compile(r"([0-9０-９一二三四五六七八九十百两]+)\s*分")
_DOWN = re.compile(r"少|扣|减|没了|不见|掉了|降")
_UP = re.compile(r"多|加|涨|增")
BALANCE = "action_points_balance"
CATALOGUE = "action_points_catalogue"
ROLE_NAMES = {"system": "系统自动记", "grid_member": "网格员记录", "admin": "管理员调整"}


def _signed(amount: int) -> str:
    return f"+{amount}" if amount > 0 else str(amount)


def asked_change(text: str) -> int | None:
    """The change a resident asks about: 为什么少了20分 → −20, 怎么多了5分 → 5, else None."""
    match = _CHANGE.search(text)
    if match is None:
        return None
    amount = to_int(match.group(1))
    if not amount:
        return None
    if _DOWN.search(text):
        return -amount
    if _UP.search(text):
        return amount
    return None


def answer_balance(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The balance, this month's rank and title (and the board when asked); first the community question if due."""
    now = datetime.now(timezone.utc)
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        asked = offer_community(dispatcher, tracker, session=session, resident=resident, asking=BALANCE)
        if asked is not None:
            return asked
        points = balance(session=session, resident=resident)
        rank = rank_of(session=session, resident=resident, month=this_month(now))
        community = community_of(session=session, resident=resident)
        if rank is not None and community is not None:
            standing = f"本月在{community.name}获得 {rank.points} 分，排第 {rank.rank} 名。"
        elif community is not None:
            standing = "本月还没有获得积分。"
        else:
            standing = "您还没有对应到社区，参加一次社区活动、让网格员记录后就能参加每月评比。"
        title = title_of(rank)
        dispatcher.utter_message(
            response="utter_points_balance",
            balance=points,
            standing=standing,
            title=f"★ {title}！" if title else "",
            code=str(resident.code),
        )
        if community is not None and _BOARD.search(question_text(tracker)):
            board = monthly_ranking(session=session, community_id=int(community.id), month=this_month(now))
            lines = "\n".join(
                f"{line.rank}. {line.shown_name} {line.points} 分" + (" ★" if title_of(line) else "")
                for line in board[:10]
            )
            dispatcher.utter_message(
                response="utter_points_board",
                community=str(community.name),
                lines=lines or "本月还没有人获得积分。",
            )
    return []


class ActionPointsBalance(Action):
    """我有多少积分: balance, this month's rank in the community, the star title, the resident code.

    Asked about the ranking itself (积分排行榜, 我排第几), it also shows the
    community's top ten this month, names masked as on the notice board.
    """

    @override
    def name(self) -> str:
        return BALANCE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Read the ledger and the ranking (first asking to register a resident without a community)."""
        return answer_balance(dispatcher, tracker)


def answer_history(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The change asked about (为什么少了20分), else the latest entries with dates and reasons."""
    change = asked_change(resident_text(tracker))
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        if change is not None:
            entry = entry_for_change(session=session, resident=resident, amount=change)
            if entry is not None:
                dispatcher.utter_message(
                    response="utter_points_change",
                    when=day(entry.created_at),
                    amount=_signed(int(entry.amount)),
                    reason=str(entry.reason),
                    balance=balance(session=session, resident=resident),
                )
                return []
        entries = history(session=session, resident=resident, limit=8)
        if not entries:
            dispatcher.utter_message(response="utter_points_none_yet", code=str(resident.code))
            return []
        lines = "\n".join(f"· {day(e.created_at)} {_signed(int(e.amount))} 分：{e.reason}" for e in entries)
        dispatcher.utter_message(
            response="utter_points_history_list" if change is None else "utter_points_change_not_found",
            lines=lines,
            amount=_signed(change) if change is not None else "",
            balance=balance(session=session, resident=resident),
        )
    return []


class ActionPointsHistory(Action):
    """积分怎么来的 / 为什么少了20分: the entries with dates and reasons, or the one asked about."""

    @override
    def name(self) -> str:
        return "action_points_history"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """The particular change when one is asked about, else the latest changes."""
        return answer_history(dispatcher, tracker)


def answer_rules(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Every rule that gives points, with its monthly cap and who records it."""
    with sessions().begin() as session:
        rules = earning_rules(session=session)
        lines = "\n".join(
            f"· {r.name}：{r.points} 分"
            + (f"，每月最多 {r.monthly_cap} 分" if r.monthly_cap else "")
            + f"（{ROLE_NAMES.get(str(r.awarded_by), '')}）"
            for r in rules
        )
    dispatcher.utter_message(response="utter_points_rules", lines=lines)
    return []


class ActionPointsRules(Action):
    """积分怎么挣: every rule with its points, monthly cap and who records it."""

    @override
    def name(self) -> str:
        return "action_points_rules"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """List the rules from the database (imported from config/points.yml)."""
        return answer_rules(dispatcher, tracker)


def answer_catalogue(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """What the balance buys now and what needs more (first the community question if due)."""
    with sessions().begin() as session:
        resident = resident_of(session, tracker)
        asked = offer_community(dispatcher, tracker, session=session, resident=resident, asking=CATALOGUE)
        if asked is not None:
            return asked
        offers = catalogue(session=session, resident=resident)
        points = balance(session=session, resident=resident)
    if not offers:
        dispatcher.utter_message(response="utter_points_no_community")
        return []
    can = [o for o in offers if o.affordable]
    later = [o for o in offers if not o.affordable]
    dispatcher.utter_message(
        response="utter_points_catalogue",
        balance=points,
        can="\n".join(f"· {o.name}：{o.cost} 分（还剩 {o.stock} 件）" for o in can) or "· 暂时还没有够分的物品",
        later="\n".join(
            f"· {o.name}：{o.cost} 分" + ("（已换完）" if o.stock == 0 else f"（还差 {o.cost - points} 分）")
            for o in later
        )
        or "· 没有了，都够分",
        buttons=[{"title": f"换{o.name}", "payload": f"我要换{o.name}"} for o in can[:5]],
    )
    return []


class ActionPointsCatalogue(Action):
    """能换什么: what the resident can afford now, and what needs more points."""

    @override
    def name(self) -> str:
        return CATALOGUE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Split the community's catalogue by what the balance covers (first asking as the balance does)."""
        return answer_catalogue(dispatcher, tracker)


class ActionPointsRedeem(Action):
    """我要换一袋大米: check the item, the points and the stock, then ask for confirmation."""

    @override
    def name(self) -> str:
        return "action_points_redeem"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """Offer the redemption (确认兑换 / 不换了), or say why it cannot be done (first asking as the balance does)."""
        text = question_text(tracker)
        with sessions().begin() as session:
            resident = resident_of(session, tracker)
            asked = offer_community(dispatcher, tracker, session=session, resident=resident, asking=self.name())
            if asked is not None:
                return [*asked, SlotSet(REDEEM_SLOT, None)]
            item = find_item(session=session, resident=resident, text=text)
            points = balance(session=session, resident=resident)
            if item is None:
                offers = catalogue(session=session, resident=resident)
                if not offers:
                    dispatcher.utter_message(response="utter_points_no_community")
                    return [SlotSet(REDEEM_SLOT, None)]
                dispatcher.utter_message(
                    response="utter_points_which_item",
                    buttons=[{"title": o.name, "payload": f"我要换{o.name}"} for o in offers if o.affordable][:6],
                    balance=points,
                )
                return [SlotSet(REDEEM_SLOT, None)]
            if item.stock <= 0:
                dispatcher.utter_message(response="utter_points_out_of_stock", item=str(item.name))
                return [SlotSet(REDEEM_SLOT, None)]
            if points < item.cost:
                dispatcher.utter_message(
                    response="utter_points_not_enough", item=str(item.name), cost=int(item.cost), balance=points
                )
                return [SlotSet(REDEEM_SLOT, None)]
            dispatcher.utter_message(
                response="utter_points_redeem_confirm",
                item=str(item.name),
                cost=int(item.cost),
                left=points - int(item.cost),
            )
            return [SlotSet(REDEEM_SLOT, str(item.code))]


def redeem_chosen_item(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The resident confirmed: redeem, and give the code to show at the 爱心超市.

    The item was chosen a turn earlier: if it has been retired (下架) or taken
    since, the redemption is refused with the reason and nothing changes.
    """
    code = str(tracker.get_slot(REDEEM_SLOT) or "")
    try:
        with sessions().begin() as session:
            resident = resident_of(session, tracker)
            redemption = redeem(session=session, resident=resident, item_code=code, now=datetime.now(timezone.utc))
            community = community_of(session=session, resident=resident)
            item = redeemed_item(session=session, redemption=redemption)
            dispatcher.utter_message(
                response="utter_points_redeemed",
                code=str(redemption.code),
                item=str(item.name) if item is not None else code,
                place=f"{community.name}爱心超市" if community else "社区爱心超市",
                balance=balance(session=session, resident=resident),
            )
    except DomainError as exc:
        dispatcher.utter_message(text=f"没有兑换成功：{exc}")
    return [SlotSet(REDEEM_SLOT, None)]
