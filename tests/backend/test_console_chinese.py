"""Every console page speaks Chinese: no English word or internal code reaches staff.

Each console role logs in through the real form and crawls every GET page it
can reach from the navigation (links followed, exports skipped) over demo
data: tickets in every status (a private matter, an unrouted place, a
department's), ratings, progress, an audit trail with refusals, and
conversations in Rasa's own tracker store with a review queue. The visible
text (text nodes, including the charts' SVG text and the page title; not
attributes or URLs) must hold no ASCII word but those in :data:`ALLOWED`,
and every failure says on which page, as whom, and in which words.

Allowed, and why:
- ticket numbers ``GZ20261122-0001`` and resident numbers ``R0001``: the
  references staff and residents quote to each other;
- ``CSV``, ``JSONL`` (download formats), ``ID`` (身份证号 in prose),
  ``Open311`` (the public interface's standard name, in its explanation) and
  ``Telegram`` (a channel's own name, like 微信) and ``F1`` (the metric's name, 宏平均 F1);
- the accounts' login names, which an admin must read as typed to unlock them,
  and the test client's address (``testclient``; an IP address in production).
"""

from __future__ import annotations

import re
from collections import deque
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
import yaml

from backend import labels
from backend.console import review_queue
from backend.console.accounts import create_account
from backend.console.tracker_access import read_only_engine
from backend.gridwork.work import take
from backend.models import ConsoleAccount, GridMember, Resident
from backend.services.residents import import_demo_residents
from backend.settings import PROJECT_ROOT, load_settings
from backend.tickets.satisfaction import rate_ticket
from backend.tickets.service import transition
from tests.backend import tracker_data as td
from tests.console_client import PASSWORD, SCOPES, console_app, login
from tests.factories import file_ticket

ALLOWED_WORDS = {"CSV", "JSONL", "ID", "Open311", "Telegram", "F1"}  # F1: the metric's name in Chinese too (宏平均 F1)
ALLOWED_PATTERNS = (re.compile(r"^GZ\d{8}-\d{4}$"), re.compile(r"^R[0-9A-F]{4,}$"))
# An ASCII word: letters, maybe with digits, dots, dashes, underscores or colons inside (review.view, gm-fl-01).
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[._:\-][A-Za-z0-9]+)*")
URL = re.compile(r"(?:https?://|/)[^\s，。、）)]*")
NOW = datetime.now(timezone.utc)
DISPLAY = {
    "admin": "周主任",
    "operator": "小孙",
    "community_staff": "吴干事",
    "grid_member": "王丽",
    "department": "城管科",
}
SKIP = (".csv", ".jsonl", "/logout")
PAGE_LIMIT = 120


class VisibleText(HTMLParser):
    """The text nodes a person sees (script and style left out), with the element they are in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.texts: list[tuple[str, str]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.links.append(href)
        if tag not in ("br", "input", "img", "meta", "link", "hr", "wbr"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if data.strip() and not {"script", "style"} & set(self.stack):
            self.texts.append((self.stack[-1] if self.stack else "", data.strip()))


def foreign_words(text: str, allowed_names: set[str]) -> list[str]:
    """The ASCII words and codes in ``text`` that are not allowed."""
    text = URL.sub(" ", text)
    out = []
    for word in WORD.findall(text):
        if word in ALLOWED_WORDS or word in allowed_names or any(p.match(word) for p in ALLOWED_PATTERNS):
            continue
        out.append(word)
    return out


@pytest.fixture()
def tracker_path(tmp_path):
    return tmp_path / "tracker.db"


@pytest.fixture()
def settings(database_url, tmp_path, tracker_path):
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "RASA_TOKEN": "test-rasa-token",
            "MODEL_DIR": str(tmp_path / "models"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "TRACKER_STORE_URL": f"sqlite:///{tracker_path}",
            "REVIEW_NLU_FILE": str(tmp_path / "nlu" / "review.yml"),
        }
    )


def demo_tickets(registry) -> dict[str, str]:
    """Tickets in every status, with ratings, a private matter, an unrouted place and a department's ticket."""
    earlier = NOW - timedelta(days=5)
    numbers: dict[str, str] = {}
    with registry.begin() as s:
        make = lambda sender, **kw: file_ticket(s, now=earlier, sender=sender, **kw)  # noqa: E731
        numbers["assigned"] = make("a").number
        numbers["submitted"] = make(
            "b",
            category="street_order",
            description="有个地方老是有人乱摆摊，也不知道该找谁",
            place_text="",
            entities={},
        ).number
        numbers["private"] = make(
            "c",
            category="home_repair",
            description="我家卫生间漏水到楼下了，能帮忙找个师傅吗",
            place_text="枫林苑3号楼",
        ).number
        guidance = make("d", category="family_dispute", description="儿子不给赡养费", place_text="", entities={})
        transition(session=s, ticket=guidance, to="guidance", actor="system", now=earlier, note="已说明可申请调解")
        numbers["guidance"] = guidance.number
        member = s.query(GridMember).filter_by(code="gm-fl-01").one()
        working = make("e", description="枫林苑3号楼电梯门关不上，老人进出很危险")
        take(session=s, member=member, number=working.number, now=earlier)
        numbers["in_progress"] = working.number
        road = make(
            "f",
            category="streetlight",
            description="枫林路公交站边上的路灯晚上不亮",
            place_text="枫林路公交站",
            entities={},
        )
        numbers["department"] = road.number
        for sender, rating, floor in (("g", "satisfied", "二"), ("h", "unsatisfied", "三"), ("i", None, "四")):
            done = make(sender, description=f"枫林苑3号楼{floor}楼楼道灯坏了")
            transition(
                session=s, ticket=done, to="resolved", actor="grid_member:gm-fl-01", now=earlier, note="已换灯泡"
            )
            if rating is not None:
                resident = s.get(Resident, done.resident_id)
                rate_ticket(session=s, ticket=done, resident=resident, rating=rating, now=earlier, comment="灯还是不亮")
            numbers[rating or "resolved"] = done.number
        import_demo_residents(
            session=s, data=yaml.safe_load((PROJECT_ROOT / "config" / "residents.demo.yml").read_text(encoding="utf-8"))
        )
    return numbers


def demo_conversations(tracker_path) -> None:
    """Conversations in Rasa's tracker store: a web visitor filing with a phone, a Telegram user, a fallback."""
    td.write(
        tracker_path,
        {
            "web:4f1c2b9e8a7d4c3b9a1e2d3c4b5a6978": [
                td.user("枫林苑3号楼电梯坏了", "elevator", 0.93),
                td.action("utter_ask_report_place"),
                td.bot("要帮您登记吗？", "登记工单", "先不用"),
                td.user("/report_start", "report_start", 1.0),
                td.user("我电话13812345678", "inform_phone", 0.81),
                td.user("嗯嗯那个啥", "nlu_fallback", 0.2, guess=("affirm", 0.3)),
                td.action("action_default_fallback"),
                td.bot("抱歉，我没听懂。"),
            ],
            "telegram:987654321": [td.user("积分怎么换东西", "points_catalogue", 0.55)],
        },
    )


@pytest.fixture()
def crawled_app(settings, registry, tracker_path):
    with console_app(settings, registry) as app:
        with registry.begin() as s:
            for account in s.query(ConsoleAccount):
                account.display_name = DISPLAY.get(str(account.username), account.display_name)
            create_account(session=s, username="dept-traffic", display_name="交警中队", role="department",
                           password=PASSWORD, now=NOW, department="traffic-police")  # fmt: skip
        numbers = demo_tickets(registry)
        demo_conversations(tracker_path)
        staff, csrf = login(app, "community_staff")
        for step, number, note in (
            ("progress", numbers["assigned"], "已联系物业，明天上午来修"),
            ("escalate", numbers["department"], "线路老化要整段换线，社区解决不了"),
            ("escalate", numbers["department"], "需要职能部门"),
            ("escalate", numbers["department"], "需要职能部门报到"),
            ("reopen", numbers["resolved"], "居民说灯还是不亮"),
        ):
            staff.post(f"/console/tickets/{number}/{step}", data={"csrf": csrf, "note": note})
        department, csrf = login(app, "department")
        department.post(f"/console/tickets/{numbers['department']}/report-in", data={"csrf": csrf})
        staff.get("/console/audit")  # refused: lands in the audit trail
        login(app, "admin", "wrong-password")  # a refused login
        with registry.begin() as s:
            review_queue.scan(session=s, tracker=read_only_engine(f"sqlite:///{tracker_path}"), threshold=0.7)
        yield app, numbers


def crawl(app, username: str, start_pages: list[str]) -> dict[str, list[str]]:
    """Every console page reachable from ``start_pages`` as ``username``: page → the foreign words on it."""
    client, _ = login(app, username)
    # login names (shown as typed, to unlock them) and the test client's address (an IP address in production)
    names = {"admin", "operator", "community_staff", "grid_member", "department", "dept-traffic", "testclient"}
    seen: set[str] = set()
    queue = deque(start_pages)
    found: dict[str, list[str]] = {}
    while queue and len(seen) < PAGE_LIMIT:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        parser = VisibleText()
        parser.feed(response.text)
        bad = [f"<{tag}> {text[:60]!r}: {words}" for tag, text in parser.texts
               if (words := foreign_words(text, names))]  # fmt: skip
        if bad:
            found[path] = bad
        for href in parser.links:
            link = urldefrag(href)[0]
            parts = urlsplit(link)
            if parts.netloc or not parts.path.startswith("/console") or parts.path.endswith(SKIP):
                continue
            if re.search(r"[?&]page=([3-9]|\d\d)", link):
                continue
            queue.append(link)
    assert len(seen) > 1, f"{username} reached no page"
    return found


@pytest.mark.parametrize("role", [*SCOPES, "dept-traffic"])
def test_every_console_page_is_in_chinese(crawled_app, role):
    app, numbers = crawled_app
    starts = ["/console", "/console/tickets", "/console/tickets?status=all"]
    starts += [f"/console/tickets/{n}" for n in numbers.values()]
    found = crawl(app, role, starts)
    report = "\n".join(f"{page}:\n    " + "\n    ".join(words) for page, words in found.items())
    assert not found, f"English words or codes visible to {role}:\n{report}"


def test_the_ticket_page_shows_the_place_the_department_and_the_rating_in_chinese(crawled_app):
    app, numbers = crawled_app
    client, _ = login(app, "admin")
    page = client.get(f"/console/tickets/{numbers['department']}").text
    assert "区城市管理局" in page and "city-mgmt" not in page
    assert ">枫林路<" in page or "枫林路" in page.split("地点")[1][:200]
    assert "路灯晚上不亮" not in page.split("<dt>地点</dt>")[1].split("</dd>")[0]  # the place, not the first message
    rated = client.get(f"/console/tickets/{numbers['unsatisfied']}").text
    assert "不满意" in rated and "unsatisfied" not in rated
    private = client.get(f"/console/tickets/{numbers['private']}").text
    deadline = private.split("<dt>办结时限</dt>")[1].split("</dd>")[0]
    assert "不派单" in deadline and "协商共办" not in private.split("<dt>事项</dt>")[1].split("</dd>")[0]


def test_the_board_has_place_and_summary_columns_masked(crawled_app, registry):
    app, _ = crawled_app
    with registry.begin() as s:
        file_ticket(
            s, now=NOW, sender="p", description="枫林苑3号楼电梯坏了，我电话13812345678", place_text="枫林苑3号楼"
        )
    client, _ = login(app, "admin")
    board = client.get("/console/tickets").text
    head = board.split("<thead>")[1].split("</thead>")[0]
    assert "<th>地点</th>" in head and "<th>概要</th>" in head
    assert "枫林苑 3号楼" in board and "13812345678" not in board and "138****5678" in board


def test_every_domain_intent_and_audit_action_has_a_chinese_label():
    intents: set[str] = set()
    for path in (PROJECT_ROOT / "domain").glob("*.yml"):
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("intents") or []:
            intents.add(item if isinstance(item, str) else next(iter(item)))
    missing = sorted(i for i in intents if i not in labels.intent_names())
    assert not missing, f"intents without a Chinese label in backend/labels.py: {missing}"
    from backend.console.access import PERMISSIONS

    unlabelled = sorted(p for p in PERMISSIONS if p not in labels.AUDIT_ACTIONS)
    assert not unlabelled, f"permissions (audited when refused) without a label: {unlabelled}"


def test_the_checker_finds_what_the_issue_saw():
    assert foreign_words("评价 unsatisfied", set()) == ["unsatisfied"]
    assert foreign_words("职能部门（city-mgmt）", set()) == ["city-mgmt"]
    assert foreign_words("识别为 inform_phone（把握 81%）", set()) == ["inform_phone"]
    assert foreign_words("GZ20261122-0001 · R0001 · 下载 CSV · /console/tickets", set()) == []
