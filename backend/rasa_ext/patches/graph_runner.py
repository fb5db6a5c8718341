"""Rasa's model graph run node after node, without dask's scheduler (installed with the speedups).

Rasa 3.6 parses every message and makes every prediction (two to four per
message) by running a graph of components through ``DaskGraphRunner.run``.
That method works out the part of the graph the targets need
(``minimal_graph_schema``, a recursive walk that builds lists), builds a
dask graph of it, and hands it to ``dask.get``, dask's synchronous
scheduler, which orders the tasks, tracks their states and runs them one
after the other in this thread. That bookkeeping, for a graph that is the
same on every call, was a tenth of a Rasa server's busy time under load
(measured in docs/benchmark.md).

:func:`run` does what ``dask.get`` did with what it was given: the order in
which the nodes can run (each after the nodes it needs) is worked out once
per list of targets and kept on the runner; each call runs those nodes in
that order, feeding every node its parents' ``(name, output)`` pairs as
dask did, and returns ``{target: output}``. Its edges are Rasa's: inputs
replace the placeholder nodes they name (and one whose value is the name
of a node is refused with the same ``GraphRunError``), a node's parent that
is neither a node nor an input is passed as its bare name (GraphNode logs
its warning), every node of the targets' part of the graph runs once, even
one whose output an input replaced the need for (``dask.get`` runs the
whole graph it is handed), exceptions propagate as they did and a
``RuntimeError`` becomes ``GraphRunError``.

Rasa 3.6.21 is the last open-source release, so this cannot be changed
upstream; a test runs real conversations through both runners and compares
every graph's result and the nodes it ran.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.exceptions import GraphRunError

logger = logging.getLogger(__name__)

PLANS_KEY = "_santong_plans"  # in the runner's __dict__: {targets: (the plan, its node names)}
_ORIGINAL: dict[str, Any] = {}

Plan = list[tuple[str, tuple[str, ...]]]


def plan(schema: Any, targets: list[str]) -> Plan:
    """Every node of ``schema`` the targets need, each after its parents, with its parents' names.

    The nodes are those of ``schema.minimal_graph_schema(targets)``, the
    part of the graph Rasa hands to dask; a parent that is no node (an
    input placeholder) is listed as a parent but not run.
    """
    nodes = schema.minimal_graph_schema(targets).nodes
    order: Plan = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(name: str) -> None:
        if name in placed or name not in nodes:
            return
        if name in visiting:
            raise ValueError(f"the graph has a cycle through node '{name}'")
        visiting.add(name)
        parents = tuple(nodes[name].needs.values())
        for parent in parents:
            place(parent)
        visiting.discard(name)
        placed.add(name)
        order.append((name, parents))

    for name in [*targets, *nodes]:  # the targets first, then any node of the part nothing led to
        place(name)
    return order


def run(self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None) -> dict[str, Any]:
    """``DaskGraphRunner.run``: the targets' outputs, the graph's nodes run in an order worked out once."""
    run_targets = targets if targets else self._graph_schema.target_names
    plans = self.__dict__.setdefault(PLANS_KEY, {})
    key = tuple(run_targets)
    kept = plans.get(key)
    if kept is None:
        steps = plan(self._graph_schema, run_targets)
        kept = plans[key] = (steps, frozenset(name for name, _ in steps))
    steps, names = kept
    results: dict[str, Any] = {}
    if inputs:
        for input_name, input_value in inputs.items():
            if isinstance(input_value, str) and (input_value in names or input_value in results):
                raise GraphRunError(
                    f"Input value '{input_value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are the "
                    f"same as node names in the graph schema."
                )
            results[input_name] = (input_name, input_value)
    if logger.isEnabledFor(logging.DEBUG):  # Rasa's line, without formatting the inputs for nothing
        logger.debug(f"Running graph with inputs: {inputs}, targets: {targets} and {self._execution_context}.")
    nodes = self._instantiated_nodes
    try:
        for name, parents in steps:
            if name in results:  # an input replaces this node (and its output)
                continue
            results[name] = nodes[name](*[results.get(parent, parent) for parent in parents])
        return dict(results[target] for target in run_targets)
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e


def install() -> None:
    """Make Rasa's graph runner run its nodes with :func:`run`."""
    from rasa.engine.runner.dask import DaskGraphRunner

    if DaskGraphRunner.run is not run:
        _ORIGINAL["run"] = DaskGraphRunner.run
        DaskGraphRunner.run = run
