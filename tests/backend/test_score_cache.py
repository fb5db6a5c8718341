"""Figures kept by what they were measured from: read back only when model, inputs and code are all the same."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from backend.evaluation import HELDOUT_DIR
from backend.realdev import FILE_NAME
from backend.training import score_cache, scoring, stories

FIGURES = {"category_macro_f1": 0.97, "stories_passed": 36.0, "stories_failed": {"一个故事": ["动作 a 预测成了 b"]}}


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A small project tree: code in each of the folders the digest reads."""
    root = tmp_path / "project"
    for folder in score_cache.CODE_FOLDERS:
        (root / folder).mkdir(parents=True)
        (root / folder / "one.py").write_text(f"# {folder}\n", encoding="utf-8")
    return root


def test_the_digest_changes_with_the_model_each_input_and_the_code(tmp_path, project):
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"model one")
    inputs = [tmp_path / "heldout.yml", tmp_path / "stories.yml"]
    for path in inputs:
        path.write_text("原来的\n", encoding="utf-8")
    first = score_cache.key(model, inputs=inputs, root=project)
    assert score_cache.key(model, inputs=inputs, root=project) == first  # stable

    changes = [
        lambda: model.write_bytes(b"model two"),
        lambda: inputs[1].write_text("改过的\n", encoding="utf-8"),
        lambda: (project / "backend" / "one.py").write_text("# changed\n", encoding="utf-8"),
        lambda: (project / "config" / "taxonomy.yml").write_text("new: file\n", encoding="utf-8"),
        lambda: inputs[0].unlink(),  # an input that went away is not an empty one
    ]
    seen = {first}
    for change in changes:
        change()
        digest = score_cache.key(model, inputs=inputs, root=project)
        assert digest not in seen
        seen.add(digest)


def test_switching_a_patch_off_is_another_measurement(tmp_path, project):
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"model")
    on = score_cache.key(model, inputs=[], root=project)
    assert score_cache.key(model, inputs=[], patches_off="all", root=project) != on


def test_kept_figures_read_back_whole_and_an_unreadable_file_is_measured_again(tmp_path):
    cache = tmp_path / "scores"
    assert score_cache.read(cache, "abc") is None
    score_cache.write(cache, "abc", FIGURES)
    assert score_cache.read(cache, "abc") == FIGURES
    assert [p.name for p in cache.iterdir()] == ["abc.json"]  # no partial file left behind
    (cache / "abc.json").write_text("{not json", encoding="utf-8")
    assert score_cache.read(cache, "abc") is None


def test_measure_reads_figures_kept_for_the_same_model_and_inputs_without_loading_it(tmp_path):
    """A file that is no model at all: measuring it would fail, so the figures can only come from the cache."""
    model = tmp_path / "sst-kept.tar.gz"
    model.write_bytes(b"not a model archive")
    realdev = tmp_path / "realdev"
    realdev.mkdir()
    stories_file = tmp_path / "stories.yml"
    shutil.copy(stories.STORIES_FILE, stories_file)
    inputs = [*sorted(HELDOUT_DIR.glob("*.yml")), realdev / FILE_NAME, stories_file]
    cache = tmp_path / "scores"
    score_cache.write(cache, score_cache.key(model, inputs=inputs), FIGURES)
    said: list[tuple[str, str]] = []

    def measure() -> dict:
        return scoring.measure(
            model,
            realdev_dir=realdev,
            env={},
            label="正在使用的模型",
            say=lambda stage, line: said.append((stage, line)),
            stories_file=stories_file,
            cache_dir=cache,
        )

    assert measure() == FIGURES
    assert said == [("评估", "正在使用的模型 sst-kept 已在同样的代码和测试数据上评估过，直接用那次的结果")]

    said.clear()
    message = {"text": "楼下路灯坏了好几天", "category": "streetlight", "matter": "public"}
    (realdev / FILE_NAME).write_text(json.dumps(message, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(Exception):  # noqa: B017 - the real messages changed: measured, and this is no model
        measure()
    assert said == [("评估", "在留出集和真实留言上评估正在使用的模型 sst-kept")]


def test_a_second_measurement_of_the_same_thing_waits_for_the_first_and_reads_its_figures(tmp_path):
    cache = tmp_path / "scores"
    order: list[str] = []
    first_holds = threading.Event()

    def first() -> None:
        with score_cache.one_at_a_time(cache, "same"):
            first_holds.set()
            time.sleep(0.5)  # measuring
            score_cache.write(cache, "same", FIGURES)
            order.append("first wrote")

    thread = threading.Thread(target=first)
    thread.start()
    first_holds.wait(5)
    with score_cache.one_at_a_time(cache, "same"):
        order.append("second read")
        assert score_cache.read(cache, "same") == FIGURES
    thread.join(5)
    assert order == ["first wrote", "second read"]
    with score_cache.one_at_a_time(cache, "another"):  # another measurement does not wait for this one
        pass
