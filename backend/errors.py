"""The domain's exceptions, one hierarchy for every service.

Services raise these for expected failures; callers (actions, web routes, the
command line) catch :class:`DomainError` and show its message, which is
always plain Chinese a resident or an admin can read. Anything else is a bug.

- ``DomainError``: base of all expected failures.
  - ``InvalidRegistry``: a registry, rules or demo file is malformed.
  - ``NotFound``: the thing asked for does not exist (or is not the asker's).
  - ``InvalidInput``: a value a person typed cannot be used.
"""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure with a message fit to show to a person."""


class InvalidRegistry(DomainError):
    """A configuration file (registry, points, demo residents) is malformed."""


class NotFound(DomainError):
    """The record does not exist, or the asker may not see it."""


class InvalidInput(DomainError):
    """A value the person gave cannot be used."""
