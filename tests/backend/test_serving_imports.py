"""The Rasa server's process keeps JAX out, and TensorFlow and Rasa's server still import and run without it."""

from __future__ import annotations

import json
import subprocess
import sys

from backend.settings import PROJECT_ROOT

# Runs in a fresh interpreter: this test process may have imported TensorFlow (and JAX) already.
_PROBE = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
if sys.argv[1] == "serving":
    from backend.rasa_ext.patches import serving_imports
    serving_imports.install()
import rasa.core.actions.action, rasa.server
import tensorflow as tf
from tensorflow.lite.python import util as lite_util
try:
    import jax
    refused = ""
except ModuleNotFoundError as exc:
    refused = str(exc)
print(json.dumps({
    "jax_loaded": sys.modules.get("jax") is not None,
    "lite_sees_jax": lite_util._xla_computation is not None,
    "refused": refused,
    "tf_works": float(tf.reduce_sum(tf.constant([1.0, 2.0]))) == 3.0,
}))
"""


def _probe(mode: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=True,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])


def test_serving_keeps_jax_out_and_tensorflow_takes_its_fallback():
    serving = _probe("serving")
    assert serving == {"jax_loaded": False, "lite_sees_jax": False, "refused": serving["refused"], "tf_works": True}
    assert "jax" in str(serving["refused"])


def test_without_the_block_tensorflow_does_import_jax():
    """The block is what keeps JAX out: TensorFlow's imports do load it otherwise."""
    plain = _probe("plain")
    assert plain["jax_loaded"] is True and plain["lite_sees_jax"] is True and plain["refused"] == ""
