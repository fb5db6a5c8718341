"""The OpenAPI schema says which response fields may be null.

Rasa 3.6 pins pydantic 1, whose schemas leave ``null`` out of an optional
field (``notice: str | None = None`` becomes ``{"type": "string"}``), so
the schema FastAPI publishes (OpenAPI 3.1) rejected the app's own answers,
and a client generated from it would choke on every ``null``. The models'
own fields know (``allow_none``); every such property is marked
``anyOf [..., null]`` in the published schema.
"""

from __future__ import annotations

from typing import Any, Callable, get_args, get_origin

from pydantic import BaseModel


def _models(app: Any) -> list[type[BaseModel]]:
    """Every pydantic model a route answers with, and the models inside them."""
    found: dict[str, type[BaseModel]] = {}
    todo: list[Any] = []
    for route in app.routes:
        field = getattr(route, "response_field", None)
        todo.append(getattr(field, "type_", None))
        todo.extend(entry.get("model") for entry in (getattr(route, "responses", None) or {}).values())
    while todo:
        item = todo.pop()
        todo.extend(get_args(item))  # list[TicketSummary], Optional[Reply]
        model = getattr(item, "__pydantic_model__", item)  # a pydantic dataclass carries its model
        if get_origin(model) is not None or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        if model.__name__ in found:
            continue
        found[model.__name__] = model
        todo.extend(field.outer_type_ for field in model.__fields__.values())
    return list(found.values())


def mark_nullable(schema: dict[str, Any], models: list[type[BaseModel]]) -> dict[str, Any]:
    """Mark the properties of ``models`` that may be None as nullable, in place; returns ``schema``."""
    components = (schema.get("components") or {}).get("schemas", {})
    for model in models:
        properties = (components.get(model.__name__) or {}).get("properties") or {}
        for field in model.__fields__.values():
            prop = properties.get(field.alias)
            if not field.allow_none or prop is None or {"type": "null"} in prop.get("anyOf", []):
                continue
            inner = {key: value for key, value in prop.items() if key not in ("title", "description", "default")}
            outer = {key: value for key, value in prop.items() if key in ("title", "description", "default")}
            properties[field.alias] = {**outer, "anyOf": [inner, {"type": "null"}]}
    return schema


def install(app: Any) -> None:
    """Post-process the app's generated schema once, when it is first asked for."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = mark_nullable(generate(), _models(app))
        return app.openapi_schema

    app.openapi = openapi
