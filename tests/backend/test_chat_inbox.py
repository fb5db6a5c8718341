import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from backend.errors import InvalidInput
from backend.models.chat import ANSWERED, PENDING, ChatMessage, ChatReply
from backend.rasa_client import RasaUnavailable
from backend.services import chat, chat_leases, chat_text


def test_messages_are_cleaned_but_kept_as_typed():
    assert chat_text.clean_text("  3号楼电梯坏了😭 <b>快来</b>\x07 ") == "3号楼电梯坏了😭 <b>快来</b>"
    with pytest.raises(InvalidInput, match="还没有输入"):
        chat_text.clean_text(" \n\t\x00 ")
    with pytest.raises(InvalidInput, match="太长"):
        chat_text.clean_text("长" * (chat_text.MAX_MESSAGE_CHARS + 1))


def test_only_one_party_gets_the_lease(sessions):
    with sessions.begin() as s:
        m = chat.record_message(session=s, sender="web:a", text="你好")
        mid = m.id
    with sessions.begin() as s:
        assert chat_leases.claim(session=s, message_id=mid)
    with sessions.begin() as s:
        assert not chat_leases.claim(session=s, message_id=mid)


class FlakyRasa:
    """Answers like Rasa, or fails like Rasa with the action server down."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.received: list[tuple[str, str]] = []

    async def __call__(self, sender, text):
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RasaUnavailable("Rasa answered with no messages")
        self.received.append((sender, text))
        return [{"recipient_id": sender, "text": f"收到：{text}"}]


async def test_delivery_in_order_and_answers_stored(sessions):
    rasa = FlakyRasa()
    with sessions.begin() as s:
        for text in ("第一条", "第二条", "第三条"):
            chat.record_message(session=s, sender="web:a", text=text)
    report = await chat.deliver_pending(sessions=sessions, sender="web:a", forward=rasa)
    assert report.answered == 3 and report.pending == 0
    assert [t for _, t in rasa.received] == ["第一条", "第二条", "第三条"]
    with sessions() as s:
        replies = chat.replies_since(session=s, sender="web:a", after_id=0)
        assert [r.payload["text"] for r in replies] == ["收到：第一条", "收到：第二条", "收到：第三条"]


async def test_a_message_stored_with_the_delivery_goes_after_those_already_waiting(sessions):
    rasa = FlakyRasa()
    with sessions.begin() as s:
        chat.record_message(session=s, sender="web:w", text="第一条")
    report = await chat.deliver_pending(sessions=sessions, sender="web:w", forward=rasa, store="第二条")
    assert report.answered == 2 and report.pending == 0
    assert [t for _, t in rasa.received] == ["第一条", "第二条"]
    with sessions() as s:
        assert [m.status for m in s.scalars(select(ChatMessage).order_by(ChatMessage.id))] == [ANSWERED, ANSWERED]


async def test_a_refused_message_to_store_changes_nothing_and_forwards_nothing(sessions):
    rasa = FlakyRasa()
    with sessions.begin() as s:
        waiting = chat.record_message(session=s, sender="web:v", text="还在等").id
    with pytest.raises(InvalidInput):
        await chat.deliver_pending(sessions=sessions, sender="web:v", forward=rasa, store=" \u200b ")
    assert rasa.received == []
    with sessions() as s:
        [m] = s.scalars(select(ChatMessage)).all()
        assert m.id == waiting and m.status == PENDING and m.attempts == 0


async def test_failure_keeps_the_message_and_later_ones_wait(sessions):
    rasa = FlakyRasa(fail_first=1)
    with sessions.begin() as s:
        first = chat.record_message(session=s, sender="web:a", text="电梯坏了").id
        chat.record_message(session=s, sender="web:a", text="在3号楼")
    report = await chat.deliver_pending(sessions=sessions, sender="web:a", forward=rasa)
    assert report.answered == 0 and report.pending == 2
    with sessions() as s:
        m = s.get(ChatMessage, first)
        assert m.status == PENDING and m.attempts == 1 and "no messages" in m.last_error
        assert m.next_attempt_at > m.created_at
        # not due yet: the worker would not pick the sender
        assert chat_leases.senders_with_due_messages(session=s) == []
    # once due again, both go through, still in order
    with sessions.begin() as s:
        s.get(ChatMessage, first).next_attempt_at = s.get(ChatMessage, first).created_at
    report = await chat.deliver_pending(sessions=sessions, sender="web:a", forward=rasa)
    assert report.answered == 2
    assert [t for _, t in rasa.received] == ["电梯坏了", "在3号楼"]
    with sessions() as s:
        assert {m.status for m in s.scalars(select(ChatMessage))} == {ANSWERED}


async def test_concurrent_deliveries_never_forward_a_message_twice(sessions):
    class SlowRasa(FlakyRasa):
        async def __call__(self, sender, text):
            await asyncio.sleep(0.05)
            return await super().__call__(sender, text)

    rasa = SlowRasa()
    with sessions.begin() as s:
        for i in range(5):
            chat.record_message(session=s, sender="web:b", text=f"消息{i}")
    await asyncio.gather(*(chat.deliver_pending(sessions=sessions, sender="web:b", forward=rasa) for _ in range(4)))
    # whatever the interleaving, each message reached Rasa at most once and in order
    texts = [t for _, t in rasa.received]
    assert texts == sorted(set(texts), key=texts.index)
    assert texts == [f"消息{i}" for i in range(len(texts))]
    with sessions() as s:
        answered = s.scalars(select(ChatMessage).where(ChatMessage.status == ANSWERED)).all()
        assert len(answered) == len(texts)
        assert len(s.scalars(select(ChatReply)).all()) == len(texts)


def test_history_pairs_messages_with_their_replies(sessions):
    with sessions.begin() as s:
        a = chat.record_message(session=s, sender="web:c", text="你好")
        chat_leases.claim(session=s, message_id=a.id)
        answers = [{"text": "您好"}, {"text": "有什么事？"}]
        chat_leases.record_answer(session=s, message_id=a.id, sender="web:c", answers=answers)
        chat.record_message(session=s, sender="web:c", text="还在吗")
        chat.record_message(session=s, sender="web:other", text="别人的")
    with sessions() as s:
        history = chat.recent_history(session=s, sender="web:c")
    assert [(m.text, [r.payload["text"] for r in rs]) for m, rs in history] == [
        ("你好", ["您好", "有什么事？"]),
        ("还在吗", []),
    ]


def test_an_answer_is_recorded_only_for_the_senders_own_message(sessions):
    with sessions.begin() as s:
        mine = chat.record_message(session=s, sender="web:c", text="你好")
        mine_id = mine.id
    with sessions.begin() as s, pytest.raises(LookupError):
        chat_leases.record_answer(session=s, message_id=mine_id, sender="web:other", answers=[{"text": "您好"}])
    with sessions() as s:
        assert s.get(ChatMessage, mine_id).status == PENDING
        assert s.scalars(select(ChatReply)).all() == []


def test_the_worker_leaves_a_fresh_message_to_the_request_that_stored_it(sessions):
    """The worker's sweep once took a message the web request was delivering: the answer came late, by retry."""
    grace = timedelta(seconds=10)
    with sessions.begin() as s:
        fresh = chat.record_message(session=s, sender="web:fresh", text="电梯坏了")
        stored = fresh.created_at
        failed = chat.record_message(session=s, sender="web:failed", text="路灯坏了")
        chat_leases.record_failure(session=s, message_id=failed.id, error="Rasa answered HTTP 503")
        s.flush()
        failed.next_attempt_at = stored  # its back-off is over
    with sessions() as s:
        # Failed once and due again: retried at once. Never tried and only just stored: not yet.
        assert chat_leases.senders_with_due_messages(session=s, now=stored, grace=grace) == ["web:failed"]
        later = stored + grace + timedelta(seconds=1)  # the request that stored it died: the worker takes over
        assert chat_leases.senders_with_due_messages(session=s, now=later, grace=grace) == ["web:fresh", "web:failed"]


async def test_a_delivery_reads_the_new_replies_in_its_last_transaction(sessions, engine):
    """Claim, then answer + next head + the caller's read: two transactions a message (there were four and a read)."""
    commits: list[int] = []
    event.listen(engine, "commit", lambda connection: commits.append(1))
    with sessions.begin() as s:
        chat.record_message(session=s, sender="web:r", text="你好")
    commits.clear()

    def read(session):
        return [r.payload["text"] for r in chat.replies_since(session=session, sender="web:r", after_id=0)]

    report = await chat.deliver_pending(sessions=sessions, sender="web:r", forward=FlakyRasa(), read=read)
    assert (report.answered, report.pending, report.read) == (1, 0, ["收到：你好"])
    assert len(commits) == 2

    with sessions.begin() as s:
        chat.record_message(session=s, sender="web:r", text="还在吗")
    report = await chat.deliver_pending(sessions=sessions, sender="web:r", forward=FlakyRasa(fail_first=1), read=read)
    assert (report.answered, report.pending, report.read) == (0, 1, ["收到：你好"])  # kept, and said so


async def test_a_failing_read_never_undoes_the_answer_recorded_beside_it(sessions):
    """Rolled back with the read, the answer would be lost and the message forwarded to Rasa again."""
    with sessions.begin() as s:
        mid = chat.record_message(session=s, sender="web:x", text="你好").id
    calls = []

    def read(session):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in the caller's read")
        return [r.payload["text"] for r in chat.replies_since(session=session, sender="web:x", after_id=0)]

    rasa = FlakyRasa()
    report = await chat.deliver_pending(sessions=sessions, sender="web:x", forward=rasa, read=read)
    assert (report.answered, report.read, len(calls)) == (1, ["收到：你好"], 2)  # read again after the commit
    assert len(rasa.received) == 1
    with sessions() as s:
        assert s.get(ChatMessage, mid).status == ANSWERED


async def test_a_stored_message_is_taken_for_delivery_in_the_insert_that_stores_it(sessions, engine):
    """The web chat's usual message: INSERT (lease taken) and one SELECT, then the answer's transaction.

    Before, the claim was an UPDATE of its own after the SELECT: one round
    trip more on every message, while the web app's event loop waits.
    """
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: statements.append(sql.split()[0]))

    def read(session):
        return [r.payload["text"] for r in chat.replies_since(session=session, sender="web:q", after_id=0)]

    rasa = FlakyRasa()
    report = await chat.deliver_pending(sessions=sessions, sender="web:q", forward=rasa, read=read, store="你好")
    assert (report.answered, report.pending, report.read) == (1, 0, ["收到：你好"])
    assert statements[:2] == ["INSERT", "SELECT"]  # stored with its lease, then: is anything older waiting?
    assert statements.count("UPDATE") == 1  # only the answer's; no separate claim
    with sessions() as s:
        [m] = s.scalars(select(ChatMessage)).all()
        assert (m.status, m.attempts) == (ANSWERED, 1)


async def test_a_stored_message_behind_an_earlier_one_gives_its_lease_back_if_the_earlier_fails(sessions):
    """Stored with its lease but not the head: it must stay due (for the worker) once the head's delivery fails."""
    with sessions.begin() as s:
        first = chat.record_message(session=s, sender="web:z", text="第一条").id
    rasa = FlakyRasa(fail_first=1)
    report = await chat.deliver_pending(sessions=sessions, sender="web:z", forward=rasa, store="第二条")
    assert (report.answered, report.pending) == (0, 2)
    with sessions() as s:
        earlier, later = s.scalars(select(ChatMessage).order_by(ChatMessage.id)).all()
        assert earlier.id == first and earlier.attempts == 1 and earlier.last_error
        assert later.status == PENDING and later.attempts == 0
        assert later.next_attempt_at <= earlier.next_attempt_at  # not hidden behind a 60 s lease
