"""Open311 GeoReport v2 over HTTP under ``/open311/v2``, in JSON and XML.

The routes only parse, check the API key and pick the format; the mapping
onto categories and tickets is :mod:`backend.open311`. Every refusal is an
Open311 error list (``[{"code": 400, "description": …}]`` or
``<errors><error>…``) with the same HTTP status, never a 500 for bad input.
Reading needs no key (the spec's list is public) and then shows only the
public view, with no resident's words and no names
(:func:`backend.open311.records.public_record`); a key, when given, must be right,
and shows its client the requests it filed in full, private matters
included. Filing needs a key from ``OPEN311_API_KEYS``. Reading and filing
spend the same per-address token bucket (``open311``); over it the answer is
an Open311 error with status 429 and ``Retry-After``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from backend.categories import default_table
from backend.open311.clients import client_for_key
from backend.open311.errors import Open311Error, bad
from backend.open311.filing import file_request
from backend.open311.queries import find_requests, now_utc
from backend.open311.records import request_records
from backend.open311.service_list import service_definition, services
from backend.open311.xml_format import to_xml
from backend.settings import Settings
from backend.web.deps import AppSettings, Sessions
from backend.web.rate_limits import limit


class SafeJSONResponse(JSONResponse):
    r"""JSON with ``<``, ``>`` and ``&`` written as ``\u003c`` …: the same strings once parsed.

    A stored ``<script>`` then never appears literally in the body, so a
    client or proxy that sniffs the body as HTML cannot run it.
    """

    def render(self, content: Any) -> bytes:
        """Serialise like :class:`JSONResponse`, then escape the three HTML-significant characters."""
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").encode("utf-8")


router = APIRouter(prefix="/open311/v2", tags=["open311"])

FORMATS = ("json", "xml")
XML = "text/xml; charset=utf-8"


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise bad("格式只能是 json 或 xml / format must be json or xml")
    return fmt


def _answer(
    fmt: str, body: list[dict[str, Any]] | dict[str, Any], root: str, item: str | None, status: int = 200
) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, item, body), status_code=status, media_type=XML)
    return SafeJSONResponse(body, status_code=status)


def _error(fmt: str, exc: Open311Error) -> Response:
    body = [{"code": exc.status, "description": exc.description}]
    return _answer(fmt if fmt in FORMATS else "json", body, "errors", "error", status=exc.status)


_spend = limit("open311")


async def allowance(request: Request) -> int:
    """0 when this address may call now, else the seconds it must wait (the ``open311`` bucket).

    A dependency rather than the limiter's own, so that a refusal is an
    Open311 error in the format asked for, like every other refusal here.
    """
    try:
        await _spend(request)
    except HTTPException as exc:
        if exc.status_code != 429:
            raise
        return int((exc.headers or {}).get("Retry-After", "1"))
    return 0


def _too_fast(fmt: str, wait: int) -> Response:
    exc = Open311Error(429, f"请求太频繁，请 {wait} 秒后再试 / too many requests, retry after {wait} seconds")
    response = _error(fmt, exc)
    response.headers["Retry-After"] = str(wait)
    return response


def _client(settings: Settings, key: str | None) -> str | None:
    """The client of a key given on a read; a wrong key is refused rather than ignored."""
    if not key:
        return None
    client = client_for_key(settings.open311_api_keys, key)
    if client is None:
        raise Open311Error(403, "api_key 不对 / invalid api_key")
    return client


@router.get("/services.{fmt}")
def list_services(fmt: str) -> Response:
    """Every request category as a service."""
    try:
        return _answer(_format(fmt), services(default_table()), "services", "service")
    except Open311Error as exc:
        return _error(fmt, exc)


@router.get("/services/{service_code}.{fmt}")
def define_service(service_code: str, fmt: str) -> Response:
    """One service's attributes (the optional urgency)."""
    try:
        return _answer(_format(fmt), service_definition(default_table(), service_code), "service_definition", None)
    except Open311Error as exc:
        return _error(fmt, exc)


@router.post("/requests.{fmt}")
async def create_request(
    fmt: str, request: Request, sessions: Sessions, settings: AppSettings, wait: int = Depends(allowance)
) -> Response:
    """File a request (form-encoded, as the spec has it) and answer its ticket number."""
    if wait:
        return _too_fast(fmt, wait)
    try:
        _format(fmt)
        form: dict[str, str] = {}
        try:
            sent = await request.form()
        except HTTPException as exc:  # a malformed multipart body
            raise bad(f"请求体无法解析 / the body cannot be parsed: {exc.detail}") from None
        for name, value in sent.multi_items():
            if isinstance(value, str):
                form.setdefault(name, value)
        keys = settings.open311_api_keys
        if not keys:
            raise Open311Error(403, "本站未开放 Open311 提交 / filing through Open311 is not enabled here")
        client = client_for_key(keys, form.get("api_key"))
        if client is None:
            raise Open311Error(403, "缺少或错误的 api_key / missing or invalid api_key")
        with sessions.begin() as session:
            filed = file_request(
                session=session,
                table=default_table(),
                client=client,
                secret=settings.secret_key,
                form=form,
                now=now_utc(),
            )
        body = [
            {
                "service_request_id": filed.service_request_id,
                "service_notice": filed.service_notice,
                "account_id": filed.account_id,
            }
        ]
        return _answer(fmt, body, "service_requests", "request", status=201)
    except Open311Error as exc:
        return _error(fmt, exc)


@router.get("/requests.{fmt}")
def list_requests(
    fmt: str, request: Request, sessions: Sessions, settings: AppSettings, wait: int = Depends(allowance)
) -> Response:
    """Requests by id, code, status and date window; newest first, at most 1000."""
    if wait:
        return _too_fast(fmt, wait)
    try:
        _format(fmt)
        # A filter given several times (service_code=road&service_code=traffic) counts as a comma list.
        query = {k: ",".join(request.query_params.getlist(k)) for k in request.query_params}
        client = _client(settings, query.get("api_key"))
        table = default_table()
        with sessions.begin() as session:
            tickets = find_requests(session=session, table=table, query=query, client=client, now=now_utc())
            body = request_records(session=session, table=table, tickets=tickets, client=client)
        return _answer(fmt, body, "service_requests", "request")
    except Open311Error as exc:
        return _error(fmt, exc)


@router.get("/requests/{service_request_id}.{fmt}")
def get_request(
    service_request_id: str,
    fmt: str,
    sessions: Sessions,
    settings: AppSettings,
    api_key: str | None = None,
    wait: int = Depends(allowance),
) -> Response:
    """One request as a list of one; a private matter or a malformed id reads as missing."""
    if wait:
        return _too_fast(fmt, wait)
    try:
        _format(fmt)
        client = _client(settings, api_key)
        table = default_table()
        with sessions.begin() as session:
            tickets = find_requests(
                session=session,
                table=table,
                query={"service_request_id": service_request_id[:40].replace(",", "")},
                client=client,
                now=now_utc(),
            )
            if not tickets:
                raise Open311Error(404, "没有这个诉求 / no such service request")
            body = request_records(session=session, table=table, tickets=tickets[:1], client=client)
        return _answer(fmt, body, "service_requests", "request")
    except Open311Error as exc:
        return _error(fmt, exc)
