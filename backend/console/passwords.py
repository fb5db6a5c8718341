"""Password hashing with Argon2id (argon2-cffi, the maintained reference binding).

The parameters are argon2-cffi's defaults (RFC 9106's low-memory profile);
when they change, a hash made with older ones still verifies and is
replaced at the next login (:func:`needs_rehash`).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.errors import InvalidInput

_HASHER = PasswordHasher()
MIN_LENGTH = 10
# Verifying against this when the username is unknown takes as long as a real check,
# so the response time does not tell which usernames exist.
_DUMMY_HASH = _HASHER.hash("not-a-password-of-anyone")


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
    """Whether ``password`` matches; an unknown account (``None``) costs the same time and fails."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored_hash)
