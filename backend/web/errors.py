"""Error answers a person can read: FastAPI's and Starlette's English defaults, in Chinese.

A body of the wrong shape keeps FastAPI's 422 ``detail`` list (the OpenAPI
schema promises it) and gains a ``message``; a body that is not JSON at all,
an unknown address and a wrong method get a Chinese ``detail`` instead of
"There was an error parsing the body", "Not Found" and "Method Not Allowed".
Details the routes wrote themselves are left as they are.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from backend import messages

# What FastAPI says when the body cannot be decoded (not UTF-8, nested too deep).
_BODY_NOT_PARSED = "There was an error parsing the body"
_CHINESE = {
    400: messages.INVALID_REQUEST,
    404: messages.NOT_FOUND,
    405: messages.METHOD_NOT_ALLOWED,
}


async def invalid_request(request: Request, exc: Exception) -> Response:
    """422 for a body or parameter of the wrong shape.

    The inputs are left out of ``detail``: they echo back whatever was sent,
    however long, which a person does not need to read.
    """
    assert isinstance(exc, RequestValidationError)
    errors = [{key: value for key, value in error.items() if key in ("loc", "msg", "type")} for error in exc.errors()]
    content: dict[str, Any] = {"detail": jsonable_encoder(errors), "message": messages.INVALID_REQUEST}
    return JSONResponse(status_code=422, content=content)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's and FastAPI's own English details become Chinese; everything else is unchanged."""
    assert isinstance(exc, StarletteHTTPException)
    default = exc.detail in (_BODY_NOT_PARSED, HTTPStatus(exc.status_code).phrase)
    if default and exc.status_code in _CHINESE:
        exc = StarletteHTTPException(exc.status_code, detail=_CHINESE[exc.status_code], headers=exc.headers)
    return await http_exception_handler(request, exc)


def install_handlers(app: Any) -> None:
    """Register both handlers on the app."""
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)


class Problem(BaseModel):
    """An error answer: one Chinese sentence."""

    detail: str


class Refusal(BaseModel):
    """A refused input: one Chinese sentence, or FastAPI's list of what is wrong with ``message`` to read."""

    detail: str | list[dict[str, Any]]
    message: str | None = None


def problem(description: str) -> dict[str, Any]:
    """An entry of a route's ``responses=``: the error answer's schema and when it is given."""
    return {"model": Problem, "description": description}


def refusal(description: str) -> dict[str, Any]:
    """An entry of a route's ``responses=`` for a 422 that is either kind of refusal."""
    return {"model": Refusal, "description": description}


NOT_JSON = problem("the body is not JSON in UTF-8 (or is nested too deep to read)")
TOO_FAST = problem("this sender sent too many messages; Retry-After says when to send again (Chinese detail)")
STORE_DOWN = problem("the database is unavailable, nothing was stored; Retry-After says when to try again")
