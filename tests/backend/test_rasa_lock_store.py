"""The Redis lock store of several Rasa servers hands out each ticket once, against a real Redis.

Runs in the production profile (``make test`` starts Redis; E2E_REDIS_URL
points at it). Rasa's own RedisLockStore reads, changes and writes the lock
without a transaction; two servers taking tickets at once got the same
ticket and both went ahead, and one message's events were lost.
"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
from rasa.core.lock_store import RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy.engine import make_url

from backend.rasa_lock_store import AtomicRedisLockStore

REDIS_URL = os.environ.get("E2E_REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: the production profile of make test")


def stores(cls: type, count: int) -> list:
    """``count`` lock stores on the same Redis, as ``count`` Rasa servers would each have."""
    url = make_url(REDIS_URL)
    config = EndpointConfig(url=url.host, port=url.port, db=int(url.database or 1), key_prefix="locktest")
    if cls is AtomicRedisLockStore:
        return [AtomicRedisLockStore(endpoint_config=config) for _ in range(count)]
    return [RedisLockStore(host=url.host, port=url.port, db=int(url.database or 1), key_prefix="locktest")
            for _ in range(count)]  # fmt: skip


def race(store_list: list, conversation: str, per_thread: int) -> list[int]:
    tickets: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(len(store_list))

    def take(store) -> None:
        start.wait()
        for _ in range(per_thread):
            ticket = store.issue_ticket(conversation, 60)
            with guard:
                tickets.append(ticket)

    threads = [threading.Thread(target=take, args=(s,)) for s in store_list]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tickets


def test_servers_taking_tickets_at_once_never_share_one():
    conversation = f"c-{uuid.uuid4().hex}"
    tickets = race(stores(AtomicRedisLockStore, 4), conversation, 100)
    assert sorted(tickets) == list(range(400))
    lock = stores(AtomicRedisLockStore, 1)[0].get_lock(conversation)
    assert lock is not None and len(lock.tickets) == 400


def test_rasas_own_store_does_share_them_which_is_why_this_one_exists():
    shared = False
    for _ in range(5):  # a race: it shows almost every time, give it a few chances
        tickets = race(stores(RedisLockStore, 4), f"c-{uuid.uuid4().hex}", 100)
        shared = shared or len(set(tickets)) < len(tickets)
    assert shared  # if Rasa ever fixes this, the subclass can go


def test_cleanup_keeps_a_lock_someone_waits_on_and_deletes_an_idle_one():
    first, second = stores(AtomicRedisLockStore, 2)
    conversation = f"c-{uuid.uuid4().hex}"
    mine = first.issue_ticket(conversation, 60)
    theirs = second.issue_ticket(conversation, 60)
    lock = first.get_lock(conversation)
    assert lock is not None and not lock.is_locked(mine) and lock.is_locked(theirs)
    first.cleanup(conversation, mine)
    lock = second.get_lock(conversation)
    assert lock is not None and not lock.is_locked(theirs)  # their turn now, the lock kept for them
    second.cleanup(conversation, theirs)
    assert second.get_lock(conversation) is None
    second.update_lock(conversation)  # nothing there: nothing happens
    assert second.get_lock(conversation) is None
