"""The list of Rasa patches: each has a switch, all can be off, and another Rasa version refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from backend.rasa_ext import patches
from backend.settings import PROJECT_ROOT


def test_every_patch_is_listed_once_with_its_own_switch() -> None:
    names = [p.name for p in patches.PATCHES]
    assert len(names) == len(set(names)) and names[0] == "serving_imports"  # JAX kept out before TensorFlow
    assert {p.switch for p in patches.PATCHES} == {f"SANTONG_PATCH_{n.upper()}" for n in names}


def test_switches_turn_one_or_all_off() -> None:
    assert patches.enabled({}) == list(patches.PATCHES)
    assert "ted_cache" not in [p.name for p in patches.enabled({"SANTONG_PATCH_TED_CACHE": "off"})]
    assert len(patches.enabled({"SANTONG_PATCH_TED_CACHE": "0"})) == len(patches.PATCHES) - 1
    assert patches.enabled({"SANTONG_RASA_PATCHES": "off"}) == []
    assert patches.enabled({"SANTONG_RASA_PATCHES": "on"}) == list(patches.PATCHES)


def test_another_rasa_version_refuses_to_start_naming_the_patch() -> None:
    with pytest.raises(patches.WrongRasaVersion) as refused:
        patches.install(environ={"SANTONG_PATCH_SERVING_IMPORTS": "off"}, rasa_version="3.7.0")
    message = str(refused.value)
    assert "Rasa 3.7.0" in message and "'action_result_check'" in message and "SANTONG_RASA_PATCHES=off" in message
    assert patches.install(environ={"SANTONG_RASA_PATCHES": "off"}, rasa_version="3.7.0") == []


def _ted_patched(env: dict[str, str]) -> bool:
    code = (
        "from backend.rasa_ext import patches; patches.install();"
        "from rasa.core.policies.ted_policy import TEDPolicy;"
        "from backend.rasa_ext.patches import speedups;"
        "print(TEDPolicy.predict_action_probabilities is speedups.ted_predict)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env={**_base_env(), **env}, cwd=PROJECT_ROOT,
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1] == "True"


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SANTONG_")}


def test_a_switched_off_patch_leaves_rasa_s_own_method_in_a_fresh_process() -> None:
    assert _ted_patched({}) is True
    assert _ted_patched({"SANTONG_PATCH_TED_CACHE": "off"}) is False
