"""The training data is written as residents write, complete, and kept apart from the held-out split."""

from pathlib import Path

import pytest
import yaml

from backend.categories import CODES
from backend.nlu_data import LONG, near_duplicates, read_examples, similarity
from backend.services.lookups import render_lookups
from backend.settings import PROJECT_ROOT

TRAIN_FILES = sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml"))
HELDOUT_FILES = sorted((PROJECT_ROOT / "tests" / "nlu_heldout").glob("*.yml"))
TRAIN = read_examples(TRAIN_FILES)
HELDOUT = read_examples(HELDOUT_FILES)


def domain_intents() -> set[str]:
    intents: set[str] = set()
    for path in (PROJECT_ROOT / "domain").glob("*.yml"):
        intents.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("intents", []))
    return intents


@pytest.mark.parametrize("code", CODES)
def test_every_category_has_60_examples_a_fifth_of_them_long(code):
    examples = TRAIN.get(code, [])
    assert len(examples) >= 60
    assert sum(len(e) >= LONG for e in examples) >= len(examples) / 5


@pytest.mark.parametrize("intent", sorted(set(TRAIN) | set(HELDOUT)))
def test_no_two_examples_of_an_intent_are_near_duplicates(intent):
    assert near_duplicates(TRAIN.get(intent, []) + HELDOUT.get(intent, [])) == []


@pytest.mark.parametrize("code", CODES)
def test_heldout_split_is_at_least_15_percent_and_never_trained_on(code):
    train, held = TRAIN.get(code, []), HELDOUT.get(code, [])
    assert len(held) >= 0.15 * (len(train) + len(held))
    assert not set(held) & {e for examples in TRAIN.values() for e in examples}


def test_near_duplicate_check_catches_a_noun_swapping_template():
    assert near_duplicates(
        ["枫林苑3号楼的电梯又坏了，请物业尽快派人来修一下", "枫林苑5号楼的电梯又坏了，请物业尽快派人来修一下"]
    )
    assert similarity("电梯又坏了", "楼道灯不亮") < 0.2


def test_every_intent_in_the_data_is_in_the_domain_and_back():
    assert set(TRAIN) == domain_intents()


def test_places_and_numbers_vary_as_residents_write_them():
    requests = [e for code in CODES for e in TRAIN.get(code, [])]
    for form in ("号楼", "栋", "单元"):
        assert sum(form in e for e in requests) >= 10, form
    assert any("三号楼" in e or "三栋" in e for e in requests)
    with_place = sum(any(w in e for w in ("楼", "小区", "路", "街", "苑", "村", "园")) for e in requests)
    assert 0.2 < with_place / len(requests) < 0.9


def test_lookup_tables_are_generated_from_the_registry_not_typed_twice():
    registry = yaml.safe_load((PROJECT_ROOT / "config" / "registry.demo.yml").read_text(encoding="utf-8"))
    committed = (PROJECT_ROOT / "data" / "nlu" / "lookups" / "registry.yml").read_text(encoding="utf-8")
    assert committed == render_lookups(registry), "run: python -m backend registry lookups"


def test_heldout_files_are_outside_the_training_data_folder():
    assert all(Path(p).parent.name == "nlu_heldout" for p in HELDOUT_FILES)
