"""The graph runner without dask gives what Rasa's dask runner gives, running the same nodes once each."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import GraphNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from backend.rasa_ext.patches import graph_runner as rasa_graph_runner

DASK = DaskGraphRunner.run  # Rasa's own, as long as this module is imported before install()
if DASK is rasa_graph_runner.run:
    DASK = rasa_graph_runner._ORIGINAL["run"]

SCRIPT = [
    "你好",
    "楼下垃圾好几天没人收",
    "/report_start",
    "和园新村5号楼",
    "很急",
    "13800138000",
    "/affirm",
    "我的工单怎么样了",
    "积分有多少",
    "😀😀😀",
    "",
    "谢谢",
]


def _comparable(output: Any) -> Any:
    """A graph output as values: messages as their parse (features are numpy), predictions as they compare."""
    if isinstance(output, list) and output and isinstance(output[0], Message):
        return [m.as_dict(only_output_properties=True) for m in output]
    return output


@pytest.fixture
def calls(agent, monkeypatch):
    """Every graph run while the agent answers: each target's output from dask and from ours, and the nodes run."""
    seen: list[dict[str, Any]] = []
    ran: list[str] = []
    real_call = GraphNode.__call__

    def counted(node, *parents):
        ran.append(node._node_name)
        return real_call(node, *parents)

    def both(self, inputs=None, targets=None):
        ran.clear()
        theirs = DASK(self, copy.deepcopy(inputs), targets)
        by_dask = list(ran)
        ran.clear()
        ours = rasa_graph_runner.run(self, inputs, targets)
        seen.append(
            {
                "targets": targets,
                "dask": {k: _comparable(v) for k, v in theirs.items()},
                "ours": {k: _comparable(v) for k, v in ours.items()},
                "dask nodes": sorted(by_dask),
                "our nodes": list(ran),
            }
        )
        return ours

    monkeypatch.setattr(GraphNode, "__call__", counted)
    monkeypatch.setattr(DaskGraphRunner, "run", both)
    return seen


async def test_real_conversations_get_the_same_parse_and_predictions(agent, calls):
    for sender in ("graph-a", "graph-b"):
        for text in SCRIPT:
            await agent.handle_text(text, sender_id=sender)
    assert len(calls) > 3 * len(SCRIPT)  # parses and predictions
    kinds = {tuple(c["targets"] or ()) for c in calls}
    assert len(kinds) >= 2  # the NLU graph and the policies' graph both ran
    for call in calls:
        assert call["ours"] == call["dask"], call["targets"]
        assert sorted(call["our nodes"]) == call["dask nodes"]  # the same nodes, each once
        assert len(set(call["our nodes"])) == len(call["our nodes"])


def test_each_node_runs_after_the_nodes_it_needs(agent):
    runner = agent.processor.graph_runner
    schema = runner._graph_schema
    nlu, core = agent.processor.model_metadata.nlu_target, agent.processor.model_metadata.core_target
    for targets in ([nlu], [core], [nlu, core], [core, nlu]):
        steps = rasa_graph_runner.plan(schema, list(targets))
        done: set[str] = set()
        for name, parents in steps:
            assert all(p in done or p not in schema.nodes for p in parents), name
            done.add(name)
        assert done == set(schema.minimal_graph_schema(list(targets)).nodes)


def test_the_order_is_worked_out_once_per_targets(agent, monkeypatch):
    runner = agent.processor.graph_runner
    worked_out: list[tuple[str, ...]] = []
    real_plan = rasa_graph_runner.plan

    def counting(schema, targets):
        worked_out.append(tuple(targets))
        return real_plan(schema, targets)

    monkeypatch.setattr(rasa_graph_runner, "plan", counting)
    monkeypatch.setitem(runner.__dict__, rasa_graph_runner.PLANS_KEY, {})
    targets = [agent.processor.model_metadata.nlu_target]
    tracker = DialogueStateTracker("graph-order", agent.domain.slots)
    first, second = (
        rasa_graph_runner.run(runner, {"__message__": [UserMessage("路灯不亮了")], "__tracker__": tracker}, targets)
        for _ in range(2)
    )
    assert worked_out == [tuple(targets)]
    assert {k: _comparable(v) for k, v in first.items()} == {k: _comparable(v) for k, v in second.items()}


def test_an_input_named_like_a_node_is_refused_as_rasa_refuses_it(agent):
    runner = agent.processor.graph_runner
    targets = [agent.processor.model_metadata.nlu_target]
    node = next(iter(runner._graph_schema.minimal_graph_schema(targets).nodes))
    errors = []
    for runner_run in (DASK, rasa_graph_runner.run):
        with pytest.raises(GraphRunError) as raised:
            runner_run(runner, {"__message__": node}, targets)
        errors.append(str(raised.value))
    assert errors[0] == errors[1]


def test_a_failing_component_fails_the_run_as_under_dask(agent, monkeypatch):
    runner = agent.processor.graph_runner
    nlu_target = agent.processor.model_metadata.nlu_target
    needed = runner._graph_schema.minimal_graph_schema([nlu_target]).nodes
    failing = next(
        runner._instantiated_nodes[name] for name in needed if runner._instantiated_nodes[name]._fn_name == "process"
    )

    def broken(*args, **kwargs):
        raise ValueError("broken component")

    monkeypatch.setattr(failing, "_fn", broken)
    kinds = []
    for runner_run in (DASK, rasa_graph_runner.run):
        with pytest.raises(GraphComponentException) as raised:
            runner_run(runner, {"__message__": [UserMessage("垃圾没人收")]}, [nlu_target])
        kinds.append((type(raised.value), type(raised.value.__cause__), str(raised.value)))
    assert kinds[0] == kinds[1]


def test_install_replaces_the_dask_runner(monkeypatch):
    monkeypatch.setattr(DaskGraphRunner, "run", DASK)
    monkeypatch.setitem(rasa_graph_runner._ORIGINAL, "run", DASK)
    rasa_graph_runner.install()
    rasa_graph_runner.install()
    assert DaskGraphRunner.run is rasa_graph_runner.run
    assert rasa_graph_runner._ORIGINAL["run"] is DASK


def test_an_input_named_like_a_node_replaces_that_node_as_under_dask(agent, monkeypatch):
    """An input that names a node stands for its output; the nodes it needed still run once, as dask runs them."""
    runner = agent.processor.graph_runner
    nlu_target = agent.processor.model_metadata.nlu_target
    tokenizer = next(n for n in runner._graph_schema.minimal_graph_schema([nlu_target]).nodes if "Tokenizer" in n)
    ran: list[str] = []
    real_call = GraphNode.__call__

    def counted(node, *parents):
        ran.append(node._node_name)
        return real_call(node, *parents)

    monkeypatch.setattr(GraphNode, "__call__", counted)
    tracker = DialogueStateTracker("graph-input", agent.domain.slots)
    given = {"__message__": [UserMessage("小区门口路灯坏了")], "__tracker__": tracker}
    tokens = rasa_graph_runner.run(runner, copy.deepcopy(given), [tokenizer])[tokenizer]
    results, nodes = [], []
    for runner_run in (DASK, rasa_graph_runner.run):
        ran.clear()
        inputs = copy.deepcopy({**given, tokenizer: tokens})
        results.append(_comparable(runner_run(runner, inputs, [nlu_target])[nlu_target]))
        nodes.append(sorted(ran))
    assert results[0] == results[1] and results[0][0]["intent"]["name"] == "streetlight"
    assert nodes[0] == nodes[1] and tokenizer not in nodes[0]
