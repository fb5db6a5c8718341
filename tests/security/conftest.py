"""The security suite: each test reproduces one way an outside probe got at residents' data or the stack.

Every test here failed on the ``main`` of 2026-12-05 and passes since the fix
(issue 26). The suite runs in ``make test`` twice: on SQLite, and on the
production profile (PostgreSQL, Redis) through ``TEST_DATABASE_URL``.
"""
