"""查询 GZ… with a real tracker: every timeline line says what it is, a 进展 note included."""

from datetime import datetime, timezone

from rasa_sdk.executor import CollectingDispatcher

from actions.ticket_status import ActionTicketStatus
from backend.tickets.service import note_progress, transition
from tests.actions.conftest import make_tracker
from tests.factories import file_ticket

NOW = datetime.now(timezone.utc)


async def test_a_progress_entry_is_labelled_in_the_chat_timeline(backend):
    with backend.begin() as s:
        ticket = file_ticket(s, sender="ts1", now=NOW)
        transition(session=s, ticket=ticket, to="in_progress", actor="grid_member:gm-fl-01", now=NOW)
        note_progress(session=s, ticket=ticket, actor="grid_member:gm-fl-01", note="已经联系维保单位", now=NOW)
        number = ticket.number
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("web:ts1", f"查询 {number}", "ticket_status", entities=[])
    await ActionTicketStatus().run(dispatcher, tracker, {})
    timeline = dispatcher.messages[0]["timeline"].splitlines()
    assert any(line.endswith("进展：已经联系维保单位") for line in timeline), timeline
    assert not any(" ：" in line for line in timeline), timeline  # no entry without a label
    assert any("已受理" in line for line in timeline) and any("处理中" in line for line in timeline)
