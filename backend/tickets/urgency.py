"""How urgent a report is, inferred from the resident's words and confirmable in the summary.

Three levels: normal 一般, urgent 紧急 (danger or a household cut off from
water, power, a lift: the grid member goes first), emergency 危急 (fire, gas,
someone trapped or hurt, violence: 110 / 119 / 120 first, immediate tier).
The inference only proposes; the resident sees it in the summary and can
change it.

Emergencies are also recognised here by their words (:func:`emergency_call`),
whatever category the classifier chose: someone collapsed or trapped, a fire,
a gas leak, violence. Each gets the number to call, from
``config/emergency.yml`` (119 / 110 / 120 and the local gas company's line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from backend.errors import InvalidRegistry
from backend.settings import PROJECT_ROOT

NUMBERS_FILE = PROJECT_ROOT / "config" / "emergency.yml"

URGENCY_NAMES: dict[str, str] = {"normal": "一般", "urgent": "紧急", "emergency": "危急"}

_URGENT = re.compile(
    r"关在里面|关里面|困在|被困|困了|困住|卡在|漏电|冒烟|烧焦|火花|爆管|喷水|水漫|淹了|倒灌|塌|掉下来|砸|松动|"
    r"摔倒|晕倒|老人.{0,6}(一个人|没人管)|危险|吓人|赶紧|马上|尽快|急死|着急|太急|很急|急急|紧急|"
    r"停水|停电|断水|断电|没水|没电"
)
_CALM = re.compile(r"不急|不着急|有空|方便的时候|慢慢来")


def infer_urgency(text: str) -> str:
    """'urgent' when the words carry danger or hardship, else 'normal' (never 'emergency': that is the intent's)."""
    if _CALM.search(text):
        return "normal"
    return "urgent" if _URGENT.search(text) else "normal"


def urgency_from_answer(text: str) -> str | None:
    """The level a resident chose in words or by button (紧急 / 一般), or None if unclear."""
    t = text.strip()
    if re.search(r"不急|不着急|不紧急|一般|普通|还好|不算急|慢慢", t):
        return "normal"
    if re.search(r"急|紧急|赶紧|马上|危险|快", t):
        return "urgent"
    return None


# The four kinds of emergency, each with the number to call first.
FIRE, POLICE, AMBULANCE, GAS = "fire", "police", "ambulance", "gas"

# "着火了都跑不出去", "真着火了咋办": a stairwell or exit complaint that imagines the fire, not a fire.
_HYPOTHETICAL = re.compile(
    r"万一|如果|要是|容易|担心|以防|隐患|会不会|怕.{0,4}(着火|晕倒|被困)|演练|培训|知识|"
    r"(着火|起火|失火)了?.{0,2}(都|就|也|可)|跑不出去|逃不出去|逃不掉|怎么办|咋办|咋整"
)
_TRAPPED = re.compile(r"困了|困住|困在|被困|关在里面|关里面|关住了|卡在里面")
_EMERGENCIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (GAS, re.compile(r"(煤气|燃气|天然气|液化气)(味|泄漏|泄露|漏了)|漏气|闻到.{0,6}(煤气|燃气|天然气)")),
    (FIRE, re.compile(r"着火|起火|失火|火灾|烧起来|浓烟|冒黑烟|火很大|火越来越大|落水|溺水")),
    (
        AMBULANCE,
        re.compile(
            r"晕倒|昏倒|晕过去|昏过去|晕了过去|昏迷|不省人事|没有?意识|没气了|没呼吸|喘不上气|抽搐|口吐白沫|"
            r"倒在地上|倒地不起|摔倒.{0,6}(起不来|不动|流血)|起不来了|大出血|流了?好多血|流了?很多血|"
            r"心脏病(犯|发)|中风了|被车撞|撞伤|受伤了|骨折了"
        ),
    ),
    (POLICE, re.compile(r"打架|斗殴|行凶|持刀|拿着?刀|抢劫|抢包|入室|撬门|有小偷|在打人|打人了|被打了|动手打")),
)
_FOLLOW_UP = re.compile(
    r"(已经|刚才?|刚刚|也)(打|拨|叫|报)(了|过)|打过了|报过警|报警了|叫了救护车|已经在路上|快到了|已经到了|"
    r"(救护车|消防车|警察|民警|医生|消防员?|他们)(来了|到了|走了|在路上|快到)|送(去|到)?医院|没事了|醒了|"
    r"救出来了|被救出来|火灭了|灭火了|"
    r"(燃气公司|煤气公司|燃气|煤气|天然气|抢修|维修|物业|电梯公司)(公司|队)?的?(人|师傅|工人|人员)?(已经|也)?"
    r"(来了|到了|在路上|快到)"
)


def emergency_call(text: str) -> str | None:
    """The kind of emergency the words tell (fire, police, ambulance, gas), or None.

    Someone trapped (in a lift or anywhere) is the fire brigade's (119); someone
    collapsed, fainted or hurt is 120's; a gas smell is the gas company's line
    first. A hypothetical ("万一着火", "容易晕倒") and a follow-up about one already
    handled ("已经打了120了") are not a new emergency.
    """
    if _HYPOTHETICAL.search(text) or is_follow_up(text):
        return None
    for kind, words in _EMERGENCIES:
        if words.search(text):
            return kind
    if _TRAPPED.search(text) and re.search(r"人|老|小孩|孩子|哥|姐|叔|姨|娃|宝", text):
        return FIRE
    return None


def is_follow_up(text: str) -> bool:
    """Whether the message tells how an emergency is going (called already, help on the way), not a new one."""
    return bool(_FOLLOW_UP.search(text))


@dataclass(frozen=True)
class EmergencyNumbers:
    """The numbers to call, from ``config/emergency.yml``."""

    fire: str
    police: str
    ambulance: str
    gas: str

    def of(self, kind: str) -> str:
        """The number for a kind of emergency (:data:`FIRE`, :data:`POLICE` …)."""
        return str(getattr(self, kind))


def load_numbers(path: Path = NUMBERS_FILE) -> EmergencyNumbers:
    """Read the emergency numbers; every one must be there (a missing number would be a blank in an emergency).

    Raises:
        InvalidRegistry: the file lacks a number or is not a mapping.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise InvalidRegistry(f"{path.name} 应是“类别: 号码”的列表。")
    missing = [k for k in (FIRE, POLICE, AMBULANCE, GAS) if not str(data.get(k) or "").strip()]
    if missing:
        raise InvalidRegistry(f"{path.name} 缺少紧急电话：{'、'.join(missing)}。")
    return EmergencyNumbers(**{k: str(data[k]).strip() for k in (FIRE, POLICE, AMBULANCE, GAS)})


@lru_cache(maxsize=1)
def default_numbers() -> EmergencyNumbers:
    """The project's emergency numbers (read once per process)."""
    return load_numbers()
