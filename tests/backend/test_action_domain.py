"""Rasa sends the domain only to the actions that read it: the form validators.

By default Rasa 3.6 puts the whole domain (its responses, intents, slots,
forms: about 17 KB) into every call to the action server, where it was two
thirds of a form step's request and most of the action server's JSON
parsing. ``endpoints.yml`` turns on Rasa's selective domain: the domain
then goes only to ``validate_*`` actions and those marked ``send_domain:
true``. These tests pin that set to the form validators rasa-sdk runs (a
validator under another name would get an empty domain and ask for no
slot at all).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.utils import read_endpoints_from_path
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk.forms import FormValidationAction

import actions
from backend.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


def _form_validators() -> set[str]:
    names = set()
    for module_info in pkgutil.iter_modules(actions.__path__):
        module = importlib.import_module(f"actions.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, FormValidationAction) and cls.__module__ == module.__name__:
                names.add(cls().name())
    return names


def test_the_actions_marked_to_receive_the_domain_are_exactly_the_form_validators(domain: Domain) -> None:
    validators = _form_validators()
    assert {"validate_report_form", "validate_grid_note_form"} <= validators
    needing = {name for name in domain.user_actions if domain.does_custom_action_explicitly_need_domain(name)}
    assert needing == validators


@pytest.fixture()
def action_endpoint(monkeypatch: pytest.MonkeyPatch) -> EndpointConfig:
    """The action endpoint as Rasa reads it from endpoints.yml, filled in as the launcher fills it."""
    for name, value in load_settings(require_secrets=False).rasa_environment().items():
        monkeypatch.setenv(name, value)
    endpoints = read_endpoints_from_path(str(ROOT / "endpoints.yml"))
    assert endpoints.action is not None
    return endpoints.action


def test_endpoints_turn_selective_domain_on(action_endpoint: EndpointConfig) -> None:
    assert action_endpoint.kwargs.get("enable_selective_domain") is True


def _call(name: str, domain: Domain, endpoint: EndpointConfig) -> dict:
    said = UserUttered("电梯坏了", {"name": "elevator", "confidence": 0.9})
    events = [ActionExecuted("action_listen"), said, SlotSet("category", "elevator")]
    tracker = DialogueStateTracker.from_events("web:abc", events, slots=domain.slots)
    return RemoteAction(name, endpoint)._action_call_format(tracker, domain)


def test_a_form_validator_gets_the_forms_and_slots_and_an_ask_action_gets_no_domain(
    domain: Domain, action_endpoint: EndpointConfig
) -> None:
    validator = _call("validate_report_form", domain, action_endpoint)
    assert "report_place" in validator["domain"]["forms"]["report_form"]["required_slots"]
    assert "report_place" in validator["domain"]["slots"]
    ask = _call("action_ask_report_place", domain, action_endpoint)
    assert "domain" not in ask
    assert ask["tracker"]["slots"]["category"] == "elevator"
