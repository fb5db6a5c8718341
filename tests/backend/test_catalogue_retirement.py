"""Retiring a 爱心超市 item (下架) and restoring it (恢复上架), against a real database.

A retired item is not offered (the resident's catalogue, finding it by
name or code) and cannot be redeemed — by code, with stock left, or when
the retirement lands while the redemption runs — and a refused redemption
changes nothing. Its past redemptions still read the same in the resident's
history and the console ledger. Staff retire and restore from the console
page, the JSON API and the command line; each is audited, only the roles
that manage the catalogue may do it, and doing it twice changes nothing.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from backend.cli import build_parser
from backend.dates import day
from backend.errors import InvalidInput, NotFound
from backend.models import AuditEntry, CatalogueItem, Community, Resident
from backend.models.ledger import PointsEntry, Redemption
from backend.points import catalogue_work, staff_work, supermarket
from backend.points.config import import_points_config
from backend.points.ledger import adjust, balance
from backend.points.statement import history
from backend.points.supermarket import Retired, catalogue, find_item, redeem
from backend.services.residents import import_demo_residents
from backend.settings import PROJECT_ROOT
from tests.console_client import SCOPES, console_app, login

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
POINTS = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
# Demo residents (config/residents.demo.yml): R0001 周大爷 in fl, R0003 郑先生 in wj.
FL = "R0001"


@pytest.fixture()
def shop(registry):
    """The demo street with its residents and 爱心超市; R0001 has 100 points."""
    residents = yaml.safe_load((PROJECT_ROOT / "config" / "residents.demo.yml").read_text(encoding="utf-8"))
    with registry.begin() as s:
        import_points_config(session=s, data=POINTS)
        import_demo_residents(session=s, data=residents)
        adjust(session=s, resident=resident(s), amount=100, reason="开业赠送", actor="admin:t", ref="gift-1", now=NOW)
    return registry


def resident(s, code=FL):
    return s.scalars(select(Resident).filter_by(code=code)).one()


def item(s, code, community="fl"):
    place = s.scalars(select(Community.id).filter_by(code=community)).one()
    return s.scalars(select(CatalogueItem).filter_by(community_id=place, code=code)).one()


def retire(sessions, code, community="fl", now=NOW):
    with sessions.begin() as s:
        return supermarket.retire(session=s, item=item(s, code, community), now=now)


def state(sessions, code="rice-5kg"):
    """Everything a redemption would change: balance, ledger, stock, redemptions."""
    with sessions() as s:
        return (
            balance(session=s, resident=resident(s)),
            s.scalar(select(func.count(PointsEntry.id))),
            item(s, code).stock,
            s.scalar(select(func.count(Redemption.id))),
        )


def audits(sessions, action, outcome="ok"):
    with sessions() as s:
        return [(e.target, e.detail) for e in s.scalars(select(AuditEntry).filter_by(action=action, outcome=outcome))]


# --- the services ------------------------------------------------------------------------------


def test_a_retired_item_is_not_offered_and_comes_back_when_restored(shop):
    assert retire(shop, "rice-5kg") is True
    assert retire(shop, "rice-5kg", now=NOW + timedelta(days=1)) is False  # twice: nothing changes
    with shop.begin() as s:
        r = resident(s)
        rice = item(s, "rice-5kg")
        assert rice.retired_at == NOW and rice.stock == 30  # the first retirement's time; the stock stays
        assert "rice-5kg" not in [o.code for o in catalogue(session=s, resident=r)]
        assert find_item(session=s, resident=r, text="我想换一袋大米") is None
        assert find_item(session=s, resident=r, text="rice-5kg") is None
        assert item(s, "rice-5kg", "wj").retired_at is None  # another community's shelf is its own
        assert supermarket.restore(session=s, item=rice) is True
        assert supermarket.restore(session=s, item=rice) is False
        assert rice.retired_at is None
        assert find_item(session=s, resident=r, text="我想换一袋大米").code == "rice-5kg"
        offers = catalogue(session=s, resident=r)
        assert [o.code for o in offers if o.affordable] == ["soap", "towel", "eggs", "haircut", "rice-5kg", "oil-1l"]


def test_redeeming_a_retired_item_is_refused_politely_and_changes_nothing(shop):
    retire(shop, "rice-5kg")
    before = state(shop)
    assert before == (100, 1, 30, 0)  # points enough, stock left
    with pytest.raises(Retired) as refused, shop.begin() as s:
        redeem(session=s, resident=resident(s), item_code="rice-5kg", now=NOW)
    assert str(refused.value) == (
        "抱歉，大米（5斤）已经下架，社区不再提供了；您的积分没有扣。可以问我“能换什么”看看别的。"
    )
    assert state(shop) == before
    with pytest.raises(Retired), shop.begin() as s:  # R0002 has no points: the answer is still 下架
        redeem(session=s, resident=resident(s, "R0002"), item_code="rice-5kg", now=NOW)
    assert state(shop) == before


def test_a_retirement_that_lands_while_the_redemption_runs_still_refuses_it(shop, monkeypatch):
    """The item was read as offered; the retirement commits before its stock is taken: refused, nothing changes."""
    before = state(shop)
    new_code = supermarket._new_code

    def retired_meanwhile(session):
        session.execute(
            update(CatalogueItem)
            .where(CatalogueItem.code == "rice-5kg")
            .values(retired_at=NOW)
            .execution_options(synchronize_session=False)  # the redemption's copy of the item stays stale
        )
        return new_code(session)

    monkeypatch.setattr(supermarket, "_new_code", retired_meanwhile)
    with pytest.raises(Retired), shop.begin() as s:
        redeem(session=s, resident=resident(s), item_code="rice-5kg", now=NOW)
    assert state(shop) == before


def test_a_redemption_racing_a_retirement_either_finishes_first_or_changes_nothing(shop):
    before = state(shop)
    barrier = threading.Barrier(2)
    outcome: list[str] = []

    def take():
        barrier.wait()
        try:
            with shop.begin() as s:
                redeem(session=s, resident=resident(s), item_code="rice-5kg", now=NOW)
            outcome.append("redeemed")
        except Retired:
            outcome.append("refused")

    def take_off():
        barrier.wait()
        retire(shop, "rice-5kg")

    threads = [threading.Thread(target=take), threading.Thread(target=take_off)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = state(shop)
    if outcome == ["redeemed"]:
        assert after == (40, 2, 29, 1)
    else:
        assert outcome == ["refused"] and after == before
    with shop() as s:
        assert item(s, "rice-5kg").retired_at is not None


def test_past_redemptions_of_a_retired_item_still_read_the_same(shop):
    with shop.begin() as s:
        code = redeem(session=s, resident=resident(s), item_code="towel", now=NOW).code
    retire(shop, "towel")
    with shop() as s:
        r = resident(s)
        line = f"爱心超市兑换 毛巾（兑换码 {code}）"
        latest = history(session=s, resident=r, limit=1)
        assert [(e.amount, e.reason) for e in latest] == [(-30, line)]
        ledger = staff_work.ledger_of(session=s, resident=r)
        assert (ledger.balance, ledger.lines[0].amount, ledger.lines[0].reason) == (70, -30, line)
        assert ledger.lines[0].source == "爱心超市兑换"
        redemption = s.scalars(select(Redemption).filter_by(code=code)).one()
        assert s.get(CatalogueItem, redemption.item_id).name == "毛巾"


def test_importing_the_points_config_again_keeps_a_retired_item_retired(shop):
    retire(shop, "soap")
    with shop.begin() as s:
        import_points_config(session=s, data=POINTS)
    with shop() as s:
        assert item(s, "soap").retired_at == NOW


def test_an_item_code_in_use_by_a_retired_item_points_to_restoring_it(shop):
    retire(shop, "soap")
    with shop.begin() as s:
        fl = s.scalars(select(Community).filter_by(code="fl")).one()
        with pytest.raises(InvalidInput, match="已经有编号为 soap 的物品了（已下架，可以恢复上架）"):
            catalogue_work.add_item(session=s, community=fl, code="soap", name="肥皂", cost=5, stock=1)


# --- the console and the staff API --------------------------------------------------------------


@pytest.fixture()
def app(settings, shop):
    with console_app(settings, shop) as app:
        yield app


def test_staff_retire_and_restore_from_the_catalogue_page_audited_and_idempotent(app, shop):
    client, csrf = login(app, "community_staff")  # fl
    page = client.get("/console/points/catalogue").text
    assert 'action="/console/points/catalogue/soap/retire"' in page and "已下架" not in page
    form = {"csrf": csrf, "community": "fl"}
    done = client.post("/console/points/catalogue/soap/retire", data=form)
    assert done.status_code == 200 and "已下架 洗衣皂：居民看不到也不能再兑换它" in done.text
    assert 'action="/console/points/catalogue/soap/restore"' in done.text
    assert 'action="/console/points/catalogue/soap/retire"' not in done.text
    with shop() as s:
        assert "洗衣皂（已下架）" in done.text and f"<td>{day(item(s, 'soap').retired_at)}</td>" in done.text
    again = client.post("/console/points/catalogue/soap/retire", data=form)
    assert again.status_code == 200 and "洗衣皂已经是下架状态，没有改动" in again.text
    with shop() as s:
        assert item(s, "soap").retired_at is not None and item(s, "soap").stock == 50
    back = client.post("/console/points/catalogue/soap/restore", data=form)
    assert back.status_code == 200 and "已恢复上架 洗衣皂（库存 50）" in back.text
    assert "洗衣皂本来就在架上" in client.post("/console/points/catalogue/soap/restore", data=form).text
    with shop() as s:
        assert item(s, "soap").retired_at is None
    assert audits(shop, "points.item_retire") == [("fl/soap", {"changed": True}), ("fl/soap", {"changed": False})]
    assert audits(shop, "points.item_restore") == [("fl/soap", {"changed": True}), ("fl/soap", {"changed": False})]


def test_retiring_is_refused_outside_ones_community_for_a_missing_item_and_without_the_token(app, shop):
    client, csrf = login(app, "community_staff")  # fl
    foreign = client.post("/console/points/catalogue/soap/retire", data={"csrf": csrf, "community": "wj"})
    assert foreign.status_code == 404
    missing = client.post("/console/points/catalogue/caviar/retire", data={"csrf": csrf, "community": "fl"})
    assert missing.status_code == 400 and "没有这件物品" in missing.text
    forged = client.post("/console/points/catalogue/soap/retire", data={"csrf": "forged", "community": "fl"})
    assert forged.status_code == 403
    with shop() as s:
        assert item(s, "soap", "wj").retired_at is None and item(s, "soap").retired_at is None
    assert audits(shop, "points.item_retire", "failed") == [("fl/caviar", {"why": "这个社区的爱心超市没有这件物品。"})]
    assert audits(shop, "points.item_retire") == []


@pytest.mark.parametrize("role", list(SCOPES))
def test_only_the_roles_that_manage_the_catalogue_may_retire_or_restore(app, shop, role):
    client, csrf = login(app, role)
    may = role in {"admin", "community_staff"}
    for action in ("retire", "restore"):
        page = client.post(f"/console/points/catalogue/towel/{action}", data={"csrf": csrf, "community": "fl"})
        api = client.post(f"/api/console/points/catalogue/towel/{action}?community=fl", headers={"X-CSRF-Token": csrf})
        assert (page.status_code, api.status_code) == ((200, 200) if may else (403, 403)), (role, action)
    assert len(audits(shop, "points.catalogue", "refused")) == (0 if may else 4)
    assert len(audits(shop, "points.item_retire")) == (2 if may else 0)


def test_the_api_retires_and_restores_and_shows_which_items_are_retired(app, shop):
    client, csrf = login(app, "admin")
    headers = {"X-CSRF-Token": csrf}
    no_token = client.post("/api/console/points/catalogue/eggs/retire?community=wj")
    assert no_token.status_code == 403
    done = client.post("/api/console/points/catalogue/eggs/retire?community=wj", headers=headers)
    assert done.status_code == 200
    body = done.json()
    assert body["changed"] is True and body["item"]["retired"] is True and body["item"]["retired_at"]
    assert body["message"].startswith("已下架 鸡蛋（一盒）")
    again = client.post("/api/console/points/catalogue/eggs/retire?community=wj", headers=headers).json()
    assert again["changed"] is False and again["item"]["retired_at"] == body["item"]["retired_at"]
    listed = {i["code"]: i for i in client.get("/api/console/points/catalogue?community=wj").json()["items"]}
    assert listed["eggs"]["retired"] is True and listed["soap"] == {
        "code": "soap", "name": "洗衣皂", "cost": 20, "stock": 50, "retired": False, "retired_at": None,
    }  # fmt: skip
    missing = client.post("/api/console/points/catalogue/caviar/retire?community=wj", headers=headers)
    assert missing.status_code == 404 and "没有这件物品" in missing.json()["detail"]
    back = client.post("/api/console/points/catalogue/eggs/restore?community=wj", headers=headers).json()
    assert back["changed"] is True and back["item"]["retired"] is False and back["item"]["retired_at"] is None
    assert [d for _, d in audits(shop, "points.item_retire")] == [
        {"changed": True, "via": "api"},
        {"changed": False, "via": "api"},
    ]
    spec = TestClient(app).get("/openapi.json").json()
    assert "ShelvingOut" in spec["components"]["schemas"]
    assert {"/api/console/points/catalogue/{item}/retire", "/api/console/points/catalogue/{item}/restore"} <= set(
        spec["paths"]
    )


def test_the_console_ledger_still_shows_a_retired_items_redemption(app, shop):
    with shop.begin() as s:
        code = redeem(session=s, resident=resident(s), item_code="towel", now=NOW).code
    client, csrf = login(app, "admin")
    assert client.post("/console/points/catalogue/towel/retire", data={"csrf": csrf, "community": "fl"}).is_success
    page = client.get(f"/console/points/residents/{FL}").text
    assert f"爱心超市兑换 毛巾（兑换码 {code}）" in page and "<strong>70</strong> 分" in page


# --- the command line -------------------------------------------------------------------------


def command(*args):
    """Run ``python -m backend points …`` in this process (its command function, as ``main`` calls it)."""
    parsed = build_parser().parse_args(["points", *args])
    return parsed.func(parsed)


def test_the_command_line_retires_and_restores_with_an_audit_entry(shop, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert command("retire", "--community", "fl", "--item", "haircut", "--by", "张") == 0
    assert "已下架 义剪理发券" in capsys.readouterr().out
    assert command("retire", "--community", "fl", "--item", "haircut", "--by", "张") == 0
    assert "已经是下架状态，没有改动" in capsys.readouterr().out
    assert command("stock", "--community", "fl") == 0
    assert "haircut\t义剪理发券\t40 分\t库存 15\t已下架" in capsys.readouterr().out
    with shop() as s:
        assert find_item(session=s, resident=resident(s), text="理发") is None
        entries = s.scalars(select(AuditEntry).filter_by(action="points.item_retire")).all()
        assert [(e.username, e.account_id, e.target, e.detail) for e in entries] == [
            ("cli:张", None, "fl/haircut", {"changed": True, "via": "cli"}),
            ("cli:张", None, "fl/haircut", {"changed": False, "via": "cli"}),
        ]
    assert command("restore", "--community", "fl", "--item", "haircut", "--by", "张") == 0
    assert "已恢复上架 义剪理发券（库存 15）" in capsys.readouterr().out
    with pytest.raises(NotFound, match="没有这件物品"):
        command("retire", "--community", "fl", "--item", "caviar", "--by", "张")
    with shop() as s:
        assert item(s, "haircut").retired_at is None
