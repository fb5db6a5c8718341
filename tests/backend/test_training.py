"""Model versions, the promotion rule, training jobs and the console's models page, against a real database.

The swap into a running Rasa server is exercised end to end in
tests/e2e/test_model_lifecycle.py; here the Rasa servers are not running
(a closed loopback port), which is the `make train` case: the database
records the serving model and the server loads it when it starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.errors import InvalidInput, NotFound
from backend.model_store import model_path
from backend.models import AuditEntry, ModelVersion, TrainingJob
from backend.settings import load_settings
from backend.training import jobs, promotion, versions
from backend.training.rasa_server import RasaServer
from backend.training.versions import rasa_model
from tests.console_client import console_app, login
from tests.e2e.stack import free_port

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
GOOD = {"category_macro_f1": 0.93, "matter_accuracy": 0.95, "answered_accuracy": 0.96, "other_intent_accuracy": 0.91}


@pytest.fixture()
def model_settings(database_url, tmp_path):
    """Settings whose Rasa servers are not running (closed loopback ports)."""
    closed = f"http://127.0.0.1:{free_port()}"
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "RASA_TOKEN": "test-rasa-token",
            "RASA_URL": closed,
            "RASA_SERVER_URLS": f"{closed}, http://127.0.0.1:{free_port()}",
            "MODEL_DIR": str(tmp_path / "models"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
    )


def archive(settings, name):
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    path = settings.model_dir / f"{name}.tar.gz"
    path.write_bytes(b"a trained model")  # only its existence matters when no server runs
    return path


def version(session, settings, name, *, at=NOW, scores=None):
    archive(settings, name)
    return versions.record(session, name=name, fingerprint=name[-8:], by="test", now=at, scores=scores)


# --- the rule ------------------------------------------------------------------------------------


def test_the_rule_promotes_a_model_that_is_not_worse_and_shows_the_numbers():
    same = promotion.decide(dict(GOOD), dict(GOOD))
    assert same.promote and "0.930 → 0.930" in same.text and promotion.RULE in same.text

    wobble = promotion.decide({**GOOD, "category_macro_f1": 0.926}, GOOD)  # one held-out message
    assert wobble.promote and "-0.004" in wobble.text

    worse = promotion.decide({**GOOD, "matter_accuracy": 0.93}, GOOD)
    assert not worse.promote and "事项类型准确率变差了" in worse.text
    assert "✗ 事项类型准确率：0.950 → 0.930" in worse.text

    assert promotion.decide(GOOD, None).promote


def test_the_rule_reads_the_evaluations_metrics():
    picked = promotion.pick({**GOOD, "low_confidence_rate": 0.08, "examples": 559, "parse_ms_p95": 12.0})
    assert picked == {**GOOD, "low_confidence_rate": 0.08, "examples": 559.0}


# --- versions ------------------------------------------------------------------------------------


def test_promotion_retires_the_previous_model_and_rollback_brings_it_back(sessions, model_settings):
    servers = jobs.servers_of(model_settings)
    assert len(servers) == 2
    with sessions.begin() as s:
        first = version(s, model_settings, "sst-first")
        versions.promote(s, first, servers=servers, model_dir=model_settings.model_dir, by="a", now=NOW)
        second = version(s, model_settings, "sst-second", at=NOW + timedelta(hours=1))
        swapped = versions.promote(s, second, servers=servers, model_dir=model_settings.model_dir, by="b", now=NOW)
        assert swapped == []  # no server running: recorded, loaded on start
    with sessions() as s:
        assert versions.serving(s).name == "sst-second"
        assert s.scalars(select(ModelVersion).filter_by(name="sst-first")).one().status == "retired"
        assert rasa_model(model_settings) == model_settings.model_dir / "sst-second.tar.gz"

    with sessions.begin() as s:
        back = versions.rollback(s, name=None, servers=servers, model_dir=model_settings.model_dir, by="admin", now=NOW)
        assert back.name == "sst-first" and "回滚" in back.decision
    with sessions() as s:
        assert versions.serving(s).name == "sst-first"
        assert rasa_model(model_settings).name == "sst-first.tar.gz"

    with sessions.begin() as s, pytest.raises(InvalidInput):
        versions.rollback(s, name="sst-first", servers=servers, model_dir=model_settings.model_dir, by="a", now=NOW)
    with sessions.begin() as s, pytest.raises(NotFound):
        versions.rollback(s, name="sst-none", servers=servers, model_dir=model_settings.model_dir, by="a", now=NOW)


def test_a_model_whose_archive_is_gone_cannot_be_promoted(sessions, model_settings):
    with sessions.begin() as s:
        gone = version(s, model_settings, "sst-gone")
        (model_settings.model_dir / "sst-gone.tar.gz").unlink()
        with pytest.raises(InvalidInput, match="不在了"):
            versions.promote(s, gone, servers=[], model_dir=model_settings.model_dir, by="a", now=NOW)
        assert versions.serving(s) is None


def test_the_database_allows_only_one_serving_model(sessions, model_settings):
    with pytest.raises(IntegrityError), sessions.begin() as s:
        for name in ("sst-a", "sst-b"):
            s.add(ModelVersion(name=name, fingerprint="x", status="serving", trained_at=NOW, trained_by="t"))


def test_before_any_promotion_the_server_starts_with_the_model_of_the_current_data(sessions, model_settings):
    assert rasa_model(model_settings) == model_path(model_settings.model_dir)


def test_an_unreachable_server_reports_no_model():
    assert RasaServer(f"http://127.0.0.1:{free_port()}", "t").loaded_model() is None


# --- jobs ----------------------------------------------------------------------------------------


def test_one_training_at_a_time_and_a_silent_job_is_failed(sessions):
    with sessions.begin() as s:
        job = jobs.request(s, by="admin", now=NOW)
        with pytest.raises(jobs.TrainingBusy, match="排队"):
            jobs.request(s, by="admin", now=NOW)
        assert jobs.claim(s, job.id, NOW) and not jobs.claim(s, job.id, NOW)  # the worker takes it once
    with sessions.begin() as s:
        assert jobs.mark_stale(s, NOW + jobs.STALE_AFTER - timedelta(seconds=1)) == []
        assert jobs.mark_stale(s, NOW + jobs.STALE_AFTER + timedelta(seconds=1)) == [job.id]
        assert "中断" in s.get(TrainingJob, job.id).error
        assert jobs.request(s, by="admin", now=NOW + timedelta(hours=1)).id != job.id


def test_a_missing_config_is_refused(sessions):
    with sessions.begin() as s, pytest.raises(InvalidInput, match="找不到训练配置"):
        jobs.request(s, by="admin", now=NOW, config="config/nope.yml")


# --- the console page --------------------------------------------------------------------------


@pytest.fixture()
def console(model_settings, registry):
    with console_app(model_settings, registry) as app:
        yield app


@pytest.mark.parametrize("role", ["operator", "community_staff", "grid_member", "department"])
def test_only_admins_reach_the_models_page(console, role):
    client, _ = login(console, role)
    assert client.get("/console/models").status_code == 403
    assert client.post("/console/models/train", data={"csrf": "x"}).status_code == 403
    assert client.post("/console/models/sst-a/rollback", data={"csrf": "x"}).status_code == 403


def test_an_admin_starts_a_training_once_and_it_is_audited(console, registry, model_settings):
    client, csrf = login(console, "admin")
    page = client.get("/console/models")
    assert page.status_code == 200 and "开始训练" in page.text and "没有连上" in page.text
    assert client.post("/console/models/train", data={"csrf": "wrong"}).status_code == 403
    started = client.post("/console/models/train", data={"csrf": csrf})
    assert "已开始第" in started.text and 'http-equiv="refresh"' in started.text
    again = client.post("/console/models/train", data={"csrf": csrf})
    assert "已经有一次训练在排队" in again.text
    with registry() as s:
        assert s.scalars(select(TrainingJob)).one().requested_by == "console:admin"
        actions = [(e.action, e.outcome) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert {("models.train", "ok"), ("models.train", "failed"), ("csrf", "refused")} <= set(actions)


def test_an_admin_rolls_back_with_one_click(console, registry, model_settings):
    with registry.begin() as s:
        old = version(s, model_settings, "sst-old", scores=GOOD)
        versions.promote(s, old, servers=[], model_dir=model_settings.model_dir, by="a", now=NOW)
        worse = {**GOOD, "matter_accuracy": 0.9}
        new = version(s, model_settings, "sst-new", at=NOW + timedelta(hours=1), scores=worse)
        versions.promote(s, new, servers=[], model_dir=model_settings.model_dir, by="a", now=NOW)
    client, csrf = login(console, "admin")
    page = client.get("/console/models")
    assert "0.900" in page.text and page.text.count("回滚到这个版本") == 1
    done = client.post("/console/models/sst-old/rollback", data={"csrf": csrf})
    assert "已回滚：正在使用 sst-old" in done.text
    with registry() as s:
        assert versions.serving(s).name == "sst-old"
        assert s.scalars(select(AuditEntry).filter_by(action="models.rollback")).one().target == "sst-old"
    refused = client.post("/console/models/sst-old/rollback", data={"csrf": csrf})
    assert "就是正在使用的模型" in refused.text
    junk = client.post("/console/models/<script>/rollback", data={"csrf": csrf})
    assert junk.status_code in (200, 404) and "<script>" not in junk.text
