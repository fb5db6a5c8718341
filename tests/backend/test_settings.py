import re

import pytest

from backend.settings import PROJECT_ROOT, ConfigError, load_settings
from backend.settings_variables import VARIABLES

BASE = {"SECRET_KEY": "k", "RASA_TOKEN": "t"}


def test_defaults_apply_and_relative_sqlite_goes_under_the_project_root():
    s = load_settings(BASE)
    assert s.rasa_port == 5005 and s.web_port == 8000
    assert s.database_url == f"sqlite:///{PROJECT_ROOT}/var/santong.db"
    env = s.rasa_environment()
    assert env["TRACKER_STORE_URL"] == f"sqlite:///{PROJECT_ROOT}/var/rasa_tracker.db"
    assert env["TRACKER_DB_DIALECT"] == "sqlite"
    assert env["RASA_TELEMETRY_ENABLED"] == "false"


def test_postgres_tracker_store_url_gives_dialect_and_database():
    env = load_settings({**BASE, "TRACKER_STORE_URL": "postgresql://rasa:pw@db:5432/tracker"}).rasa_environment()
    assert env["TRACKER_DB_DIALECT"] == "postgresql" and env["TRACKER_DB"] == "tracker"


@pytest.mark.parametrize("name", ["SECRET_KEY", "RASA_TOKEN"])
def test_missing_secret_stops_with_a_message_naming_it(name):
    env = dict(BASE)
    del env[name]
    with pytest.raises(ConfigError, match=name):
        load_settings(env)
    env[name] = ""
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_secrets_are_not_needed_by_tools_that_do_not_use_them():
    assert load_settings({}, require_secrets=False).rasa_url == "http://127.0.0.1:5005"


@pytest.mark.parametrize("value", ["abc", "0", "70000", ""])
def test_bad_port_is_named(value):
    with pytest.raises(ConfigError, match="WEB_PORT"):
        load_settings({**BASE, "WEB_PORT": value})


def test_env_example_lists_every_variable_with_its_default():
    text = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    for var in VARIABLES:
        if var.default is None:
            assert re.search(rf"^# {var.name}=$", text, re.M), var.name
        else:
            assert re.search(rf"^{var.name}={re.escape(var.default)}$", text, re.M), var.name


def test_operations_doc_configuration_table_lists_every_variable():
    table = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for var in VARIABLES:
        assert f"`{var.name}`" in table, var.name


def test_no_module_reads_the_environment_outside_the_settings():
    offenders = []
    for package in ("backend", "actions", "bot"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if path.name == "settings.py" and path.parent.name == "backend":
                continue
            source = path.read_text(encoding="utf-8")
            if re.search(r"os\.environ\.get|os\.getenv|environ\[", source):
                offenders.append(str(path.relative_to(PROJECT_ROOT)))
    assert offenders == []


def test_a_webhook_needs_https_and_a_secret_telegram_accepts():
    hook = {**BASE, "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/tg/hook"}
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(hook)
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings({**hook, "TELEGRAM_WEBHOOK_SECRET": "短的"})
    with pytest.raises(ConfigError, match="https"):
        load_settings({**hook, "TELEGRAM_WEBHOOK_URL": "http://bot.example.org/", "TELEGRAM_WEBHOOK_SECRET": "x" * 20})
    settings = load_settings({**hook, "TELEGRAM_WEBHOOK_SECRET": "a-good_secret-0123456789"})
    assert settings.telegram_webhook_secret == "a-good_secret-0123456789"
    assert load_settings(BASE).telegram_webhook_url == ""  # long polling by default


def test_open311_keys_are_name_key_pairs_and_empty_means_none():
    assert load_settings(BASE).open311_api_keys == ()
    keys = load_settings(
        {**BASE, "OPEN311_API_KEYS": " hotline12345:k3y-0123456789abcdef , city.app:ABCDEFGHIJKLMNOP "}
    )
    assert keys.open311_api_keys == (("hotline12345", "k3y-0123456789abcdef"), ("city.app", "ABCDEFGHIJKLMNOP"))


@pytest.mark.parametrize(
    "value",
    [
        "no-colon-0123456789abcdef",  # no name
        "hotline:short",  # a guessable key
        ":0123456789abcdef",  # empty name
        "热线:0123456789abcdef",  # the name becomes part of an identity: plain characters only
        "a:0123456789abcdef,a:fedcba9876543210",  # the same client twice
    ],
)
def test_bad_open311_keys_stop_with_a_message_naming_the_variable(value):
    with pytest.raises(ConfigError, match="OPEN311_API_KEYS"):
        load_settings({**BASE, "OPEN311_API_KEYS": value})
