"""Run a Python module (``rasa``, ``rasa_sdk``) with personal data masked in its logs.

``python -m backend.rasa_ext.launcher rasa run --enable-api …`` installs
:func:`backend.log_masking.install` and then runs ``python -m rasa run
--enable-api …`` in the same process, exactly as if it had been started
directly (same ``sys.argv[1:]``, ``__name__ == "__main__"``). For Rasa
(but ``rasa train``, which serves nothing) it then installs the patches of
:mod:`backend.rasa_ext.patches` (each can be switched off; the masking does
not depend on them) and :mod:`backend.gc_pauses` (the loaded model out of
full garbage collections); for the action server, :mod:`backend.gc_pauses`
after its actions are loaded.

``rasa run`` gets its credentials here, from ``RASA_TOKEN`` in the
environment: ``--auth-token`` and the JWT secret the stack's clients sign
with (:mod:`backend.rasa_auth`) are added to ``sys.argv`` inside this
process, so they never appear on a command line (``ps``,
``/proc/<pid>/cmdline``). The umask is set to 077 first, so Rasa's tracker
database and anything else it writes is owner-only.
"""

from __future__ import annotations

import runpy
import sys

from backend import gc_pauses
from backend.log_masking import install
from backend.private_files import restrict_umask
from backend.rasa_auth import ALGORITHM, jwt_secret
from backend.settings import load_settings, unset_secrets


def with_credentials(arguments: list[str]) -> list[str]:
    """``rasa run``'s arguments with the API token and JWT secret from ``RASA_TOKEN`` (others unchanged).

    Options already given on the command line are kept; without
    ``RASA_TOKEN`` nothing is added.
    """
    if arguments[:1] != ["run"] or "RASA_TOKEN" in unset_secrets():
        return arguments
    token = load_settings(require_secrets=False).rasa_token
    added = [] if "--auth-token" in arguments else ["--auth-token", token]
    if "--jwt-secret" not in arguments:
        added += ["--jwt-secret", jwt_secret(token), "--jwt-method", ALGORITHM]
    return [*arguments, *added]


def main() -> None:
    """Install the masking, then hand over to the module named first on the command line."""
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m backend.rasa_ext.launcher MODULE [ARGS…]")
    module = sys.argv[1]
    restrict_umask()
    install()
    if module == "rasa" and sys.argv[2:3] != ["train"]:
        from backend.rasa_ext import patches

        # After the masking, which needs none of them; RASA_PATCHES_OFF leaves some or all out.
        patches.install(load_settings(require_secrets=False).rasa_patches_off)
        gc_pauses.install_for_rasa()
    elif module == "rasa_sdk":
        gc_pauses.install_for_action_server()
    sys.argv = [module, *(with_credentials(sys.argv[2:]) if module == "rasa" else sys.argv[2:])]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
