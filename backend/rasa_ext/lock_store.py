"""Rasa's Redis lock store with every read-modify-write made atomic (production profile, several Rasa servers).

Rasa 3.6's ``RedisLockStore`` reads a conversation's ticket lock, changes
it in Python and writes it back with plain GET and SET. Two Rasa servers
taking a message of the same conversation at the same moment can both read
"no tickets", both issue ticket 0 and both go ahead: each then saves the
tracker it read, and the later save silently drops the earlier message's
events (Rasa stores only the events beyond the count already stored). The
end-to-end test that sends two messages at once to two servers lost one
that way on PostgreSQL. Finishing a ticket had the same race with a
newcomer's ticket (the lock was deleted under it).

Here each change runs in a Redis WATCH / MULTI transaction and is retried
if another server changed the lock in between, so tickets are issued and
removed one at a time; everything else (waiting for one's turn, lifetimes)
is Rasa's own. endpoints.yml names this class when REDIS_URL is set.

Nearly every message finds its conversation unlocked. For that case the
lock is created with the message's ticket in one ``SET … NX``, the ticket
is known to be first in line (no read to check it), and the lock is
deleted afterwards by a script that deletes it only if it is still exactly
what was written: two Redis round trips per message instead of seven, on
Rasa's synchronous client, which holds up the whole server meanwhile. When
another message of the conversation took a ticket in between (the SET
finds a lock, or the script finds it changed), the transaction above does
the work as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

T = TypeVar("T")
Change = Callable[[TicketLock | None], tuple[TicketLock | None, T]]

# Deletes the lock only while it is still exactly what this server wrote (nobody took a ticket since).
_DELETE_IF_UNCHANGED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose ticket changes cannot interleave across servers."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)
        self._delete_if_unchanged = self.red.register_script(_DELETE_IF_UNCHANGED)
        # (conversation, ticket) -> the lock and its text as written, for tickets that created their lock.
        self._created: dict[tuple[str, int], tuple[TicketLock, str]] = {}

    def _change(self, conversation_id: str, change: Change[T]) -> T:
        """Apply ``change`` to the stored lock atomically (None: no lock / delete it); its result."""
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new, result = change(lock)
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new.dumps())
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another server changed this lock meanwhile: read it again

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket for the conversation, numbered after every ticket issued before it."""

        def issue(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            lock, ticket = issue(None)
            written = lock.dumps()
            if self.red.set(self.key_prefix + conversation_id, written, nx=True):  # nobody else's lock: ours
                self._created[(conversation_id, ticket)] = (lock, written)
                return ticket
            ticket = self._change(conversation_id, issue)
            self._created.pop((conversation_id, ticket), None)  # one left by a ticket never cleaned up
            return ticket
        except Exception as exc:  # as Rasa's own: any failure to take a ticket is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        """The lock once it is this ticket's turn; at once for a ticket that created the lock (it is first)."""
        created = self._created.get((conversation_id, ticket))
        if created is not None:
            return created[0]
        return await super()._acquire_lock(conversation_id, ticket, wait_time_in_seconds)

    def update_lock(self, conversation_id: str) -> None:
        """Remove the expired tickets."""

        def prune(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, prune)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove a served ticket."""
        self._change(conversation_id, _without(ticket_number, delete_when_idle=False))

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove a served ticket, and the lock with it when nobody waits (in one step, not two)."""
        created = self._created.pop((conversation_id, ticket_number), None)
        key = self.key_prefix + conversation_id
        if created is not None and self._delete_if_unchanged(keys=[key], args=[created[1]]):
            return  # the lock held this ticket alone until now: deleted
        self._change(conversation_id, _without(ticket_number, delete_when_idle=True))


def _without(ticket_number: int, *, delete_when_idle: bool) -> Any:
    def remove(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
        if lock is None:
            return None, None
        lock.remove_ticket_for(ticket_number)
        if delete_when_idle and not lock.is_someone_waiting():
            return None, None
        return lock, None

    return remove
