"""Phones and ID-card numbers are masked in log records however the process configured logging."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from backend.log_masking import mask_record
from backend.settings import PROJECT_ROOT

PHONE, ID_CARD = "13912345678", "110101199003074578"


def record(msg, *args, exc_info=None):
    return logging.LogRecord("rasa.core.processor", logging.DEBUG, __file__, 1, msg, args or None, exc_info)


def test_message_arguments_and_traceback_are_masked():
    assert mask_record(record(f"Received user message '我的电话{PHONE}'")).getMessage() == (
        "Received user message '我的电话139****5678'"
    )
    assert PHONE not in mask_record(record("Received user message '%s' with intent", f"电话 {PHONE}")).getMessage()
    dict_args = logging.LogRecord("x", logging.INFO, __file__, 1, "%(text)s", ({"text": f"身份证{ID_CARD}"},), None)
    assert ID_CARD not in mask_record(dict_args).getMessage()
    assert PHONE not in mask_record(record("slots %s", {"phone": PHONE})).getMessage()
    assert mask_record(record("count %d", 13912345678)).getMessage() == "count 13912345678"  # numbers stay numbers
    try:
        raise ValueError(f"bad phone {PHONE}")
    except ValueError:
        failing = mask_record(record("action failed", exc_info=sys.exc_info()))
    formatted = logging.Formatter().format(failing)
    assert "ValueError: bad phone 139****5678" in formatted and PHONE not in formatted


def test_the_masked_runner_masks_a_module_that_sets_up_its_own_logging(tmp_path):
    """``python -m backend.rasa_ext.launcher MODULE`` runs MODULE as __main__ with masked records, like Rasa's."""
    (tmp_path / "chatty.py").write_text(
        "import logging, sys\n"
        "if __name__ == '__main__':\n"
        "    logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, force=True)\n"
        f"    logging.getLogger('rasa.core.processor').debug('Received %r', '电话{PHONE} 身份证{ID_CARD}')\n"
        "    print('argv', sys.argv[1:])\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{tmp_path}"}
    out = subprocess.run(
        [sys.executable, "-m", "backend.rasa_ext.launcher", "chatty", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "139****5678" in out and "110101********4578" in out and "argv ['--port', '1']" in out
    assert PHONE not in out and ID_CARD not in out


def test_credentials_are_masked_in_messages_and_in_extra_fields(tmp_path):
    """Rasa's token in a request line (Sanic's access log passes it as ``extra``), bearer values, CLI options."""
    (tmp_path / "talky.py").write_text(
        "import logging, sys\n"
        "if __name__ == '__main__':\n"
        "    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(message)s', force=True)\n"
        "    access = logging.getLogger('sanic.access')\n"
        "    access.addHandler(logging.StreamHandler(sys.stdout))\n"
        "    access.handlers[-1].setFormatter(logging.Formatter('[%(host)s] %(request)s %(status)d'))\n"
        "    access.propagate = False\n"
        "    line = {'host': '127.0.0.1', 'request': 'GET http://r/status?token=Tk-SECRET1', 'status': 200}\n"
        "    access.info('', extra=line)\n"
        "    logging.getLogger('httpx').info('HTTP Request: GET %s', 'http://r/model?x=1&token=Tk-SECRET2')\n"
        "    logging.info('headers %s', {'Authorization': 'Bearer eyJ0.eyJ1.SECRET3'})\n"
        "    logging.info('argv rasa run --auth-token Tk-SECRET4 --jwt-secret SECRET5 --port 5005')\n"
        "    logging.info('POST https://api.telegram.org/bot123:SECRET6-x/getUpdates')\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{tmp_path}"}
    out = subprocess.run(
        [sys.executable, "-m", "backend.rasa_ext.launcher", "talky"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "SECRET" not in out, out
    assert "[127.0.0.1] GET http://r/status?token=*** 200" in out
    assert "http://r/model?x=1&token=***" in out and "Bearer ***" in out and "--port 5005" in out
