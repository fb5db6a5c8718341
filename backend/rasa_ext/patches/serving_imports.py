"""Keep a package the Rasa server never uses out of its memory: JAX.

TensorFlow 2.12 (Rasa 3.6's) depends on ``jax`` and, while importing its
``compat.v1`` API, reaches ``tensorflow.lite.python.util``, which imports JAX
inside ``try: … except ImportError`` for one thing only: converting JAX
functions to TFLite. Serving a Rasa model never does that, yet the import
costs every Rasa server about 65 MiB of resident memory (467 MiB against
532 MiB after Rasa's server imports, measured on this machine) and about
0.8 s of start-up; the issue's bound is 1 GB per Rasa server, and the servers
sat about 5 % under it.

:func:`install` marks ``jax`` and ``jaxlib`` as unavailable in this process
(a ``None`` entry in :data:`sys.modules`, Python's documented way to make an
import raise :class:`ModuleNotFoundError`), so TensorFlow takes its own
fallback. :mod:`backend.rasa_ext.launcher` installs it for every ``rasa`` command
it runs (the servers, ``python -m backend rasa test``); training (``rasa
train``, started by :mod:`backend.model_store`) and everything else import
as before.
"""

from __future__ import annotations

import sys

UNUSED_WHEN_SERVING = ("jax", "jaxlib")


def install() -> None:
    """Make importing JAX fail in this process, before TensorFlow is first imported."""
    for name in UNUSED_WHEN_SERVING:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
