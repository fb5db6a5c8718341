"""Registry edits in the console change routing, and the edits that would misroute are refused.

Against a real database with the demo street: each edit is made over HTTP
as an admin, then the routing the chat uses (:func:`backend.tickets.routing.route`,
:func:`department_for`) is asked where a ticket would go now.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.models import AuditEntry, Estate, GridMember
from backend.tickets.routing import department_for, route
from tests.console_client import console_app, login


@pytest.fixture()
def app(settings, registry):
    with console_app(settings, registry) as app:
        yield app


def admin(app):
    return login(app, "admin")


def grid_of(registry, text, **entities):
    with registry() as s:
        where = route(session=s, place_text=text, entities=entities)
        return where.grid.code if where.grid else None


def audit_of(registry, action):
    with registry() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def test_moving_a_building_changes_who_gets_its_tickets(app, registry):
    assert grid_of(registry, "枫林苑3号楼", building=3) == "fl-01"
    client, csrf = admin(app)
    page = client.post(
        "/console/registry/building", data={"csrf": csrf, "estate": "fly", "number": "3", "grid": "fl-02"}
    )
    assert "枫林苑3号楼 改由 枫林社区第二网格 负责" in page.text
    assert grid_of(registry, "枫林苑3号楼", building=3) == "fl-02"
    entry = audit_of(registry, "registry.building")[-1]
    assert entry.target == "fly#3" and entry.detail == {"before": "fl-01", "after": "fl-02"}


def test_a_building_cannot_leave_its_estates_community(app, registry):
    client, csrf = admin(app)
    page = client.post(
        "/console/registry/building", data={"csrf": csrf, "estate": "fly", "number": "3", "grid": "wj-01"}
    )
    assert "楼栋只能划给本社区的网格" in page.text
    assert grid_of(registry, "枫林苑3号楼", building=3) == "fl-01"
    assert audit_of(registry, "registry.building")[-1].outcome == "failed"
    bad = client.post(
        "/console/registry/building", data={"csrf": csrf, "estate": "fly", "number": "三", "grid": "fl-02"}
    )
    assert "楼号要填数字" in bad.text


def test_a_new_alias_is_understood_and_an_alias_never_names_two_places(app, registry):
    client, csrf = admin(app)
    assert grid_of(registry, "学府大街路灯") is None or grid_of(registry, "学府大街路灯") == "fl-02"
    page = client.post(
        "/console/registry/aliases",
        data={"csrf": csrf, "kind": "estate", "code": "hyxc", "aliases": "和园小区，和苑新村 老和园"},
    )
    assert "和园新村的别名改为：和园小区、和苑新村、老和园" in page.text
    assert grid_of(registry, "老和园5号楼", building=5) == "fl-03"

    clash = client.post(
        "/console/registry/aliases", data={"csrf": csrf, "kind": "estate", "code": "jxhy", "aliases": "枫林园"}
    )
    assert "已经是枫林苑的名字或别名" in clash.text
    with registry() as s:
        assert "枫林园" not in s.scalars(select(Estate).filter_by(code="jxhy")).one().aliases
    digits = client.post(
        "/console/registry/aliases", data={"csrf": csrf, "kind": "place", "code": "rd-xuefu", "aliases": "12345"}
    )
    assert "只有数字" in digits.text


def test_stored_aliases_are_shown_escaped(app, registry):
    client, csrf = admin(app)
    page = client.post(
        "/console/registry/aliases", data={"csrf": csrf, "kind": "place", "code": "rd-heyuan", "aliases": "<b>和园</b>"}
    )
    assert "<b>和园</b>" not in page.text and "&lt;b&gt;和园&lt;/b&gt;" in page.text


def test_a_public_category_has_exactly_one_department(app, registry):
    client, csrf = admin(app)
    taken = client.post(
        "/console/registry/department",
        data={"csrf": csrf, "department": "utilities", "categories": ["utility", "streetlight"]},
    )
    assert "路灯" in taken.text and "现在由区城市管理局负责" in taken.text
    private = client.post(
        "/console/registry/department",
        data={"csrf": csrf, "department": "utilities", "categories": ["neighbor_dispute"]},
    )
    assert "不归职能部门" in private.text
    client.post(
        "/console/registry/department",
        data={"csrf": csrf, "department": "city-mgmt", "categories": ["road", "street_sanitation", "street_order"]},
    )
    moved = client.post(
        "/console/registry/department",
        data={"csrf": csrf, "department": "utilities", "categories": ["utility", "streetlight"]},
    )
    assert "区水务和能源保障中心负责" in moved.text
    with registry() as s:
        assert department_for(session=s, category="streetlight").code == "utilities"


def test_a_grid_member_moves_only_when_their_grid_keeps_someone(app, registry):
    client, csrf = admin(app)
    alone = client.post("/console/registry/member", data={"csrf": csrf, "member": "gm-fl-02", "grid": "fl-01"})
    assert "只有陈建国一位网格员" in alone.text
    with registry.begin() as s:
        grid = s.scalars(select(GridMember).filter_by(code="gm-fl-02")).one().grid
        s.add(GridMember(grid_id=grid.id, code="gm-fl-02b", name="周敏", phone="13800000199"))
    moved = client.post("/console/registry/member", data={"csrf": csrf, "member": "gm-fl-02", "grid": "fl-01"})
    assert "网格员陈建国调到枫林社区第一网格" in moved.text


@pytest.mark.parametrize("role", ["operator", "community_staff"])
def test_only_admins_change_routing(app, registry, role):
    client, csrf = login(app, role)
    page = client.get("/console")
    assert page.status_code == 200 and "修改楼栋" not in page.text and "诉求类别" in page.text
    for edit, data in {
        "building": {"estate": "fly", "number": "3", "grid": "fl-02"},
        "department": {"department": "utilities", "categories": ["utility"]},
        "member": {"member": "gm-fl-01", "grid": "fl-02"},
    }.items():
        assert client.post(f"/console/registry/{edit}", data={"csrf": csrf, **data}).status_code == 403
    assert grid_of(registry, "枫林苑3号楼", building=3) == "fl-01"


def test_a_registry_edit_without_the_csrf_token_is_refused(app, registry):
    client, _ = admin(app)
    response = client.post("/console/registry/building", data={"estate": "fly", "number": "3", "grid": "fl-02"})
    assert response.status_code == 403
    assert grid_of(registry, "枫林苑3号楼", building=3) == "fl-01"
