"""Run a Python module (``rasa``, ``rasa_sdk``) with personal data masked in its logs.

``python -m backend.run_masked rasa run --enable-api …`` installs
:func:`backend.log_masking.install` and then runs ``python -m rasa run
--enable-api …`` in the same process, exactly as if it had been started
directly (same ``sys.argv[1:]``, ``__name__ == "__main__"``). For Rasa it
also installs :mod:`backend.serving_imports` (JAX, which serving never uses,
kept out of memory), :mod:`backend.rasa_speedups` (work Rasa repeats per message),
:mod:`backend.rasa_connections` (kept connections to the action server) and
:mod:`backend.gc_pauses` (the loaded model out of full garbage collections);
for the action server, :mod:`backend.gc_pauses` after its actions are loaded.
"""

from __future__ import annotations

import runpy
import sys

from backend import gc_pauses
from backend.log_masking import install


def main() -> None:
    """Install the masking, then hand over to the module named first on the command line."""
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m backend.run_masked MODULE [ARGS…]")
    module = sys.argv[1]
    install()
    if module == "rasa":
        from backend import serving_imports

        serving_imports.install()  # before anything imports TensorFlow
        from backend import rasa_connections, rasa_speedups

        rasa_speedups.install()
        rasa_connections.install()
        gc_pauses.install_for_rasa()
    elif module == "rasa_sdk":
        gc_pauses.install_for_action_server()
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
