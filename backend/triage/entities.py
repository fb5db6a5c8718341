"""Find and normalise the places, numbers and times in a resident's message.

Residents write 3号楼, 三号楼, 3栋, 三栋 or 3幢 for the same building; the
normalised value is the integer on the door (3), converted with cn2an, never
with a hand-written table. Estate, road and place names come from the grid
registry (``data/nlu/lookups/registry.yml``, generated from it), aliases
included, and are returned under their official name.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cn2an
import yaml

from backend.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

LOOKUP_FILE = PROJECT_ROOT / "data" / "nlu" / "lookups" / "registry.yml"

_NUM_CHAR = r"[0-9０-９一二三四五六七八九十百零〇两]"
# A numeral starts where a run of numeral characters starts. Without the
# look-behind a search retries from every character of a long run, which is
# quadratic: 20,000 digits took 30 seconds per pattern.
_NUM = rf"(?<!{_NUM_CHAR}){_NUM_CHAR}+"
BUILDING = re.compile(rf"({_NUM})\s*(?:号楼|号栋|栋|幢|号院|座)")
UNIT = re.compile(rf"({_NUM})\s*单元")
# ASCII digits only: \d also matches Arabic-Indic and other digits, which would make ticket numbers no lookup finds.
TICKET = re.compile(r"(?<![A-Za-z0-9])(GZ)\s*-?\s*([0-9]{8})\s*[-－—]?\s*([0-9]{4})(?![0-9])", re.IGNORECASE)
PHONE = re.compile(r"(?<![0-9])(1[3-9][0-9])[\s-]?([0-9]{4})[\s-]?([0-9]{4})(?![0-9])")
TIME = re.compile(
    r"(今天|昨天|前天|今早|今晚|昨晚|早上|上午|中午|下午|傍晚|晚上|半夜|凌晨|深夜|"
    r"每天|天天|最近|这几天|这两天|上周|这周|周[一二三四五六日末]|星期[一二三四五六日天]|"
    rf"{_NUM}\s*(?:点|天|个月|周|年|小时|分钟)(?:半|多|了|以来)?)"
)


_SPOKEN_DIGITS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_SPOKEN_RUN = re.compile(r"[零〇一幺二两三四五六七八九]{7,}")


def mobile_number(text: str) -> str | None:
    """The mainland mobile number in a phone answer, as 11 digits, or None.

    Accepts what residents type: spaces and dashes inside the number, a +86
    or 86 prefix, full-width digits, and numbers written as spoken
    (一三八…, 幺 for 1). Anything else with digits (10 or 12 digits, a
    landline, a number starting 12) is not a mobile number.
    """
    spoken = _SPOKEN_RUN.sub(lambda m: m.group(0).translate(_SPOKEN_DIGITS), text)
    compact = re.sub(r"[\s\-－—()（）]", "", spoken.translate(_FULL_WIDTH_DIGITS))
    compact = re.sub(r"^\+?86(?=1\d{10}(?!\d))", "", compact)
    compact = re.sub(r"(?<!\d)\+?86(?=1[3-9]\d{9}(?!\d))", "", compact)
    numbers = re.findall(r"\d+", compact)
    mobiles = [n for n in numbers if re.fullmatch(r"1[3-9]\d{9}", n)]
    return mobiles[0] if len(mobiles) == 1 else None


# No building, unit or room number is longer; a longer run (5,000 digits pasted in)
# is not a number on a door, and int() refuses over 4,300 digits.
MAX_NUMERAL_CHARS = 12


def to_int(numeral: str) -> int | None:
    """Arabic or Chinese numeral to int (三→3, 十二→12, 一五零二→1502, ３→3); None when it is not one."""
    numeral = numeral.translate(str.maketrans("０１２３４５６７８９", "0123456789")).strip()
    if not numeral or len(numeral) > MAX_NUMERAL_CHARS:
        return None
    if numeral.isascii() and numeral.isdigit():  # not str.isdigit alone: "²" is a digit int() refuses
        return int(numeral)
    try:
        value = cn2an.cn2an(numeral, "smart")
    except (ValueError, KeyError):
        try:  # digit-by-digit reading: 一五零二
            value = cn2an.cn2an(cn2an.transform(numeral, "cn2an"), "smart")
        except (ValueError, KeyError):
            return None
    return int(value) if float(value).is_integer() else None


@dataclass(frozen=True)
class PlaceNames:
    """Official names of estates, roads and public places, with every alias that points to each."""

    estates: dict[str, str]
    roads: dict[str, str]
    places: dict[str, str]


def load_place_names(path: Path = LOOKUP_FILE) -> PlaceNames:
    """Read the generated lookup file (alias → official name)."""
    if not path.exists():
        return PlaceNames({}, {}, {})
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: dict[str, dict[str, str]] = {"estate": {}, "road": {}, "place": {}}
    for block in data.get("nlu", []):
        if "lookup" in block:
            kind = block["lookup"]
            for line in str(block.get("examples", "")).splitlines():
                if line.startswith("- "):
                    found.setdefault(kind, {})[line[2:].strip()] = line[2:].strip()
        if "synonym" in block:
            for line in str(block.get("examples", "")).splitlines():
                if line.startswith("- "):
                    alias = line[2:].strip()
                    for kind in ("estate", "road", "place"):
                        if block["synonym"] in found[kind]:
                            found[kind][alias] = block["synonym"]
    return PlaceNames(found["estate"], found["road"], found["place"])


@lru_cache(maxsize=1)
def default_place_names() -> PlaceNames:
    """The project's registry names, read once per process."""
    return load_place_names()


def _longest_match(text: str, names: dict[str, str]) -> str | None:
    hits = [alias for alias in names if alias and alias in text]
    return names[max(hits, key=len)] if hits else None


def extract(text: str, names: PlaceNames | None = None) -> dict[str, Any]:
    """All entities found in ``text``, normalised; absent ones are left out."""
    names = names or default_place_names()
    out: dict[str, Any] = {}
    if estate := _longest_match(text, names.estates):
        out["estate"] = estate
    if road := _longest_match(text, names.roads):
        out["road"] = road
    if place := _longest_match(text, names.places):
        out["place"] = place
    if m := BUILDING.search(text):
        number = to_int(m.group(1))
        if number is not None and 0 < number < 1000:
            out["building"] = number
    if m := UNIT.search(text):
        number = to_int(m.group(1))
        if number is not None and 0 < number < 100:
            out["unit"] = number
    room = re.search(rf"({_NUM})\s*(?:室|号房|号(?!楼|栋|线|码|院))", TICKET.sub(" ", text))
    if room is None and (unit := UNIT.search(text)):
        room = re.match(rf"\s*({_NUM_CHAR}+)", text[unit.end() :])
    if room is not None:
        number = to_int(room.group(1))
        if number is not None and 100 <= number < 10000:
            out["room"] = str(number)
    if m := TICKET.search(text):
        out["ticket_no"] = f"GZ{m.group(2)}-{m.group(3)}"
    if m := PHONE.search(text):
        out["phone"] = "".join(m.groups())
    if m := TIME.search(text):
        out["time"] = m.group(0)
    return out
