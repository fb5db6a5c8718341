"""The list of Rasa patches: each can be left out by name, all can be, and another Rasa version refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backend.rasa_ext import patches
from backend.settings import PROJECT_ROOT, load_settings


def test_every_patch_is_listed_once_in_installation_order() -> None:
    names = [p.name for p in patches.PATCHES]
    assert len(names) == len(set(names)) and names[0] == "serving_imports"  # JAX kept out before TensorFlow
    assert names.index("several_problems") > names.index("payload_parse")  # it wraps the payload parse


def test_the_setting_leaves_out_one_or_all_and_refuses_a_typo() -> None:
    assert patches.enabled() == list(patches.PATCHES)
    assert "payload_parse" not in [p.name for p in patches.enabled(["payload_parse"])]
    assert len(patches.enabled([" Payload_Parse ", ""])) == len(patches.PATCHES) - 1
    assert patches.enabled(["all"]) == []
    with pytest.raises(patches.UnknownPatch, match="payload_pars"):
        patches.enabled(["payload_pars"])
    settings = load_settings(
        {"SECRET_KEY": "x", "RASA_TOKEN": "y", "RASA_PATCHES_OFF": "payload_parse, several_problems"}
    )
    assert settings.rasa_patches_off == ("payload_parse", "several_problems")
    assert load_settings({"SECRET_KEY": "x", "RASA_TOKEN": "y"}).rasa_patches_off == ()


def test_another_rasa_version_refuses_to_start_naming_the_patch() -> None:
    with pytest.raises(patches.WrongRasaVersion) as refused:
        patches.install(off=["serving_imports"], rasa_version="3.7.0")
    message = str(refused.value)
    assert "Rasa 3.7.0" in message and "'action_result_check'" in message and "RASA_PATCHES_OFF=all" in message
    assert patches.install(off=["all"], rasa_version="3.7.0") == []


def _event_lookup_patched(off: str) -> bool:
    code = (
        "from backend.rasa_ext import patches; from backend.settings import load_settings;"
        "patches.install(load_settings(require_secrets=False).rasa_patches_off);"
        "from rasa.shared.core.events import Event;"
        "from backend.rasa_ext.patches import speedups;"
        "print(Event.resolve_by_type is speedups.resolve_event_type)"
    )
    env = {**os.environ, "RASA_PATCHES_OFF": off}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=True
    )
    return result.stdout.strip().splitlines()[-1] == "True"


def test_a_patch_left_out_keeps_rasa_s_own_method_in_a_fresh_process() -> None:
    assert _event_lookup_patched("") is True
    assert _event_lookup_patched("event_lookup") is False
