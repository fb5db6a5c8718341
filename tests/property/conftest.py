"""The fuzz runs send hundreds of requests from one test client: the per-sender limits are off here.

They are tested on their own in ``tests/backend/test_rate_limits.py``; what
is fuzzed here is how the endpoints treat what arrives, not how often.
"""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture()
def settings(settings):
    return dataclasses.replace(settings, rate_limit_per_minute=0)
