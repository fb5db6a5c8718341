"""The console's points pages and the staff's points API over HTTP, against a real database.

Ledger numbers come from the ledger; adjustments need a reason and never
take a balance below zero; volunteer logs pay once per log id and stop at
the monthly cap; stock never goes below zero; every page and API route is
tried with every role; community staff see only their community; the API
answers 401/403 in JSON and wants the CSRF header on every write.
"""

from __future__ import annotations

import uuid

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.models import AuditEntry, CatalogueItem, Community, Resident
from backend.points import earning, ledger, statement
from backend.points.config import import_points_config
from backend.points.ranking import this_month
from backend.services.residents import import_demo_residents
from backend.settings import PROJECT_ROOT
from tests.backend.test_console import ACCOUNTS, NOW, app, login  # noqa: F401 - the shared console fixture

ROLES = [*ACCOUNTS, "staff-other"]  # staff-other: community staff of wj
# Demo residents (config/residents.demo.yml): R0001 周大爷 and R0002 吴阿姨 in fl, R0003 郑先生 in wj.
FL, WJ = "R0001", "R0003"


@pytest.fixture()
def points(app, registry):  # noqa: F811 - the fixture imported above
    data = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
    residents = yaml.safe_load((PROJECT_ROOT / "config" / "residents.demo.yml").read_text(encoding="utf-8"))
    with registry.begin() as s:
        import_points_config(session=s, data=data)
        import_demo_residents(session=s, data=residents)
    return app


def as_role(web, role):
    """A logged-in client and its session's CSRF token (from the API, which every role may ask)."""
    client, response = login(web, role)
    assert response.status_code == 303
    return client, client.get("/api/console/points/csrf").json()["csrf_token"]


def resident(s, code):
    return s.scalars(select(Resident).filter_by(code=code)).one()


def entries(registry, code):
    with registry() as s:
        return [
            (e.amount, e.reason, e.actor) for e in statement.history(session=s, resident=resident(s, code), limit=500)
        ]


def balance(registry, code):
    with registry() as s:
        return ledger.balance(session=s, resident=resident(s, code))


def volunteer_hours(registry, code, hours, member="gm-fl-01"):
    with registry.begin() as s:
        earning.log_volunteer(
            session=s, member_code=member, reference=code, hours=hours, log_id=uuid.uuid4().hex, now=NOW
        )


def stock_of(registry, community, item):
    with registry() as s:
        place = s.scalars(select(Community.id).filter_by(code=community)).one()
        return s.scalars(select(CatalogueItem.stock).filter_by(community_id=place, code=item)).one()


def audits(registry, action, outcome="ok"):
    with registry() as s:
        return [e.detail for e in s.scalars(select(AuditEntry).filter_by(action=action, outcome=outcome))]


# --- the ledger page ---------------------------------------------------------------------------


def test_the_ledger_page_shows_the_ledgers_balance_and_entries_with_the_phone_masked(points, registry):
    volunteer_hours(registry, FL, 3)
    with registry.begin() as s:
        ledger.adjust(session=s, resident=resident(s, FL), amount=-4, reason="重复计分", actor="admin:t", ref="t-1",
                      now=NOW)  # fmt: skip
    client, csrf = as_role(points, "admin")
    found = client.post("/console/points/lookup", data={"csrf": csrf, "q": "13900000001"}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/console/points/residents/{FL}"
    page = client.get(found.headers["location"]).text
    assert balance(registry, FL) == 11
    assert "<strong>11</strong> 分" in page
    assert "+15" in page and "-4" in page
    assert "志愿服务（每小时）" in page and "人工调整：重复计分" in page and "grid_member:gm-fl-01" in page
    assert "139****0001" in page and "13900000001" not in page
    assert audits(registry, "points.lookup")[0] == {}


def test_a_lookup_that_finds_nobody_says_so(points):
    client, csrf = as_role(points, "admin")
    missing = client.post("/console/points/lookup", data={"csrf": csrf, "q": "R9Z9Z9Z"})
    assert missing.status_code == 404 and "没有找到这位居民" in missing.text


# --- adjustments -------------------------------------------------------------------------------


def test_an_adjustment_goes_through_the_ledger_once_and_is_audited(points, registry):
    client, csrf = as_role(points, "admin")
    form = {"csrf": csrf, "amount": "20", "reason": "补记上月巡逻", "ref": uuid.uuid4().hex}
    done = client.post(f"/console/points/residents/{FL}/adjust", data=form)
    assert done.status_code == 200 and "已调整 +20 分" in done.text
    again = client.post(f"/console/points/residents/{FL}/adjust", data=form)  # the same form sent twice
    assert again.status_code == 200
    assert entries(registry, FL) == [(20, "人工调整：补记上月巡逻", "console:admin")]
    assert [d["amount"] for d in audits(registry, "points.adjust")] == [20, 20]


def test_an_adjustment_without_a_reason_is_refused(points, registry):
    client, csrf = as_role(points, "admin")
    refused = client.post(
        f"/console/points/residents/{FL}/adjust",
        data={"csrf": csrf, "amount": "5", "reason": "   ", "ref": uuid.uuid4().hex},
    )
    assert refused.status_code == 400 and "必须写明原因" in refused.text
    assert entries(registry, FL) == []
    assert len(audits(registry, "points.adjust", "failed")) == 1


def test_a_deduction_below_zero_is_refused_politely_and_changes_nothing(points, registry):
    volunteer_hours(registry, FL, 2)
    before = entries(registry, FL)
    client, csrf = as_role(points, "admin")
    refused = client.post(
        f"/console/points/residents/{FL}/adjust",
        data={"csrf": csrf, "amount": "-50", "reason": "兑换未登记", "ref": uuid.uuid4().hex},
    )
    assert refused.status_code == 400
    assert "不能扣减 50 分：这位居民现在只有 10 分，积分不能扣成负数" in refused.text
    assert 'value="兑换未登记"' in refused.text  # the form keeps what was typed
    assert entries(registry, FL) == before and balance(registry, FL) == 10


def test_a_hostile_reason_is_stored_intact_and_shown_escaped(points, registry):
    reason = "<script>alert('x')</script> 😀👍 ' OR 1=1; DROP TABLE points_entries; -- " + "长" * 900
    client, csrf = as_role(points, "admin")
    done = client.post(
        f"/console/points/residents/{FL}/adjust",
        data={"csrf": csrf, "amount": "1", "reason": reason, "ref": uuid.uuid4().hex},
    )
    assert done.status_code == 200
    assert entries(registry, FL)[0][1] == "人工调整：" + reason.strip()
    assert "<script>alert" not in done.text and "&lt;script&gt;alert(&#39;x&#39;)" in done.text and "😀👍" in done.text
    too_long = client.post(
        f"/console/points/residents/{FL}/adjust",
        data={"csrf": csrf, "amount": "1", "reason": "长" * 1001, "ref": uuid.uuid4().hex},
    )
    assert too_long.status_code == 400 and "1000 字以内" in too_long.text
    assert len(entries(registry, FL)) == 1


# --- volunteer hours ---------------------------------------------------------------------------


def test_a_grid_member_logs_volunteer_hours_once_per_log_id(points, registry):
    client, csrf = as_role(points, "grid_member")
    form = {"csrf": csrf, "resident": "13900000002", "hours": "2", "activity": "小区清扫", "log_id": uuid.uuid4().hex}
    first = client.post("/console/points/volunteer", data=form)
    assert first.status_code == 200 and "已记分：+10 分" in first.text
    second = client.post("/console/points/volunteer", data=form)
    assert "已经记过了" in second.text and "没有重复计分" in second.text
    [(amount, reason, actor)] = entries(registry, "R0002")
    assert (amount, actor) == (10, "grid_member:gm-fl-01") and "小区清扫" in reason
    assert [d["duplicate"] for d in audits(registry, "points.volunteer")] == [False, True]


def test_the_monthly_cap_cuts_an_award_and_then_refuses(points, registry):
    client, csrf = as_role(points, "community_staff")

    def log(hours):
        return client.post(
            "/console/points/volunteer",
            data={"csrf": csrf, "resident": FL, "hours": str(hours), "member": "gm-fl-02", "log_id": uuid.uuid4().hex},
        )

    assert "已记分：+50 分" in log(10).text
    capped = log(4)
    assert "已记分：+10 分" in capped.text and "已到上限" in capped.text
    full = log(1)
    assert full.status_code == 400 and "已达上限 60 分" in full.text
    assert [e[0] for e in entries(registry, FL)] == [10, 50]


def test_volunteer_logs_stay_inside_the_accounts_community(points, registry):
    member, csrf = as_role(points, "grid_member")  # gm-fl-01, community fl
    other = member.post(
        "/console/points/volunteer", data={"csrf": csrf, "resident": WJ, "hours": "1", "log_id": uuid.uuid4().hex}
    )
    assert other.status_code == 400 and "没有找到这位居民" in other.text
    staff, csrf = as_role(points, "community_staff")
    foreign_member = staff.post(
        "/console/points/volunteer",
        data={"csrf": csrf, "resident": FL, "hours": "1", "member": "gm-wj-01", "log_id": uuid.uuid4().hex},
    )
    assert foreign_member.status_code == 400 and "请选择记录这次志愿服务的网格员" in foreign_member.text
    assert entries(registry, WJ) == [] and entries(registry, FL) == []


# --- the 爱心超市 ------------------------------------------------------------------------------


def test_stock_is_set_never_negative_and_only_in_ones_own_community(points, registry):
    staff, csrf = as_role(points, "community_staff")
    page = staff.get("/console/points/catalogue").text
    assert "洗衣皂" in page and "枫林" in page
    done = staff.post("/console/points/catalogue/soap/stock", data={"csrf": csrf, "community": "fl", "stock": "7"})
    assert done.status_code == 200 and "库存已改为 7" in done.text
    negative = staff.post("/console/points/catalogue/soap/stock", data={"csrf": csrf, "community": "fl", "stock": "-1"})
    assert negative.status_code == 400 and "库存不能小于 0" in negative.text
    assert stock_of(registry, "fl", "soap") == 7
    before = stock_of(registry, "wj", "soap")
    foreign = staff.post("/console/points/catalogue/soap/stock", data={"csrf": csrf, "community": "wj", "stock": "1"})
    assert foreign.status_code == 404
    assert staff.get("/console/points/catalogue?community=wj").status_code == 404
    assert stock_of(registry, "wj", "soap") == before
    assert audits(registry, "points.stock") == [{"stock": 7}]


def test_an_item_is_added_once(points, registry):
    admin, csrf = as_role(points, "admin")
    form = {"csrf": csrf, "community": "wj", "code": "umbrella", "name": "雨伞", "cost": "45", "stock": "3"}
    done = admin.post("/console/points/catalogue", data=form)
    assert done.status_code == 200 and "已上架 雨伞" in done.text
    assert stock_of(registry, "wj", "umbrella") == 3
    again = admin.post("/console/points/catalogue", data=form)
    assert again.status_code == 400 and "已经有编号为 umbrella 的物品" in again.text


# --- the monthly ranking -----------------------------------------------------------------------


def test_the_ranking_csv_has_masked_names_and_a_bom(points, registry):
    volunteer_hours(registry, FL, 3)
    volunteer_hours(registry, "R0002", 1)
    admin, _ = as_role(points, "admin")
    month = this_month(NOW)
    page = admin.get(f"/console/points/ranking?community=fl&month={month}").text
    assert "周**" in page and "周大爷" not in page
    csv = admin.get(f"/console/points/ranking.csv?community=fl&month={month}")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines == ["名次,居民,本月积分,称号", "1,周**,15,本月积分之星", "2,吴**,5,本月积分之星"]
    assert audits(registry, "points.ranking_export") == [{"rows": 2}]
    other, _ = as_role(points, "staff-other")
    assert other.get("/console/points/ranking.csv?community=fl").status_code == 404
    assert admin.get("/console/points/ranking?month=2026-13").status_code == 400


# --- who may do what ---------------------------------------------------------------------------

VIEW = {"admin", "community_staff", "staff-other"}
VOLUNTEER = {"admin", "community_staff", "staff-other", "grid_member"}
PAGES = {
    "/console/points": VOLUNTEER,
    f"/console/points/residents/{FL}": VIEW,
    "/console/points/catalogue": VIEW,
    "/console/points/ranking": VIEW,
    "/console/points/ranking.csv": VIEW,
}


@pytest.mark.parametrize("role", ROLES)
def test_every_points_page_and_form_admits_only_the_roles_that_may_use_it(points, registry, role):
    client, csrf = as_role(points, role)
    for path, roles in PAGES.items():
        expected = 200 if role in roles else 403
        if role == "staff-other" and path.endswith(FL):
            expected = 404  # another community's resident: like a missing one
        assert client.get(path).status_code == expected, (path, role)
    posts = {
        "/console/points/lookup": ({"q": FL}, VIEW),
        f"/console/points/residents/{FL}/adjust": ({"amount": "1", "reason": "试", "ref": uuid.uuid4().hex}, {"admin"}),
        "/console/points/volunteer": ({"resident": FL, "hours": "1", "log_id": uuid.uuid4().hex}, VOLUNTEER),
        "/console/points/catalogue/soap/stock": ({"stock": "9"}, VIEW),
        "/console/points/catalogue": ({"code": f"x-{role.replace('_', '-')}", "name": "试", "cost": "5"}, VIEW),
        "/console/points/catalogue/towel/retire": ({}, VIEW),
        "/console/points/catalogue/towel/restore": ({}, VIEW),
    }
    for path, (data, roles) in posts.items():
        status = client.post(path, data={"csrf": csrf, **data}).status_code
        assert (status == 403) == (role not in roles), (path, role, status)
    assert bool(audits(registry, "points.view", "refused")) == (role not in VIEW)  # refusals are audited


API = [
    ("get", f"/api/console/points/residents/{FL}", None, VIEW),
    ("post", f"/api/console/points/residents/{FL}/adjustments", {"amount": 1, "reason": "试"}, {"admin"}),
    ("post", "/api/console/points/volunteer", {"resident": FL, "hours": 1, "member": "gm-fl-01"}, VOLUNTEER),
    ("get", "/api/console/points/catalogue", None, VIEW),
    ("post", "/api/console/points/catalogue", {"code": "api-item", "name": "试", "cost": 5}, VIEW),
    ("put", "/api/console/points/catalogue/soap/stock", {"stock": 9}, VIEW),
    ("post", "/api/console/points/catalogue/towel/retire", None, VIEW),
    ("post", "/api/console/points/catalogue/towel/restore", None, VIEW),
    ("get", "/api/console/points/ranking", None, VIEW),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_admits_only_the_roles_that_may_use_it(points, role):
    client, csrf = as_role(points, role)
    for method, path, body, roles in API:
        response = client.request(method, path, json=body, headers={"X-CSRF-Token": csrf})
        if role not in roles:
            assert response.status_code == 403, (path, role)
            assert "不能使用这个功能" in response.json()["detail"]
        elif role == "staff-other" and FL in path + str(body):
            assert response.status_code == 404, (path, role)  # fl's resident or member: like a missing one
        else:
            assert response.status_code in (200, 201), (path, role, response.text)


def test_the_api_wants_a_login_and_the_csrf_header_on_writes(points, registry):
    anonymous = TestClient(points)
    for method, path, body, _ in API:
        response = anonymous.request(method, path, json=body)
        assert response.status_code == 401 and response.json() == {"detail": "请先登录工作台。"}, path
    admin, csrf = as_role(points, "admin")
    body = {"amount": 5, "reason": "试"}
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        refused = admin.post(f"/api/console/points/residents/{FL}/adjustments", json=body, headers=headers)
        assert refused.status_code == 403 and "刷新页面" in refused.json()["detail"]
    assert entries(registry, FL) == [] and len(audits(registry, "csrf", "refused")) == 2
    done = admin.post(f"/api/console/points/residents/{FL}/adjustments", json=body, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201 and done.json() == {"amount": 5, "reason": "人工调整：试", "balance": 5}


def test_the_api_refuses_what_the_ledger_refuses(points, registry):
    admin, csrf = as_role(points, "admin")
    headers = {"X-CSRF-Token": csrf}
    url = f"/api/console/points/residents/{FL}/adjustments"
    below = admin.post(url, json={"amount": -1, "reason": "扣分"}, headers=headers)
    assert below.status_code == 409 and "积分不能扣成负数" in below.json()["detail"]
    no_reason = admin.post(url, json={"amount": 1, "reason": ""}, headers=headers)
    assert no_reason.status_code == 400 and "必须写明原因" in no_reason.json()["detail"]
    log = {"resident": FL, "hours": 12, "member": "gm-fl-01", "log_id": "api-log-0001"}
    assert admin.post("/api/console/points/volunteer", json=log, headers=headers).json()["amount"] == 60
    repeat = admin.post("/api/console/points/volunteer", json=log, headers=headers).json()
    assert repeat["duplicate"] is True and repeat["amount"] == 60
    capped = admin.post("/api/console/points/volunteer", json={**log, "log_id": "api-log-0002"}, headers=headers)
    assert capped.status_code == 409 and "已达上限" in capped.json()["detail"]
    stock = admin.put("/api/console/points/catalogue/soap/stock?community=wj", json={"stock": -1}, headers=headers)
    assert stock.status_code == 422
    ledger_json = admin.get(f"/api/console/points/residents/{FL}").json()
    assert ledger_json["balance"] == 60 and ledger_json["phone"] == "139****0001"
    assert [e["amount"] for e in ledger_json["entries"]] == [60]
    assert ledger_json["entries"][0]["rule"] == "志愿服务（每小时）"
    assert entries(registry, FL) == [(60, ledger_json["entries"][0]["reason"], "grid_member:gm-fl-01")]


def test_community_staff_see_only_their_communitys_residents(points, registry):
    volunteer_hours(registry, WJ, 1, member="gm-wj-01")
    staff, csrf = as_role(points, "community_staff")  # fl
    missing = staff.post("/console/points/lookup", data={"csrf": csrf, "q": "R9Z9Z9Z"})
    foreign = staff.post("/console/points/lookup", data={"csrf": csrf, "q": "13900000003"})
    assert foreign.status_code == missing.status_code == 404 and "没有找到这位居民" in foreign.text
    assert staff.get(f"/console/points/residents/{WJ}").status_code == 404
    assert (
        staff.get(f"/api/console/points/residents/{WJ}").json()
        == staff.get("/api/console/points/residents/R9Z9Z9Z").json()
    )
    other, _ = as_role(points, "staff-other")  # wj
    assert other.get(f"/api/console/points/residents/{WJ}").json()["balance"] == 5


def test_the_api_is_described_in_openapi(points):
    spec = TestClient(points).get("/openapi.json").json()
    assert {"AdjustmentIn", "VolunteerIn", "StockIn", "ItemIn", "LedgerOut", "ShelvingOut"} <= set(
        spec["components"]["schemas"]
    )
    assert "put" in spec["paths"]["/api/console/points/catalogue/{item}/stock"]
    assert "post" in spec["paths"]["/api/console/points/catalogue/{item}/retire"]
