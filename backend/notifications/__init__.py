"""Ticket news: who is told what when a ticket changes, written into their chats with the change.

One outbox carries it: the chat replies (:class:`~backend.models.chat.ChatReply`)
that the web page shows and the Telegram bridge sends with its retry policy
(:mod:`bot.outgoing`). The news is written in the transaction that changes
the ticket, so it commits or rolls back with the change.

- :mod:`backend.notifications.outbox`: one piece of news into one chat.
- :mod:`backend.notifications.ticket_news`: the resident who filed a ticket and its followers.
- :mod:`backend.notifications.dispatch_notice`: the grid member a ticket was dispatched to.
"""

from backend.notifications.dispatch_notice import member_dispatch_text, queue_dispatch_notice, take_button
from backend.notifications.outbox import tell
from backend.notifications.ticket_news import RATING_QUESTION, queue_ticket_event, ticket_event_text

__all__ = [
    "RATING_QUESTION",
    "member_dispatch_text",
    "queue_dispatch_notice",
    "queue_ticket_event",
    "take_button",
    "tell",
    "ticket_event_text",
]
