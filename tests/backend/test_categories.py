import copy
import re
from datetime import datetime, timezone

import pytest
import yaml

from backend.categories import CODES, TABLE_FILE, load_table, parse_table
from backend.errors import InvalidRegistry
from backend.settings import PROJECT_ROOT

TAXONOMY = PROJECT_ROOT.parent / "shared" / "taxonomy.md"


def raw():
    return yaml.safe_load(TABLE_FILE.read_text(encoding="utf-8"))


def test_codes_are_the_taxonomys_verbatim_with_the_same_matter():
    if not TAXONOMY.exists():
        pytest.skip("shared/taxonomy.md is not beside this checkout")
    rows = re.findall(r"^\| `([a-z_]+)` \| (public|shared|private) \|", TAXONOMY.read_text(encoding="utf-8"), re.M)
    assert tuple(code for code, _ in rows) == CODES
    table = load_table()
    assert {code: matter for code, matter in rows} == {c.code: c.matter for c in table.categories.values()}


def test_every_row_has_wording_handler_tier_and_deadline():
    table = load_table()
    for category in table.categories.values():
        assert category.name and category.handler and category.why.endswith("。")
        assert category.deadline_days in (0, 3, 15)


def test_a_renamed_code_is_refused():
    data = raw()
    data["categories"]["roads"] = data["categories"].pop("road")
    with pytest.raises(InvalidRegistry, match="固定"):
        parse_table(data)


def test_admins_may_change_tier_and_deadline():
    data = copy.deepcopy(raw())
    data["categories"]["road"]["tier"] = "immediate"
    data["categories"]["road"]["deadline_days"] = 1
    table = parse_table(data)
    assert table.get("road").tier == "immediate" and table.get("road").deadline_days == 1


def test_an_unknown_tier_is_refused():
    data = raw()
    data["categories"]["road"]["tier"] = "whenever"
    with pytest.raises(InvalidRegistry):
        parse_table(data)


def test_deadline_is_2359_district_time():
    table = load_table()
    filed = datetime(2026, 11, 21, 17, 0, tzinfo=timezone.utc)  # 01:00 on the 22nd in Shanghai
    same_day = table.deadline("elevator", filed)
    assert (same_day.day, same_day.hour, same_day.minute) == (22, 23, 59)
    assert table.deadline("road", filed).day == 25
    assert table.deadline("estate_renewal", filed).month == 12


def test_place_groups_map_each_scope_to_a_category():
    table = load_table()
    assert table.resolve_place("leak", "home") == "home_repair"
    assert table.resolve_place("leak", "estate") == "building_common"
    assert table.resolve_place("leak", "public") == "utility"
    assert table.resolve_place("noise", "public") == "pollution"
