"""Rasa's SQL tracker store, reading and writing a conversation with fewer queries and less ORM work.

Rasa's SQL tracker store was the largest part of a Rasa server's CPU under
load (profiles in docs/benchmark.md). Per message Rasa 3.6's ``SQLTrackerStore``:

- reads the conversation as ORM objects, then decodes each row's JSON;
- before saving, runs a ``COUNT`` over the same conversation again to find
  which events are new: it has just read them, under the conversation's
  lock, in this very turn;
- inserts the new events through the ORM's unit of work.

:class:`LeanSQLTrackerStore` keeps Rasa's schema, queries and results and
changes how they are run:

- the read selects only the ``data`` column, with the same filter and order
  (events since the latest ``session_started``, by its timestamp);
- a tracker it read carries the number of rows it was built from, and the
  *first* save of that same object uses it instead of the ``COUNT`` —
  which is the number Rasa would count, because the turn holds the
  conversation's lock (the lock store) from the read to the save. Every
  other save (a new conversation, a second save of one object, a copy)
  counts as Rasa does;
- the new events are inserted with one Core ``INSERT`` of the same rows;
- on PostgreSQL its connections run in autocommit. Every read and every
  insert is one statement, atomic by itself, so the transaction around it
  only cost round trips with the Rasa server's event loop stopped:
  psycopg2 sends a ``BEGIN`` before the first statement and the session
  ends with a ``ROLLBACK`` (a read) or a ``COMMIT`` (a save). A turn's save
  that must count first (a new conversation) runs the count and the insert
  as two statements, as they already were in effect: the conversation's
  lock, not the transaction, keeps another turn out between them;
- the read's two queries (this session's events, or all of them) are built
  once, with the sender as a bound parameter.

Rasa 3.6.21 is the last open-source release, so this cannot be fixed
upstream; the tests compare every read and write with Rasa's own class.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Iterator

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import sessionmaker

STORED_ROWS = "_santong_stored_rows"  # on a tracker read here: (id of that tracker, rows it was built from)


class LeanSQLTrackerStore(SQLTrackerStore):
    """Rasa's ``SQLTrackerStore``, with the read, the new-event count and the insert made cheaper."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]  # Rasa leaves it unannotated
        if engine.dialect.name == "postgresql":
            url = engine.url  # the working database's, after any create-database step
            engine.dispose()
            self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", **create_engine_kwargs(url))
            self.sessionmaker = sessionmaker(bind=self.engine)
        self._data_queries = {every: self._data_query(every) for every in (False, True)}

    def _data_query(self, fetch_events_from_all_sessions: bool) -> sa.sql.Select:
        """``_event_query``'s rows, only their ``data``: the same filter and order, the sender bound at run time."""
        table = self.SQLEvent.__table__
        sender = sa.bindparam("sender_id", type_=table.c.sender_id.type)
        query = sa.select(table.c.data).where(table.c.sender_id == sender)
        if not fetch_events_from_all_sessions:
            session_start = (
                sa.select(sa.func.max(table.c.timestamp).label("session_start"))
                .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
                .subquery()
            )
            query = query.where(
                sa.or_(table.c.timestamp >= session_start.c.session_start, session_start.c.session_start.is_(None))
            )
        return query.order_by(table.c.id)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        """Rasa's read; the tracker remembers how many stored rows it holds."""
        query = self._data_queries[fetch_events_from_all_sessions]
        with self.session_scope() as session:
            rows = session.execute(query, {"sender_id": sender_id}).scalars().all()
        if not (self.domain and rows):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, [json.loads(row) for row in rows], self.domain.slots)
        if not fetch_events_from_all_sessions:
            tracker.__dict__[STORED_ROWS] = (id(tracker), len(rows))
        return tracker

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The events not stored yet: counted at the read for its first save, else counted as Rasa does."""
        mark = tracker.__dict__.pop(STORED_ROWS, None)
        if mark is None or mark[0] != id(tracker):
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, mark[1], len(tracker.events))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save (events streamed to the broker, then the new ones stored), in one Core insert."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = []
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()
