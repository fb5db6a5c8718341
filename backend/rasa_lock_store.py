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


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose ticket changes cannot interleave across servers."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

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

        def issue(lock: TicketLock | None) -> tuple[TicketLock | None, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as exc:  # as Rasa's own: any failure to take a ticket is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

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
