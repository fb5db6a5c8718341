"""The points conversation through the real stack: a grid member logs volunteer hours, the resident asks and redeems."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from backend.settings import PROJECT_ROOT
from tests.e2e.stack import Stack, texts
from tests.e2e.test_report import Resident, buttons

pytestmark = pytest.mark.e2e


def log_volunteer(stack: Stack, code: str, hours: int, log_id: str) -> str:
    """The grid member's command, run against the stack's database as docs/console.md shows."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend",
            "points",
            "volunteer",
            "--member",
            "gm-fl-01",
            "--resident",
            code,
            "--hours",
            str(hours),
            "--log-id",
            log_id,
        ],
        env=stack.env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_balance_history_rules_catalogue_and_a_redemption(running):
    me = Resident(running)
    first = texts(me.say("我有多少积分"))
    assert "您现在有 0 分" in first
    code = re.search(r"居民码是 (R[0-9A-F]{6})", first).group(1)
    log_volunteer(running, code, 10, f"e2e-{code}")  # 50 points, the monthly cap is 60

    balance = texts(me.say("我现在积分多少"))
    assert "您现在有 50 分" in balance and "排第" in balance
    assert "志愿服务 10 小时" in texts(me.say("积分怎么来的"))
    assert "环境整治：10 分，每月最多 40 分" in texts(me.say("积分怎么挣"))
    catalogue = me.say("积分能换什么")
    assert "毛巾：30 分" in texts(catalogue) and "大米（5斤）：60 分（还差 10 分）" in texts(catalogue)

    asked = me.say(buttons(catalogue)["换毛巾"])
    assert "用 30 分兑换毛巾" in texts(asked) and "还剩 20 分" in texts(asked)
    done = texts(me.say(buttons(asked)["确认兑换"]))
    assert re.search(r"兑换码 DH[A-Z0-9]{6}", done) and "还剩 20 分" in done
    why = texts(me.say("为什么少了30分"))
    assert "-30 分" in why and "爱心超市兑换 毛巾" in why

    not_enough = texts(me.say("我要换一袋大米"))
    assert "积分还不够" in not_enough and "60 分" in not_enough
    assert log_volunteer(running, code, 10, f"e2e-{code}").startswith("已记过")  # the same log never pays twice
