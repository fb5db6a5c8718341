"""Actions stay thin (DESIGN.md convention 2): no action runs another action, none queries the database.

Shared behaviour lives in plain functions (``triage_request``,
``answer_ticket_status`` …) that the action and its callers both use; a
database look-up is a feature's service function. ``lint-imports`` checks
the imports too (the contract on ``sqlalchemy`` in ``pyproject.toml``); this
test also catches a query written through a session handed in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ACTIONS = sorted((Path(__file__).resolve().parents[2] / "actions").glob("*.py"))
QUERY_METHODS = {"execute", "scalar", "scalars", "get", "query", "add", "delete", "flush"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _type_checking_blocks(tree: ast.Module) -> list[ast.If]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.name)
def test_no_action_runs_another_actions_run(path):
    """``SomeAction().run(…)`` (or ``factory(…).run(…)``) hides one action inside another."""
    calls = [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run"
        and isinstance(node.func.value, ast.Call)
    ]
    assert calls == []


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.name)
def test_no_sql_in_actions(path):
    """No sqlalchemy import outside ``TYPE_CHECKING``, and no query through a session."""
    tree = _tree(path)
    hinted = {id(n) for block in _type_checking_blocks(tree) for n in ast.walk(block)}
    imports = [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and id(node) not in hinted
        and any(
            name.startswith("sqlalchemy")
            for name in ([node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])
        )
    ]
    queries = [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in QUERY_METHODS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "session"
    ]
    assert imports == [] and queries == []
