"""The action server's event loop never waits on the database: every action's work runs in a worker thread.

rasa-sdk runs all actions on one asyncio loop. A SQL statement executed on
that loop's thread stops every other resident's action until the database
answers; these tests record the thread of each statement a real action
sends to the real test database.
"""

import asyncio
import importlib
import inspect
import pkgutil
import threading

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from sqlalchemy import event

import actions
from actions import runtime
from actions.filing import ActionSubmitReport
from actions.points import ActionPointsBalance
from actions.report_form import ValidateReportForm
from actions.ticket_status import ActionTicketStatus
from tests.actions.conftest import make_tracker


def _statement_threads() -> list[int]:
    """The thread of every statement the action server's engine runs from now on."""
    threads: list[int] = []
    engine = runtime.sessions().kw["bind"]
    event.listen(engine, "before_cursor_execute", lambda *args: threads.append(threading.get_ident()))
    return threads


def _action_classes() -> list[type]:
    found = []
    for module_info in pkgutil.iter_modules(actions.__path__):
        module = importlib.import_module(f"actions.{module_info.name}")
        found += [
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Action) and c.__module__ == module.__name__
        ]
    return found


def test_every_action_of_the_package_runs_its_work_in_a_thread():
    classes = _action_classes()
    assert len(classes) > 20
    on_the_loop = [c.__name__ for c in classes if not issubclass(c, (runtime.BackendAction, FormValidationAction))]
    assert on_the_loop == []


async def test_filing_and_reading_send_no_statement_from_the_event_loop(backend):
    threads = _statement_threads()
    loop_thread = threading.get_ident()
    dispatcher = CollectingDispatcher()
    slots = {
        "category": "elevator",
        "report_description": "电梯又停了，老人下不了楼",
        "report_place": "枫林苑三号楼",
        "report_urgency": "urgent",
        "report_phone": "none",
    }
    events = await ActionSubmitReport().run(dispatcher, make_tracker("web:loop1", "确认", slots=slots), {})
    number = next(e["value"] for e in events if e.get("name") == "last_ticket")
    status = CollectingDispatcher()
    await ActionTicketStatus().run(status, make_tracker("web:loop1", f"查一下{number}", "ticket_status"), {})
    await ActionPointsBalance().run(dispatcher, make_tracker("web:loop1", "我有多少积分", "points_balance"), {})
    assert [(m["response"], m["number"]) for m in status.messages] == [("utter_ticket_detail", number)]
    assert threads and loop_thread not in threads


async def test_the_place_check_of_the_report_form_sends_no_statement_from_the_event_loop(backend):
    threads = _statement_threads()
    loop_thread = threading.get_ident()
    tracker = make_tracker(
        "web:loop2", "锦秀花园5栋", "inform_place", slots={"requested_slot": "report_place", "category": "elevator"}
    )
    result = await ValidateReportForm().validate_report_place("锦秀花园5栋", CollectingDispatcher(), tracker, {})
    assert "网格" in result["report_place_display"]
    assert threads and loop_thread not in threads


async def test_the_loop_keeps_running_while_an_action_waits(backend):
    """Other coroutines progress while an action's statements run (the loop ticks during the action)."""
    ticks = 0
    stop = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    counting = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    await ActionPointsBalance().run(CollectingDispatcher(), make_tracker("web:loop3", "积分", "points_balance"), {})
    during = ticks - before
    stop.set()
    await counting
    assert during > 1


def test_threads_asking_for_the_factory_at_once_share_one_engine(backend):
    runtime.forget_sessions()
    start = threading.Barrier(8)
    got: list[object] = []

    def ask():
        start.wait()
        got.append(runtime.sessions())

    workers = [threading.Thread(target=ask) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(got) == 8 and len({id(factory) for factory in got}) == 1


def test_the_action_server_registers_every_action_and_nothing_without_a_name():
    """rasa-sdk registers every subclass of ``Action`` it finds; a base class without a name stops the server."""
    executor = ActionExecutor()
    executor.register_package("actions")
    names = set(executor.actions)
    concrete = {c().name() for c in _action_classes() if not inspect.isabstract(c)}
    assert concrete <= names
    assert {"action_submit_report", "validate_report_form", "action_points_balance"} <= names
