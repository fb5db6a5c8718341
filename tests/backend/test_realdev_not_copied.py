"""Real citizen messages are for evaluation only: no piece of one may sit in the repository."""

import pytest

from backend import realdev
from backend.settings import load_settings


def test_the_check_finds_a_copied_run_even_rewrapped(tmp_path):
    source = "我们小区东门外的排水沟已经堵了整整两个月，一下雨污水就漫到人行道上"
    copied = tmp_path / "copied.yml"
    copied.write_text("- 排水沟已经堵了整整\n  两个月，一下雨\n", encoding="utf-8")
    own = tmp_path / "own.yml"
    own.write_text("- 小区门口的下水道堵了，下雨天路上全是水\n", encoding="utf-8")
    picture = tmp_path / "x.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    leaks = realdev.leaked_runs([source], [copied, own, picture])
    assert [path for path, _ in leaks] == [copied]
    assert leaks[0][1] in source


def test_runs_of_masked_digits_or_ascii_do_not_count():
    assert list(realdev.runs("电话138" + "*" * 8 + "后四位")) == []
    assert list(realdev.runs("ABCDEFGHIJKLMN")) == []


def test_no_realdev_text_appears_in_the_repository():
    messages = realdev.load(load_settings(require_secrets=False).realdev_dir)
    if messages is None:
        pytest.skip("realdev is not on this machine")
    leaks = realdev.leaked_runs([m.text for m in messages], realdev.tracked_files())
    assert leaks == [], "real messages may not be copied into the project: " + ", ".join(str(path) for path, _ in leaks)
