import copy

import pytest
import yaml
from sqlalchemy import func, select

from backend.errors import InvalidRegistry
from backend.models import Building, CatalogueItem, Community, Estate, Grid, GridMember, Place, PointsRule, Street
from backend.points.config import import_points_config
from backend.registry.file_import import import_registry
from backend.settings import PROJECT_ROOT


@pytest.fixture()
def demo():
    return yaml.safe_load((PROJECT_ROOT / "config" / "registry.demo.yml").read_text(encoding="utf-8"))


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_demo_registry_has_the_promised_shape(sessions, demo):
    with sessions.begin() as s:
        import_registry(session=s, data=demo)
    with sessions() as s:
        assert count(s, Street) == 1
        assert count(s, Community) == 2
        assert count(s, Grid) == 6
        assert count(s, GridMember) == 6
        assert count(s, Estate) >= 4
        assert count(s, Building) > 30
        roads = s.scalars(select(Place).where(Place.kind == "road")).all()
        assert len(roads) >= 6
        # every grid has a member, and every building belongs to a grid of its estate's community
        for grid in s.scalars(select(Grid)).all():
            assert grid.members
        for b in s.scalars(select(Building)).all():
            assert b.grid.community_id == b.estate.community_id


def test_import_is_idempotent_and_updates_in_place(sessions, demo):
    with sessions.begin() as s:
        first = import_registry(session=s, data=demo)
    with sessions.begin() as s:
        second = import_registry(session=s, data=demo)
    assert first["created"] > 80 and second["created"] == 0 and second["updated"] == 0

    edited = copy.deepcopy(demo)
    edited["communities"][0]["grids"][0]["member"]["name"] = "王丽华"
    edited["communities"][0]["grids"][0]["buildings"]["fly"].append(11)
    with sessions.begin() as s:
        third = import_registry(session=s, data=edited)
    assert third["created"] == 1 and third["updated"] == 1
    with sessions() as s:
        assert s.scalars(select(GridMember).filter_by(code="gm-fl-01")).one().name == "王丽华"
        assert count(s, GridMember) == 6


def test_building_of_an_unknown_estate_is_refused_and_nothing_is_written(sessions, demo):
    broken = copy.deepcopy(demo)
    broken["communities"][0]["grids"][0]["buildings"] = {"nowhere": [1]}
    with pytest.raises(InvalidRegistry, match="nowhere"):
        with sessions.begin() as s:
            import_registry(session=s, data=broken)
    with sessions() as s:
        assert count(s, Street) == 0


def test_malformed_file_gets_a_chinese_message(sessions):
    with pytest.raises(InvalidRegistry, match="格式"):
        with sessions.begin() as s:
            import_registry(session=s, data={"communities": []})


def test_points_config_keeps_existing_stock(sessions, demo):
    points = yaml.safe_load((PROJECT_ROOT / "config" / "points.yml").read_text(encoding="utf-8"))
    with sessions.begin() as s:
        import_registry(session=s, data=demo)
        import_points_config(session=s, data=points)
    with sessions() as s:
        assert count(s, PointsRule) >= 8
        assert count(s, CatalogueItem) == 2 * len(points["catalogue"])
    with sessions.begin() as s:
        item = s.scalars(select(CatalogueItem)).first()
        item.stock = 3
        item_id = item.id
    with sessions.begin() as s:
        counts = import_points_config(session=s, data=points)
    assert counts["created"] == 0
    with sessions() as s:
        assert s.get(CatalogueItem, item_id).stock == 3
