"""How a resident reaches a person: the street's service hotline, from ``config/human_contact.yml``.

The assistant gives it whenever a person is what the resident needs: when
they are angry with the assistant or the staff (``actions.abuse``), and
when they write in a language the assistant does not speak
(``actions.other_languages``). Every field must be there: a blank where a
phone number should be would leave an upset resident with nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from backend.errors import InvalidRegistry
from backend.settings import PROJECT_ROOT

CONTACT_FILE = PROJECT_ROOT / "config" / "human_contact.yml"


@dataclass(frozen=True)
class HumanContact:
    """The street's hotline: its name, number and hours (the hours in Chinese)."""

    name: str
    phone: str
    hours: str


def load_contact(path: Path = CONTACT_FILE) -> HumanContact:
    """Read the hotline.

    Raises:
        InvalidRegistry: the file is not a mapping or lacks the name, the phone or the hours.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise InvalidRegistry(f"{path.name} 应写明 name、phone、hours 三项。")
    missing = [key for key in ("name", "phone", "hours") if not str(data.get(key) or "").strip()]
    if missing:
        raise InvalidRegistry(f"{path.name} 缺少：{'、'.join(missing)}。")
    return HumanContact(
        name=str(data["name"]).strip(), phone=str(data["phone"]).strip(), hours=str(data["hours"]).strip()
    )


@lru_cache(maxsize=1)
def default_contact() -> HumanContact:
    """The project's hotline, loaded once per process."""
    return load_contact()
