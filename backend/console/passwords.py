"""Password hashing with Argon2id (argon2-cffi, the maintained reference binding).

The parameters are argon2-cffi's defaults (RFC 9106's low-memory profile);
when they change, a hash made with older ones still verifies and is
replaced at the next login (:func:`needs_rehash`).

Each check takes 64 MiB and a few hundred milliseconds of both cores, so a
process runs at most :data:`MAX_CHECKS_IN_FLIGHT` at once (:data:`CHECKS`):
a burst of logins waits briefly for a slot or is turned away, instead of
queueing gigabytes of checks and slowing every resident's chat.
"""

from __future__ import annotations

import asyncio
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.errors import InvalidInput

_HASHER = PasswordHasher()
MIN_LENGTH = 10
MAX_CHECKS_IN_FLIGHT = 2  # x 64 MiB: the most a burst of logins adds to the web process
CHECK_WAIT_SECONDS = 3.0  # how long a login waits for a free slot before it is told to come back
_POLL_SECONDS = 0.05
# Verifying against this when the username is unknown takes as long as a real check,
# so the response time does not tell which usernames exist.
_DUMMY_HASH = _HASHER.hash("not-a-password-of-anyone")


class CheckSlots:
    """At most ``size`` password checks at once in this process.

    The web app waits for a slot on its event loop (:meth:`acquire_async`),
    so a login waiting for one holds no worker thread; other callers wait
    in their own thread (:meth:`acquire`).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = threading.BoundedSemaphore(size)

    def acquire(self, timeout: float) -> bool:
        """Take a slot, waiting up to ``timeout`` seconds; whether one was taken."""
        return self._free.acquire(timeout=timeout)

    async def acquire_async(self, timeout: float) -> bool:
        """Take a slot without blocking the event loop, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self._free.acquire(blocking=False):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL_SECONDS)
        return True

    def release(self) -> None:
        """Give a slot back."""
        self._free.release()


CHECKS = CheckSlots(MAX_CHECKS_IN_FLIGHT)


def check_strength(password: str) -> None:
    """Refuse passwords too short to survive a guessing attack on a leaked hash.

    Raises:
        InvalidInput: shorter than :data:`MIN_LENGTH`, or all one character.
    """
    if len(password) < MIN_LENGTH or len(set(password)) < 4:
        raise InvalidInput(f"密码至少 {MIN_LENGTH} 位，且不能是同一个字符重复。")


def hash_password(password: str) -> str:
    """The Argon2id hash to store."""
    check_strength(password)
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; an unknown account (``None``) costs the same time and fails.

    The caller holds a slot of :data:`CHECKS` (a login does) so that checks stay bounded.
    """
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored_hash)
