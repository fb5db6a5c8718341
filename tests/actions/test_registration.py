"""The action server registers every action of the package, and nothing it cannot name.

rasa-sdk registers every subclass of ``Action`` it can import (abstract
ones excepted); a helper base class without a name stops the action server
at start-up, which only the end-to-end tests would otherwise show.
"""

import importlib
import inspect
import pkgutil

from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

import actions


def test_every_action_class_of_the_package_is_registered_under_its_name():
    classes = []
    for module_info in pkgutil.iter_modules(actions.__path__):
        module = importlib.import_module(f"actions.{module_info.name}")
        classes += [
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Action) and c.__module__ == module.__name__
        ]
    executor = ActionExecutor()
    executor.register_package("actions")
    names = {c().name() for c in classes if not inspect.isabstract(c)}
    assert len(names) > 20
    assert names <= set(executor.actions)
    assert {"action_submit_report", "validate_report_form", "action_points_balance"} <= names
