"""Rasa's ``events`` table, as the backend reads it: the one description outside Rasa.

Rasa's SQL tracker store (``backend/rasa_ext/tracker_store.py``, on Rasa's own
``SQLEvent``) writes it; the console's conversation log and review queue read it
and the retention job deletes old conversations from it, all through this table.
Only the columns they use are declared; Rasa 3.6.21 creates more.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
