"""The lean tracker store reads and writes exactly what Rasa's SQLTrackerStore does, with fewer queries.

Both stores write the same turns into one real database (SQLite, or the
PostgreSQL of the production profile), under two sender ids; the rows and
the trackers read back must be the same, and the lean store must not count
the conversation again before a save that follows its own read.
"""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from backend.rasa_ext.tracker_store import LeanSQLTrackerStore


def _store(cls: type, database_url: str) -> SQLTrackerStore:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return cls(Domain.empty(), dialect="sqlite", db=url.database)
    return cls(Domain.empty(), dialect="postgresql", host=url.host, port=url.port, db=url.database,
               username=url.username, password=url.password)  # fmt: skip


def _session_start(at: float) -> list:
    return [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at),
            ActionExecuted("action_listen", timestamp=at)]  # fmt: skip


def _exchange(at: float, text: str, answer: str) -> list:
    return [
        UserUttered(text, intent={"name": "report_problem", "confidence": 0.93}, timestamp=at),
        SlotSet("report_place", "和园新村4号楼", timestamp=at + 0.1),
        BotUttered(answer, {"buttons": [{"title": "很急", "payload": "/urgent"}]}, timestamp=at + 0.2),
        ActionExecuted("action_listen", timestamp=at + 0.3),
    ]


TURNS = [
    _session_start(1.0) + _exchange(2.0, "路灯坏了", "在哪里？"),
    _exchange(4.0, "和园新村4号楼门口", "有多急？"),
    _exchange(6.0, "很急 天黑看不见", "已登记"),
    _session_start(100.0) + _exchange(101.0, "上次那个工单怎么样了", "正在处理"),  # a new session, same tracker
    _exchange(103.0, "谢谢", "不客气"),
]


async def _turn(store: SQLTrackerStore, sender: str, events: list, split: bool = False) -> None:
    """One turn as Rasa's processor runs it: read, add the turn's events, save (twice when ``split``)."""
    tracker = await store.retrieve(sender) or DialogueStateTracker(sender, slots=[])
    half = len(events) // 2 if split else len(events)
    for event in events[:half]:
        tracker.update(event)
    if split:
        await store.save(tracker)
        for event in events[half:]:
            tracker.update(event)
    await store.save(tracker)


def _rows(store: SQLTrackerStore, sender: str) -> list[tuple]:
    table = store.SQLEvent.__table__
    columns = [table.c.type_name, table.c.timestamp, table.c.intent_name, table.c.action_name, table.c.data]
    with store.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(sa.select(*columns).where(table.c.sender_id == sender)
                                                     .order_by(table.c.id))]  # fmt: skip


@pytest.fixture
def stores(database_url):
    rasas, lean = _store(SQLTrackerStore, database_url), _store(LeanSQLTrackerStore, database_url)
    yield rasas, lean
    rasas.engine.dispose()
    lean.engine.dispose()


def _counting(store: SQLTrackerStore) -> list[str]:
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda c, cur, statement, *a: statements.append(statement))
    return statements


async def test_the_same_turns_write_the_same_rows_and_read_back_the_same(stores):
    rasas, lean = stores
    for index, events in enumerate(TURNS):
        await _turn(rasas, "rasa", events, split=index == 2)
        await _turn(lean, "lean", events, split=index == 2)
    assert _rows(lean, "lean") == _rows(rasas, "rasa")
    assert len(_rows(lean, "lean")) == sum(len(t) for t in TURNS)  # nothing stored twice, nothing lost

    for read in ("retrieve", "retrieve_full_tracker"):
        ours = await getattr(lean, read)("lean")
        theirs = await getattr(rasas, read)("rasa")
        assert [e.as_dict() for e in ours.events] == [e.as_dict() for e in theirs.events]
    assert len((await lean.retrieve("lean")).events) == len(TURNS[3]) + len(TURNS[4])  # the latest session only
    assert await lean.retrieve("nobody") is None


async def test_a_save_after_the_stores_own_read_does_not_count_again(stores):
    rasas, lean = stores
    for store, sender in ((rasas, "rasa"), (lean, "lean")):
        await _turn(store, sender, TURNS[0])
    rasa_statements, lean_statements = _counting(rasas), _counting(lean)
    await _turn(rasas, "rasa", TURNS[1])
    await _turn(lean, "lean", TURNS[1])
    assert any("count(" in s.lower() for s in rasa_statements)
    assert not any("count(" in s.lower() for s in lean_statements)
    assert len(lean_statements) < len(rasa_statements)
    assert _rows(lean, "lean") == _rows(rasas, "rasa")


async def test_a_second_save_or_a_copy_counts_as_rasa_does(stores):
    """Only the first save of the very object read may skip the count: nothing is stored twice."""
    _, lean = stores
    await _turn(lean, "lean", TURNS[0])
    tracker = await lean.retrieve("lean")
    duplicate = copy.deepcopy(tracker)
    for event in TURNS[1]:
        tracker.update(event)
        duplicate.update(event)
    statements = _counting(lean)
    await lean.save(tracker)
    await lean.save(tracker)
    await lean.save(duplicate)
    assert sum("count(" in s.lower() for s in statements) == 2
    assert len(_rows(lean, "lean")) == len(TURNS[0]) + len(TURNS[1])


async def test_a_new_conversation_is_saved_whole(stores):
    _, lean = stores
    tracker = await lean.create_tracker("new")
    for event in TURNS[0]:
        tracker.update(event)
    await lean.save(tracker)
    assert [r[0] for r in _rows(lean, "new")] == ["action"] + [e.type_name for e in TURNS[0]]


async def test_on_postgresql_each_read_and_save_is_one_statement_without_a_transaction_around_it(stores):
    """No BEGIN before the statement, no COMMIT or ROLLBACK after it: autocommit connections (PostgreSQL only).

    (psycopg2 sends the BEGIN itself, unseen by SQLAlchemy's events; ``strace`` counted 319 messages to the
    server for 50 turns before, 125 after.)
    """
    rasas, lean = stores
    statements = _counting(lean)
    await _turn(lean, "lean", TURNS[0])
    await _turn(lean, "lean", TURNS[1])
    with lean.engine.connect() as connection, rasas.engine.connect() as theirs:
        ours_autocommit = getattr(connection.connection.dbapi_connection, "autocommit", None)
        rasas_autocommit = getattr(theirs.connection.dbapi_connection, "autocommit", None)
    if lean.engine.dialect.name != "postgresql":
        assert ours_autocommit == rasas_autocommit  # SQLite: the store's connections as Rasa makes them
        return
    assert ours_autocommit is True and rasas_autocommit is False
    # turn 1: read (nothing), count (a new conversation), insert; turn 2: read, insert (no count after its own read)
    kinds = [s.split()[0].upper() for s in statements]
    assert kinds == ["SELECT", "SELECT", "INSERT", "SELECT", "INSERT"]
    assert len(_rows(lean, "lean")) == len(TURNS[0]) + len(TURNS[1])
