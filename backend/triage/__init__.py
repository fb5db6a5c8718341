"""Triage: from a resident's words and the NLU's guess to category, matter, place and what to ask.

The same functions serve the bot's actions, ``POST /api/triage`` and
``python -m backend triage``, so the three always agree.
"""
