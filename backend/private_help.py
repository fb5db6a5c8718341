"""The community's help for private matters (自家事), from ``config/private_help.yml``.

A private matter gets no work order by default; what the resident gets
instead is concrete: who can help, what they do, how to reach them, when.
Loading checks that every private category has at least one option and
that no unknown category or service is named, so an edit cannot silently
leave a resident with nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from backend.categories import default_table
from backend.errors import InvalidRegistry
from backend.settings import PROJECT_ROOT

HELP_FILE = PROJECT_ROOT / "config" / "private_help.yml"


@dataclass(frozen=True)
class HelpOption:
    """One service a resident can turn to."""

    code: str
    name: str
    what: str
    contact: str
    hours: str

    def line(self) -> str:
        """One line for the chat: name, what, contact, hours."""
        return f"· {self.name}：{self.what}。{self.contact}（{self.hours}）"


def load_private_help(path: Path = HELP_FILE) -> dict[str, list[HelpOption]]:
    """Options per private category code.

    Raises:
        InvalidRegistry: malformed file, unknown category or service, or a private category without help.
    """
    try:
        data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        services = {
            code: HelpOption(
                code=code, name=str(s["name"]), what=str(s["what"]), contact=str(s["contact"]), hours=str(s["hours"])
            )
            for code, s in (data.get("services") or {}).items()
        }
        wanted: dict[str, list[str]] = data.get("categories") or {}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidRegistry(f"{path.name} 格式不对：{exc}") from exc
    table = default_table()
    private = {c.code for c in table.categories.values() if c.matter == "private"}
    unknown = set(wanted) - private
    if unknown:
        raise InvalidRegistry(f"{path.name} 里有不是自家事的类别：{'、'.join(sorted(unknown))}")
    options: dict[str, list[HelpOption]] = {}
    for code in sorted(private):
        names = wanted.get(code) or []
        missing = [n for n in names if n not in services]
        if missing:
            raise InvalidRegistry(f"{path.name}：类别 {code} 引用了不存在的服务 {'、'.join(missing)}")
        if not names:
            raise InvalidRegistry(f"{path.name}：自家事类别 {code} 没有列出任何帮助")
        options[code] = [services[n] for n in names]
    return options


@lru_cache(maxsize=1)
def default_help() -> dict[str, list[HelpOption]]:
    """The project's help table, loaded once per process."""
    return load_private_help()
