"""The console's statistics page and its CSV files, against a real database built with the real services.

Four weeks of October 2025 (district time): tickets filed, resolved on time
or late, rated, points earned and spent. The figures on the page and in
the CSV are checked to the unit, for the whole street and for one
community's staff, along with who may see them and what a bad filter gets.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from html import unescape

import pytest
import yaml
from sqlalchemy import select

from backend.categories import DISTRICT_TZ
from backend.models import Community, Ticket
from backend.points.config import import_points_config
from backend.points.earning import log_volunteer
from backend.points.ledger import adjust
from backend.points.supermarket import redeem
from backend.services.residents import get_or_create_resident
from backend.settings import PROJECT_ROOT
from backend.tickets.satisfaction import rate_ticket
from backend.tickets.service import transition
from tests.backend.test_console import app, login  # noqa: F401 - the console app fixture and the login helper
from tests.factories import file_ticket

PERIOD = "start=2025-10-06&end=2025-11-02"  # four weeks, Monday to Sunday


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the district's time (stored as UTC by the services)."""
    return datetime(2025, month, day, hour, minute, tzinfo=DISTRICT_TZ)


def filed(s, sender: str, when: datetime, category: str = "elevator", building: int = 3, estate: str = "枫林苑"):
    return file_ticket(
        s, now=when, sender=sender, category=category, place_text=f"{estate}{building}号楼",
        entities={"building": building}, description="坏了",
    )  # fmt: skip


def rate(s, ticket: Ticket, sender: str, rating: str, when: datetime) -> None:
    resident = get_or_create_resident(session=s, channel="web", sender_id=sender)
    rate_ticket(session=s, ticket=ticket, resident=resident, rating=rating, now=when)


@pytest.fixture()
def world(app, registry):  # noqa: F811 - the fixture imported above
    data = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
    with registry.begin() as s:
        import_points_config(session=s, data=data)
        # Week of 6 October: two elevators in 枫林 (one on time, one late and then 不满意), a street light.
        t1 = filed(s, "r1", at(10, 6, 9))
        transition(session=s, ticket=t1, to="resolved", actor="gm", now=at(10, 6, 15), note="修好了")
        rate(s, t1, "r1", "satisfied", at(10, 7, 10))  # +1 rating point
        t2 = filed(s, "r2", at(10, 7, 9), building=4)
        transition(session=s, ticket=t2, to="resolved", actor="gm", now=at(10, 9, 9), note="修好了")
        rate(s, t2, "r2", "unsatisfied", at(10, 10, 9))  # reopened: open again, past its deadline
        filed(s, "r3", at(10, 8, 10), category="streetlight")  # public matter, never resolved: late
        # Week of 13 October: 望江, resolved within its three days, 基本满意.
        t4 = filed(s, "r4", at(10, 14, 10), category="building_common", building=9, estate="望江新村")
        transition(session=s, ticket=t4, to="resolved", actor="gm", now=at(10, 15, 10), note="清理了")
        rate(s, t4, "r4", "basically", at(10, 16, 10))  # +1 rating point
        filed(s, "r8", at(10, 13, 7, 30))  # Monday morning in the district, still Sunday in UTC; open, late
        # Week of 27 October: Sunday 23:30 is still that week; Monday 00:30 and the Sunday before are outside.
        filed(s, "r5", at(11, 2, 23, 30))
        filed(s, "r6", at(11, 3, 0, 30))
        filed(s, "r7", at(10, 5, 23))
        # Points: 10 volunteer hours (50) in 枫林, soap (20) redeemed, a deduction and a later award not counted.
        volunteer = get_or_create_resident(session=s, channel="web", sender_id="v1")
        s.flush()
        log_volunteer(session=s, member_code="gm-fl-01", reference=str(volunteer.code), hours=10, log_id="v-1",
                      now=at(10, 20, 9))  # fmt: skip
        redeem(session=s, resident=volunteer, item_code="soap", now=at(11, 1, 9))
        adjust(session=s, resident=volunteer, amount=-5, reason="重复记录", actor="admin", ref="a-1", now=at(11, 1, 10))
        log_volunteer(session=s, member_code="gm-fl-01", reference=str(volunteer.code), hours=1, log_id="v-2",
                      now=at(11, 5, 9))  # fmt: skip
    return registry


def section(html: str, name: str) -> str:
    found = re.search(rf'<section class="figure" id="{name}">(.*?)</section>', html, re.S)
    assert found, name
    return found.group(1)


def table(html: str, name: str) -> list[list[str]]:
    body = section(html, name)
    return [
        [unescape(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
        if "<td>" in row
    ]


def download(client, name: str, query: str = PERIOD) -> list[list[str]]:
    response = client.get(f"/console/stats/{name}.csv?{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs for Chinese
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_tickets_per_week_by_matter_on_the_page_and_in_the_csv(world, app):  # noqa: F811
    client, _ = login(app, "admin")
    page = client.get(f"/console/stats?{PERIOD}")
    assert page.status_code == 200
    rows = [
        ["10月6日起", "2025-10-06", "1", "2", "0", "3"],
        ["10月13日起", "2025-10-13", "0", "2", "0", "2"],
        ["10月20日起", "2025-10-20", "0", "0", "0", "0"],
        ["10月27日起", "2025-10-27", "0", "1", "0", "1"],
    ]
    assert table(page.text, "weekly-matter") == rows
    chart = section(page.text, "weekly-matter")
    assert "<svg" in chart and 'aria-label="每周工单数（按事项）"' in chart and "10月27日起" in chart
    assert download(client, "weekly-matter") == [
        ["周（week）", "周一日期（week_start）", "公家事（public）", "大家事（shared）", "自家事（private）",
         "合计（total）"],
        *rows,
    ]  # fmt: skip
    by_category = download(client, "weekly-category")
    header = by_category[0]
    assert len(header) == 2 + 21 + 1 and "电梯（elevator）" in header and "路灯照明（streetlight）" in header
    first = dict(zip(header, by_category[1], strict=True))
    assert (first["电梯（elevator）"], first["路灯照明（streetlight）"], first["合计（total）"]) == ("2", "1", "3")
    second = dict(zip(header, by_category[2], strict=True))
    assert (second["楼道及公共部位（building_common）"], second["电梯（elevator）"]) == ("1", "1")


def test_on_time_satisfaction_and_points_for_the_whole_street(world, app):  # noqa: F811
    client, _ = login(app, "operator")
    page = client.get(f"/console/stats?{PERIOD}").text
    assert table(page, "on-time-tier") == [
        ["小事急事 · 立说立办", "4", "1", "25.0%"],
        ["一般诉求 · 协商共办", "2", "1", "50.0%"],
    ]
    assert table(page, "on-time-community") == [
        ["望江社区", "1", "1", "100.0%"],
        ["枫林社区", "5", "1", "20.0%"],
    ]
    assert "25.0%（1/4）" in section(page, "on-time-tier")  # written beside the bar
    assert table(page, "satisfaction-community") == [
        ["望江社区", "1", "1", "100.0%"],
        ["枫林社区", "2", "1", "50.0%"],
    ]
    assert table(page, "satisfaction-category") == [
        ["楼道及公共部位", "1", "1", "100.0%"],
        ["电梯", "2", "1", "50.0%"],
    ]
    assert table(page, "satisfaction-month") == [["2025年10月", "3", "2", "66.7%"]]
    points = [["2025-10", "52", "0"], ["2025-11", "0", "20"]]
    assert table(page, "points-month") == points
    assert download(client, "points-month") == [
        ["月份（month）", "发放积分（awarded）", "兑换积分（redeemed）"],
        *points,
    ]
    assert download(client, "satisfaction-community")[1] == ["望江社区", "wj", "1", "1", "100.0%"]
    # one community chosen by an operator
    fl = client.get(f"/console/stats?{PERIOD}&community=fl").text
    assert table(fl, "on-time-community") == [["枫林社区", "5", "1", "20.0%"]]
    assert "统计 · 枫林社区" in fl and "只统计您所在社区的数字" not in fl


def test_community_staff_see_only_their_community_whatever_the_query_says(world, app):  # noqa: F811
    client, _ = login(app, "community_staff")  # 枫林
    page = client.get(f"/console/stats?{PERIOD}&community=wj").text
    assert "统计 · 枫林社区" in page and 'name="community"' not in page and "只统计您所在社区的数字" in page
    assert [r[2:] for r in table(page, "weekly-matter")] == [
        ["1", "2", "0", "3"], ["0", "1", "0", "1"], ["0", "0", "0", "0"], ["0", "1", "0", "1"],
    ]  # fmt: skip
    assert table(page, "satisfaction-community") == [["枫林社区", "2", "1", "50.0%"]]
    assert table(page, "on-time-tier") == [
        ["小事急事 · 立说立办", "4", "1", "25.0%"],
        ["一般诉求 · 协商共办", "1", "0", "0.0%"],
    ]
    assert table(page, "points-month") == [["2025-10", "50", "0"], ["2025-11", "0", "20"]]  # the volunteer's
    assert "望江" not in page
    assert download(client, "satisfaction-community", PERIOD + "&community=wj")[1:] == [
        ["枫林社区", "fl", "2", "1", "50.0%"]
    ]  # the CSV keeps the code for the spreadsheet
    other, _ = login(app, "staff-other")  # 望江
    assert table(other.get(f"/console/stats?{PERIOD}").text, "on-time-community") == [["望江社区", "1", "1", "100.0%"]]


@pytest.mark.parametrize("role", ["grid_member", "department"])
def test_grid_members_and_departments_are_refused(app, role):  # noqa: F811
    client, _ = login(app, role)
    assert client.get("/console/stats").status_code == 403
    assert client.get("/console/stats/weekly-matter.csv").status_code == 403
    assert "统计" not in client.get("/console/tickets").text.split("<main>")[0]  # no link in the navigation


def test_logged_out_goes_to_the_login_page(app):  # noqa: F811
    from fastapi.testclient import TestClient

    for path in ("/console/stats", "/console/stats/points-month.csv"):
        response = TestClient(app).get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/login?next=/console/stats")


def test_no_data_is_said_plainly_and_the_default_period_is_the_last_weeks_and_months(app):  # noqa: F811
    client, _ = login(app, "admin")
    page = client.get("/console/stats")
    assert page.status_code == 200
    assert page.text.count("暂无数据") == 8
    assert '<a href="/console/stats">统计</a>' in page.text
    weeks = download(client, "weekly-matter", "")
    assert len(weeks) == 1 + 12 and all(row[2:] == ["0", "0", "0", "0"] for row in weeks[1:])
    assert len(download(client, "points-month", "")) == 1 + 12
    assert download(client, "on-time-tier", "") == [["响应分级（tier）", "代码（code）", "计入工单（counted）",
                                                      "按时办结（on_time）", "按时率（rate）"]]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=abc", "开始日期请写成 2026-11-01 这样的格式。"),
        ("start=2025-10-06&end=2025-13-40", "结束日期请写成 2026-11-01 这样的格式。"),
        ("start=2025-11-02&end=2025-10-06", "结束日期不能早于开始日期。"),
        ("start=2020-01-01&end=2025-01-01", "时间范围最长两年，请缩短后再查。"),
        ("community=nowhere", "没有这个社区，请从列表里选择。"),
    ],
)
def test_a_bad_filter_gets_a_polite_message(app, query, message):  # noqa: F811
    client, _ = login(app, "admin")
    page = client.get(f"/console/stats?{query}")
    assert page.status_code == 400 and message in page.text and 'name="start"' in page.text
    csv_answer = client.get(f"/console/stats/on-time-tier.csv?{query}")
    assert csv_answer.status_code == 400 and csv_answer.text == message
    assert client.get("/console/stats/nothing.csv").status_code == 404


def test_stored_text_is_escaped_on_the_page_and_defused_in_the_csv(world, app):  # noqa: F811
    with world.begin() as s:
        community = s.scalars(select(Community).filter_by(code="wj")).one()
        community.name = '=HYPERLINK("x")<b>望江</b>'
    client, _ = login(app, "admin")
    page = client.get(f"/console/stats?{PERIOD}").text
    assert "<b>望江</b>" not in page and "&lt;b&gt;望江&lt;/b&gt;" in page
    assert f'<option value="wj" >{"=HYPERLINK(&#34;x&#34;)&lt;b&gt;望江&lt;/b&gt;"}</option>' in page
    rows = download(client, "on-time-community")
    assert rows[1][0] == "'" + '=HYPERLINK("x")<b>望江</b>'  # Excel will not run it


def test_exports_are_audited(world, app):  # noqa: F811
    from backend.models import AuditEntry

    client, _ = login(app, "admin")
    download(client, "points-month")
    with world() as s:
        entry = s.scalars(select(AuditEntry).filter_by(action="stats.export")).one()
        assert entry.target == "points-month"
        assert entry.detail == {"period": "2025-10-06~2025-11-02", "community": "全街道"}
