"""The promotion gate on real models: held-out split, real messages and the conversation tests.

Two models are trained here from one snapshot of today's ``data/`` and
``domain/`` with the project's NLU configuration (Rasa's cache gives both the
NLU ``make train`` trained, so their NLU is the same): a good one, and one
with the rule "say it is a bot" taken out. Their held-out figures are the
same, so the old held-out-only gate let the broken one through, but the
story "asking whether it is a bot" now ends in a wrong action. The console's
retrain job (:func:`backend.training.jobs.run`) must refuse it by that
story's name; ``make train`` (``python -m backend model ensure``) must let
the good model back in over it.

The real messages are a few written here (the shared ``realdev.jsonl`` is
evaluation only and not on every machine): the test checks that their
figures enter the rule and the stored scores, and that no text of theirs does.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tarfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from backend.model_store import model_path, train
from backend.models import TrainingJob
from backend.settings import PROJECT_ROOT, load_settings
from backend.training import cli, jobs, promotion, versions
from tests.console_client import console_app, login
from tests.e2e.stack import free_port

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
BROKEN_STORY = "asking whether it is a bot"
REMOVED_RULE = "say it is a bot"
REAL_MESSAGES = [  # written for this test, in residents' words: (text, category, matter, tier)
    dict(zip(("text", "category", "matter", "tier"), row, strict=True))
    for row in (
        ("南环路上那个井盖塌了一半，晚上骑电动车的差点栽进去，麻烦赶紧派人来修一下", "road", "public", "both_sure"),
        ("我们小区三号楼的电梯又停了，老人家天天爬十几层，物业说等配件等了半个月", "elevator", "shared", "both_sure"),
        ("解放路靠菜场那一排路灯一到晚上全黑，已经一个多礼拜了，走夜路心里发毛", "streetlight", "public", "agreed"),
    )
]
HELDOUT_ONLY = {key for key, _ in promotion.HELDOUT_METRICS}
SHARED_MODELS = PROJECT_ROOT / "var" / "test-models"  # models trained by one pass of make test for the other too


# --- the rule, on figures -------------------------------------------------------------------------

GOOD = {
    "category_macro_f1": 0.93, "matter_accuracy": 0.95, "answered_accuracy": 0.96, "other_intent_accuracy": 0.91,
    "realdev_both_sure_category_accuracy": 0.85, "realdev_both_sure_matter_accuracy": 0.95,
    "realdev_all_category_accuracy": 0.78, "realdev_all_matter_accuracy": 0.90,
    "stories_passed": 35.0, "stories_total": 36.0, "actions_correct": 108.0, "actions_total": 109.0,
    "intents_correct": 92.0, "intents_total": 92.0, "stories_failed": {"an old one": ["动作 utter_x 预测成了 utter_y"]},
}  # fmt: skip


def test_every_figure_is_listed_old_to_new_and_equal_models_are_promoted():
    same = promotion.decide(dict(GOOD), dict(GOOD))
    assert same.promote and same.text.endswith("不比正在使用的差，上线。")
    for _, name in promotion.GATED_METRICS:
        assert f"✓ {name}：" in same.text
    assert "✓ 对话测试通过的故事：35/36 → 35/36" in same.text
    assert "动作预测对的 108/109 → 108/109" in same.text and "意图识别对的 92/92 → 92/92" in same.text


def test_worse_real_messages_are_refused_by_name():
    worse = promotion.decide({**GOOD, "realdev_all_category_accuracy": 0.76}, GOOD)
    assert not worse.promote
    assert "✗ 真实留言（全部）类别准确率：0.780 → 0.760（-0.020）" in worse.text
    assert "未上线：真实留言（全部）类别准确率变差了。" in worse.text
    wobble = promotion.decide({**GOOD, "realdev_both_sure_matter_accuracy": 0.946}, GOOD)
    assert wobble.promote


def test_a_newly_failing_story_is_refused_by_name_and_a_fixed_one_is_welcome():
    broken = {
        **GOOD, "stories_passed": 34.0, "actions_correct": 107.0,
        "stories_failed": {**GOOD["stories_failed"], "greeting twice": ["动作 action_greet 预测成了 action_listen"]},
    }  # fmt: skip
    refused = promotion.decide(broken, GOOD)
    assert not refused.promote
    assert "✗ 对话测试通过的故事：35/36 → 34/36" in refused.text
    assert "✗ 新模型没通过「greeting twice」：动作 action_greet 预测成了 action_listen" in refused.text
    assert refused.text.endswith("未上线：对话测试里新模型没通过「greeting twice」。")

    fixed = promotion.decide({**GOOD, "stories_passed": 36.0, "stories_failed": {}}, GOOD)
    assert fixed.promote and "新模型通过了原来没通过的：「an old one」" in fixed.text

    both = promotion.decide({**broken, "matter_accuracy": 0.9}, GOOD)
    assert "未上线：事项类型准确率变差了；对话测试里新模型没通过「greeting twice」。" in both.text


def test_figures_missing_on_one_side_are_left_out_not_counted_worse():
    heldout = {key: GOOD[key] for key in HELDOUT_ONLY}
    decision = promotion.decide(heldout, GOOD)
    body = decision.text.split("\n")[1:]  # after the rule
    assert decision.promote and len(body) == len(HELDOUT_ONLY) + 1
    assert not any("真实留言" in line or "通过的故事" in line for line in body)


# --- real models ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project_env():
    settings = load_settings(require_secrets=False)
    return {**os.environ, **settings.rasa_environment()}


def train_copy(snapshot: Path, root: Path, env: dict[str, str], *, without_rule: str | None = None) -> Path:
    """Train from a copy of ``snapshot`` (``data/``, ``domain/``, ``config.yml``), minus one rule."""
    shutil.copytree(snapshot, root)
    (root / "var").mkdir()
    (root / "var" / "spacy").symlink_to(PROJECT_ROOT / "var" / "spacy")  # config.yml loads var/spacy/zh_santong
    if without_rule:
        rules_file = root / "data" / "rules" / "core.yml"
        rules = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
        kept = [rule for rule in rules["rules"] if rule.get("rule") != without_rule]
        assert len(kept) == len(rules["rules"]) - 1
        rules_file.write_text(yaml.safe_dump({**rules, "rules": kept}, allow_unicode=True), encoding="utf-8")
    env = {
        **env,
        "PYTHONPATH": str(PROJECT_ROOT),  # the config's custom components
        "RASA_CACHE_DIRECTORY": str(PROJECT_ROOT / ".rasa" / "cache"),  # the NLU `make train` trained, reused
    }
    return train(root / "config.yml", root / "out", root.name, root=root, env=env)


@pytest.fixture(scope="module")
def models(tmp_path_factory, project_env) -> tuple[Path, Path]:
    """(good, broken), trained from one snapshot of today's data: as it is, and without "say it is a bot".

    One snapshot, so the shared tree changing meanwhile cannot make them differ elsewhere; the
    project's NLU configuration, so Rasa's cache gives both the NLU ``make train`` trained. The good
    one is the model ``make train`` made when its fingerprint is the snapshot's (the same inputs),
    and then the broken one is trained once per fingerprint, in ``var/test-models/``.
    """
    snapshot = tmp_path_factory.mktemp("gate") / "snapshot"
    trained = model_path(load_settings(require_secrets=False).model_dir)  # the inputs' model, if `make train` made it
    for part in ("data", "domain"):
        shutil.copytree(PROJECT_ROOT / part, snapshot / part)
    shutil.copy2(PROJECT_ROOT / "config.yml", snapshot / "config.yml")
    unchanged = trained == model_path(trained.parent)  # nothing changed while the snapshot was taken
    if not (unchanged and trained.exists()):
        good = train_copy(snapshot, snapshot.parent / "sst-good", project_env)
        return good, train_copy(snapshot, snapshot.parent / "sst-broken", project_env, without_rule=REMOVED_RULE)
    # The broken model of these inputs, trained once for both of make test's passes (the other one waits for it).
    shared = SHARED_MODELS / f"{trained.name.removesuffix('.tar.gz')}-without-{REMOVED_RULE.replace(' ', '-')}.tar.gz"
    SHARED_MODELS.mkdir(parents=True, exist_ok=True)
    with (SHARED_MODELS / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not shared.exists():
            broken = train_copy(snapshot, snapshot.parent / "sst-broken", project_env, without_rule=REMOVED_RULE)
            shutil.copy(broken, shared.with_suffix(".partial"))
            shared.with_suffix(".partial").rename(shared)
    return trained, shared


@pytest.fixture()
def gate_settings(database_url, tmp_path):
    """Settings with their own model folder, real messages written here, and no Rasa server running."""
    realdev = tmp_path / "realdev"
    realdev.mkdir()
    (realdev / "realdev.jsonl").write_text(
        "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in REAL_MESSAGES), encoding="utf-8"
    )
    closed = f"http://127.0.0.1:{free_port()}"
    values = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "RASA_TOKEN": "test-rasa-token",
        "RASA_URL": closed,
        "RASA_SERVER_URLS": closed,
        "MODEL_DIR": str(tmp_path / "models"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "REALDEV_DIR": str(realdev),
    }
    settings = load_settings(values)
    settings.model_dir.mkdir()
    return settings, values


def place(settings, *, candidate: Path, serving: Path, sessions) -> str:
    """``candidate`` as the model of the current data (already trained), ``serving`` recorded as serving."""
    shutil.copy(candidate, model_path(settings.model_dir))
    shutil.copy(serving, settings.model_dir / "sst-serving.tar.gz")
    with sessions.begin() as s:
        version = versions.record(s, name="sst-serving", fingerprint="serving", by="test", now=NOW)
        versions.promote(s, version, servers=[], model_dir=settings.model_dir, by="test", now=NOW)
    return model_path(settings.model_dir).name.removesuffix(".tar.gz")


def _trained_before_the_move(model: Path, root: Path) -> Path:
    """``model`` as a release before backend/rasa_ext trained it: its graph names the components' old modules."""
    old = root / "old.tar.gz"
    with tarfile.open(model) as archive:
        archive.extractall(root / "old")
    metadata = root / "old" / "metadata.json"
    metadata.write_text(metadata.read_text().replace("backend.rasa_ext.nlu_", "backend.nlu_"))
    with tarfile.open(old, "w:gz") as archive:
        for item in sorted((root / "old").iterdir()):
            archive.add(item, arcname=item.name)
    return old


@pytest.mark.timeout(1800)
def test_a_serving_model_this_code_cannot_load_is_replaced_with_the_reason(models, gate_settings, registry, tmp_path):
    good_model, _ = models
    settings, _ = gate_settings
    name = place(
        settings, candidate=good_model, serving=_trained_before_the_move(good_model, tmp_path), sessions=registry
    )
    with registry.begin() as s:
        job = jobs.request(s, by="console:admin", now=NOW)
    finished = jobs.run(int(job.id), sessions=registry, settings=settings, echo=lambda line: None)

    assert finished.status == "done", finished.error
    assert "正在使用的模型 sst-serving 是旧版本的代码训练的，现在的代码加载不了它" in str(finished.decision)
    with registry() as s:
        assert versions.serving(s).name == name


@pytest.mark.timeout(1800)  # trains both models first, then runs rasa test twice
def test_the_consoles_retrain_refuses_a_candidate_that_breaks_a_story(models, gate_settings, registry):
    good_model, broken_model = models
    settings, _ = gate_settings
    name = place(settings, candidate=broken_model, serving=good_model, sessions=registry)
    with registry.begin() as s:
        job = jobs.request(s, by="console:admin", now=NOW)
    lines: list[str] = []
    finished = jobs.run(int(job.id), sessions=registry, settings=settings, echo=lines.append)

    assert finished.status == "done", finished.error
    decision = str(finished.decision)
    assert "未上线：" in decision and f"对话测试里新模型没通过「{BROKEN_STORY}」" in decision, decision
    assert f"✗ 新模型没通过「{BROKEN_STORY}」：动作 utter_iamabot 预测成了" in decision
    assert "✓ 类别宏平均 F1：" in decision and "真实留言（两位标注人都确定的）类别准确率：" in decision
    assert any(line.startswith("评估：") for line in lines)  # measured now, or read back: either way said
    with registry() as s:
        assert versions.serving(s).name == "sst-serving"
        refused = versions.find(s, name)
        assert refused.status == "rejected" and refused.decision == decision
        assert BROKEN_STORY in refused.scores["stories_failed"]
        assert refused.scores["realdev_all_examples"] == 3 and refused.scores["realdev_both_sure_examples"] == 2
        kept = versions.find(s, "sst-serving").scores
        assert BROKEN_STORY not in kept["stories_failed"]
        assert any("utter_iamabot" in mistake for mistake in refused.scores["stories_failed"][BROKEN_STORY])
        for key in ("stories_total", "actions_total", "intents_total"):
            assert kept[key] == refused.scores[key] > 30  # the same stories, counted the same way
        assert refused.scores["actions_correct"] < kept["actions_correct"]
        assert refused.scores["stories_passed"] < kept["stories_passed"]
        stored = json.dumps([refused.scores, kept, decision, s.get(TrainingJob, job.id).decision], ensure_ascii=False)
    for message in REAL_MESSAGES:
        assert message["text"][:12] not in stored  # figures only, never a real message

    with console_app(settings, registry) as app:
        client, _ = login(app, "admin")
        page = client.get("/console/models").text
    assert "对话测试通过率" in page and f"新模型没通过「{BROKEN_STORY}」" in page


@pytest.mark.timeout(1200)
def test_make_train_lets_the_good_model_back_over_the_broken_one(models, gate_settings, sessions, monkeypatch, capsys):
    good_model, broken_model = models
    settings, values = gate_settings
    name = place(settings, candidate=good_model, serving=broken_model, sessions=sessions)
    for key, value in values.items():
        monkeypatch.setenv(key, value)

    assert cli.cmd_ensure(None) == 0
    out = capsys.readouterr().out
    assert "模型已是最新" in out and "✓ 对话测试通过的故事：" in out, out
    assert f"新模型通过了原来没通过的：「{BROKEN_STORY}」" in out and "不比正在使用的差，上线。" in out, out
    with sessions() as s:
        assert versions.serving(s).name == name

    assert cli.cmd_list(None) == 0
    listed = capsys.readouterr().out
    assert "真实留言类别" in listed and "对话测试" in listed
