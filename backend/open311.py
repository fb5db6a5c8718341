"""Open311 GeoReport v2 mapped onto the category table and the ticket model.

A 12345 platform (or any Open311 client) files and follows requests through
the same services the chat uses; nothing here keeps its own copy of a
ticket. The mapping, decided once and documented in ``docs/open311.md``:

- **services** are the 21 request categories of ``config/categories.yml``.
  ``service_code`` is the category code verbatim (the codes are a fixed
  contract), ``service_name`` the Chinese name, ``group`` the matter
  (公家事 / 大家事 / 自家事), ``description`` the handler, the tier and the
  deadline, ``type`` is ``realtime`` (the ticket number is returned at
  once). Every service has one optional attribute, ``urgency``
  (normal / urgent / emergency), the same choice the chat's form asks.
- **requests** are tickets. ``service_request_id`` is the ticket number
  (GZ…); ``status`` is ``open`` for the lifecycle's open statuses and
  ``closed`` for everything else (办结, 已评价, 仅提供指引);
  ``agency_responsible`` the department, else the category's handler;
  ``expected_datetime`` the deadline. Times are ISO 8601 in district time
  (Asia/Shanghai, ``+08:00``). What the other fields hold depends on the
  reader (below, **Privacy**).
- **Filing** goes through :func:`backend.tickets.service.create_ticket`
  with the place routed by the registry, exactly as the chat files. The
  caller is a *system* identified by its API key (``OPEN311_API_KEYS``);
  the request belongs to a resident whose channel identity is
  ``open311:<client>:…`` — the client's ``account_id`` if it gives one,
  else a keyed digest of the phone or the e-mail (a digest, not the
  number, because a resident row is created "without personal data"; the
  phone the person gave is kept on the ticket as the chat keeps it, for
  the call back). Names are not stored: handling needs a number to call,
  not a name. Coordinates alone cannot be routed (there is no geocoder):
  the ticket is filed with the coordinates in its place text, unrouted,
  for manual dispatch — the path the chat takes for an unknown place —
  and ``service_notice`` says so.
- **Privacy**: the request list is public in Open311, so its public view
  (:func:`public_record`) is safe by construction: it is built from
  columns that hold nothing anyone typed — the category, the status and
  escalation level (``status_notes`` is a sentence of the lifecycle, never
  a staff note, so no grid member's name), the registry's name of the
  routed place as ``address`` (枫林苑3号楼, 学府街; empty when unrouted),
  no coordinates — and ``description`` is empty unless a staff member
  published a summary from the console (``Ticket.public_summary``), shown
  through :func:`backend.privacy.mask_text` with room numbers masked too.
  A client that reads with its API key sees the requests *it* filed in
  full (:func:`full_record`: what it sent, the place as given, the
  latest staff note) and everyone else's in the public view. Private
  matters (自家事) may be filed (a 12345 operator does forward household
  matters) but are a household's own business, so they are not listed and
  read as missing — except to the client that filed them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm import Session, selectinload

from backend.categories import DISTRICT_TZ, Category, CategoryTable
from backend.errors import DomainError
from backend.models import Building, Department, Grid, Place, Resident, Ticket, TicketEvent
from backend.privacy import mask_text
from backend.services.residents import get_or_create_resident
from backend.tickets.escalation import LEVEL_NAMES
from backend.tickets.lifecycle import OPEN_STATUSES, STATUS_NAMES
from backend.tickets.numbering import NUMBER
from backend.tickets.service import URGENCIES, create_ticket
from backend.tickets.urgency import URGENCY_NAMES
from backend.triage.entities import extract, mobile_number

CHANNEL = "open311"
MAX_DESCRIPTION = 4000
MAX_RESULTS = 1000
MAX_IDS = 100
DEFAULT_WINDOW = timedelta(days=90)
# The timeline kinds whose note tells how the handling goes (not what a resident wrote or rated).
NOTE_KINDS = ("assigned", "needs_dispatch", "status", "progress", "place_added")
_COORDINATES = re.compile(r"坐标 (-?\d{1,2}\.\d+),(-?\d{1,3}\.\d+)")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}")
_URL = re.compile(r"https?://[^\s<>\"']{1,490}")
# Characters XML 1.0 cannot carry at all (escaping does not help): dropped on output only.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Error(DomainError):
    """A request the Open311 API refuses, with the HTTP status it answers with."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def bad(description: str) -> Open311Error:
    """A 400 with ``description``."""
    return Open311Error(400, description)


# --- clients -----------------------------------------------------------------------------------


def client_for_key(keys: tuple[tuple[str, str], ...], given: str | None) -> str | None:
    """The client name whose key is ``given``, comparing every key in constant time (no early exit).

    Digests are compared rather than the keys, so the time does not tell a
    key's length either.
    """
    found = None
    candidate = hashlib.sha256((given or "").encode()).digest()
    for name, key in keys:
        if hmac.compare_digest(hashlib.sha256(key.encode()).digest(), candidate) and given:
            found = name
    return found


def identity(*, secret: str, client: str, account_id: str, phone: str | None, email: str) -> str:
    """The resident's ``sender_id`` on the open311 channel: the account, else a digest of phone or e-mail."""
    if account_id:
        return f"{client}:acct:{account_id}"
    for kind, value in (("tel", phone), ("mail", email.lower())):
        if value:
            digest = hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
            return f"{client}:{kind}:{digest}"
    return f"{client}:anonymous"


# --- services ----------------------------------------------------------------------------------


def _deadline_rule(category: Category) -> str:
    if category.deadline_days == 0:
        return "当天 23:59 前办结"
    return f"受理后 {category.deadline_days} 天内办结（最后一天 23:59 截止）"


def services(table: CategoryTable) -> list[dict[str, Any]]:
    """Every category as an Open311 service, in the table's order."""
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": f"办理：{c.handler}；{table.tier_names[c.tier]}；{_deadline_rule(c)}",
            "metadata": True,
            "type": "realtime",
            "keywords": ",".join([table.matter_names[c.matter], table.tier_names[c.tier]]),
            "group": table.matter_names[c.matter],
        }
        for c in table.categories.values()
    ]


def service_definition(table: CategoryTable, code: str) -> dict[str, Any]:
    """The attributes of one service: the optional urgency, as the chat's form asks it.

    Raises:
        Open311Error: 404 for a code that is not a category.
    """
    if table.get(code) is None:
        raise Open311Error(404, f"没有这个服务类别 / no service with code {code}")
    return {
        "service_code": code,
        "attributes": [
            {
                "variable": True,
                "code": "urgency",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "默认 normal；emergency 按立说立办当天处理",
                "order": 1,
                "description": "紧急程度",
                "values": [{"key": u, "name": URGENCY_NAMES.get(u, u)} for u in URGENCIES],
            }
        ],
    }


# --- filing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filed:
    """What POST requests answers."""

    service_request_id: str
    service_notice: str
    account_id: str


def _field(form: Mapping[str, str], name: str, limit: int) -> str:
    value = (form.get(name) or "").strip()
    if len(value) > limit:
        raise bad(f"{name} 太长（最多 {limit} 个字符）/ {name} is longer than {limit} characters")
    return value


def _coordinate(form: Mapping[str, str]) -> tuple[float, float] | None:
    lat, long = (form.get("lat") or "").strip(), (form.get("long") or "").strip()
    if not lat and not long:
        return None
    try:
        point = float(lat), float(long)
    except ValueError:
        raise bad("lat 和 long 要一起给，且是数字 / lat and long must both be numbers") from None
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
        raise bad("坐标超出范围 / lat or long out of range")
    return point


def file_request(
    *, session: Session, table: CategoryTable, client: str, secret: str, form: Mapping[str, str], now: datetime
) -> Filed:
    """File one Open311 request as a ticket through the chat's filing service.

    Raises:
        Open311Error: 400 for a missing or unknown service code, no location, a
            description missing or over 4000 characters, a phone that is not a
            mainland mobile number, a malformed e-mail or media URL, an unknown urgency.
    """
    if any("\x00" in str(v) for v in form.values()):
        raise bad("字段里不能有 NUL 字符 / fields must not contain NUL characters")
    code = _field(form, "service_code", 32)
    if not code:
        raise bad("缺少 service_code / service_code is required")
    category = table.get(code)
    if category is None:
        raise bad("没有这个服务类别 / unknown service_code")
    point = _coordinate(form)
    address = _field(form, "address_string", 300)
    address_id = _field(form, "address_id", 64)
    if point is None and not address and not address_id:
        raise bad("需要地点：lat/long、address_string 或 address_id / a location is required")
    description = (form.get("description") or "").strip()
    if not description:
        raise bad("缺少 description：请说明遇到的问题 / description is required")
    if len(description) > MAX_DESCRIPTION:
        raise bad(f"description 最多 {MAX_DESCRIPTION} 个字符 / description is longer than {MAX_DESCRIPTION}")
    raw_phone = _field(form, "phone", 40)
    phone = mobile_number(raw_phone) if raw_phone else None
    if raw_phone and phone is None:
        raise bad("phone 不是有效的手机号码 / phone is not a mainland mobile number")
    email = _field(form, "email", 254)
    if email and not _EMAIL.fullmatch(email):
        raise bad("email 格式不对 / email is malformed")
    media_url = _field(form, "media_url", 500)
    if media_url and not _URL.fullmatch(media_url):
        raise bad("media_url 应是 http(s) 地址 / media_url must be an http(s) URL")
    account_id = _field(form, "account_id", 64)
    _field(form, "device_id", 64)
    urgency = (form.get("attribute[urgency]") or "normal").strip()
    if urgency not in URGENCIES:
        raise bad(f"attribute[urgency] 只能是 {'、'.join(URGENCIES)} / unknown urgency")

    parts = [address] if address else []
    if address_id:
        parts.append(f"地址编号 {address_id}")
    if point is not None:
        parts.append(f"坐标 {point[0]:.6f},{point[1]:.6f}")
    place_text = " ".join(parts)
    sender = identity(secret=secret, client=client, account_id=account_id, phone=phone, email=email)
    resident = get_or_create_resident(session=session, channel=CHANNEL, sender_id=sender)
    ticket = create_ticket(
        session=session,
        resident=resident,
        category=code,
        description=description,
        # Only a named address goes to the registry; coordinates and foreign ids cannot be matched.
        place_text=place_text,
        entities=extract(address) if address else {},
        now=now,
        urgency=urgency,
        phone=phone,
        table=table,
    )
    note = f"经 Open311 接口由 {client} 转来"
    if media_url:
        note += f"；附件：{media_url}"
    ticket.events.append(TicketEvent(at=now, actor=f"open311:{client}", kind="open311", note=note))
    session.flush()
    deadline = ticket.deadline.astimezone(DISTRICT_TZ)
    notice = (
        f"已受理（{table.matter_names[category.matter]}）。办理：{category.handler}。{deadline:%Y-%m-%d %H:%M} 前办结。"
    )
    if ticket.needs_dispatch:
        notice += "地点未能对应到网格（只有坐标，或地址不在登记里），社区工作人员会人工派单。"
    return Filed(service_request_id=str(ticket.number), service_notice=notice, account_id=account_id)


# --- reading -----------------------------------------------------------------------------------

# The times a query may name: outside them a time cannot be compared or stored on every database
# (year 1 in +08:00 is before year 1 in UTC), so it is refused rather than a 500.
EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 1, 1, tzinfo=timezone.utc)


def parse_datetime(value: str, name: str) -> datetime:
    """An ISO 8601 time, as aware UTC; one without a zone is district time.

    Raises:
        Open311Error: 400 when it is not ISO 8601, or outside the years 1900–9998.
    """
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad(f"{name} 应是 ISO 8601 时间，如 2026-11-01T00:00:00+08:00 / {name} is not ISO 8601") from None
    out_of_range = bad(f"{name} 超出可查询的时间范围（1900 年至 9998 年）/ {name} is out of range (years 1900 to 9998)")
    try:
        moment = (moment if moment.tzinfo is not None else moment.replace(tzinfo=DISTRICT_TZ)).astimezone(timezone.utc)
    except (OverflowError, ValueError):  # 0001-01-01 in +08:00 is before year 1 in UTC
        raise out_of_range from None
    if not EARLIEST <= moment < LATEST:
        raise out_of_range
    return moment


def _own(client: str) -> Any:
    """The residents a client's filings belong to (``open311`` channel, identities ``<client>:…``)."""
    return select(Resident.id).where(
        Resident.channel == CHANNEL, Resident.sender_id.startswith(f"{client}:", autoescape=True)
    )


def _visible(client: str | None) -> Any:
    """Public and shared matters for everyone; private ones only to the client that filed them."""
    if client is None:
        return Ticket.matter != "private"
    return or_(Ticket.matter != "private", Ticket.resident_id.in_(_own(client)))


def find_requests(
    *, session: Session, table: CategoryTable, query: Mapping[str, str], client: str | None, now: datetime
) -> list[Ticket]:
    """The tickets a GET requests query selects, newest first, at most 1000.

    ``service_request_id`` (comma-separated, at most 100) overrides the other
    filters, as the spec says; otherwise ``service_code`` (comma-separated),
    ``status`` (open / closed) and the ``start_date``–``end_date`` window,
    by default the 90 days before ``end_date`` (or now).

    Raises:
        Open311Error: 400 for unknown codes or statuses, bad or out-of-range dates, or too many ids.
    """
    stmt = select(Ticket).where(_visible(client))
    ids = [i.strip().upper() for i in (query.get("service_request_id") or "").split(",") if i.strip()]
    if len(ids) > MAX_IDS:
        raise bad(f"service_request_id 一次最多 {MAX_IDS} 个 / at most {MAX_IDS} ids at once")
    if ids:
        stmt = stmt.where(Ticket.number.in_([i for i in ids if NUMBER.match(i)]))
    else:
        codes = [c.strip() for c in (query.get("service_code") or "").split(",") if c.strip()]
        if any(table.get(c) is None for c in codes):
            raise bad("没有这个服务类别 / unknown service_code")
        if codes:
            stmt = stmt.where(Ticket.category.in_(codes))
        statuses = {s.strip() for s in (query.get("status") or "").split(",") if s.strip()}
        if not statuses <= {"open", "closed"}:
            raise bad("status 只能是 open 或 closed / status must be open or closed")
        if statuses == {"open"}:
            stmt = stmt.where(Ticket.status.in_(OPEN_STATUSES))
        elif statuses == {"closed"}:
            stmt = stmt.where(not_(Ticket.status.in_(OPEN_STATUSES)))
        end = parse_datetime(query["end_date"], "end_date") if query.get("end_date") else now
        start = parse_datetime(query["start_date"], "start_date") if query.get("start_date") else end - DEFAULT_WINDOW
        if start > end:
            raise bad("start_date 晚于 end_date / start_date is after end_date")
        stmt = stmt.where(and_(Ticket.created_at >= start, Ticket.created_at <= end))
    stmt = stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_RESULTS)
    return list(session.scalars(stmt))


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(DISTRICT_TZ).isoformat(timespec="seconds") if moment else ""


def department_names(session: Session) -> dict[str, str]:
    """Department code → name, read once for a whole list."""
    return {str(d.code): str(d.name) for d in session.scalars(select(Department))}


def _common(table: CategoryTable, departments: Mapping[str, str], ticket: Ticket) -> dict[str, Any]:
    """The fields every reader gets: none of them holds anything a resident or a staff member wrote."""
    category = table.categories[str(ticket.category)]
    return {
        "service_request_id": ticket.number,
        "status": "open" if ticket.status in OPEN_STATUSES else "closed",
        "status_notes": "",
        "service_name": category.name,
        "service_code": ticket.category,
        "description": "",
        "agency_responsible": departments.get(str(ticket.department_code), category.handler),
        "service_notice": f"{STATUS_NAMES[str(ticket.status)]}；{table.tier_names[str(ticket.tier)]}",
        "requested_datetime": _iso(ticket.created_at),
        "updated_datetime": _iso(ticket.updated_at),
        "expected_datetime": _iso(ticket.deadline),
        "address": "",
        "address_id": "",
        "zipcode": "",
        "lat": None,
        "long": None,
        "media_url": "",
    }


def public_status_note(ticket: Ticket) -> str:
    """How the handling goes, in words of the lifecycle only: no staff note, so no name of anyone."""
    level = LEVEL_NAMES.get(str(ticket.escalation_level), "网格")
    status = str(ticket.status)
    if status == "submitted":
        return "已受理，等待社区派单" if ticket.needs_dispatch else "已受理"
    notes = {
        "assigned": f"已派单，由{level}办理",
        "in_progress": f"{level}正在办理",
        "escalated": f"已升级到{level}办理",
        "resolved": "已办结，等待居民评价",
        "reopened": f"重新办理中，由{level}办理",
        "closed": "已办结",
        "guidance": "已向居民提供办事指引",
    }
    return notes.get(status, STATUS_NAMES.get(status, ""))


def registry_places(session: Session, tickets: list[Ticket]) -> dict[int, str]:
    """Ticket id → the place as the registry routed it: 枫林苑3号楼, a road, else the grid; unrouted: none.

    Read from the registry's rows only, never from the place text a resident typed.
    """
    building_ids = {t.building_id for t in tickets if t.building_id is not None}
    place_ids = {t.place_id for t in tickets if t.place_id is not None}
    grid_ids = {t.grid_id for t in tickets if t.grid_id is not None}
    buildings: dict[int, str] = {}
    if building_ids:
        query = select(Building).where(Building.id.in_(building_ids)).options(selectinload(Building.estate))
        buildings = {int(b.id): f"{b.estate.name}{b.number}号楼" for b in session.scalars(query)}
    places: dict[int, str] = {}
    if place_ids:
        places = {int(p.id): str(p.name) for p in session.scalars(select(Place).where(Place.id.in_(place_ids)))}
    grids: dict[int, str] = {}
    if grid_ids:
        grids = {int(g.id): str(g.name) for g in session.scalars(select(Grid).where(Grid.id.in_(grid_ids)))}
    named: dict[int, str] = {}
    for ticket in tickets:
        name = buildings.get(ticket.building_id) or places.get(ticket.place_id) or grids.get(ticket.grid_id)
        if name:
            named[int(ticket.id)] = name
    return named


def public_record(table: CategoryTable, departments: Mapping[str, str], place: str, ticket: Ticket) -> dict[str, Any]:
    """One ticket as anyone may read it: no resident's words unless staff published a summary, no names.

    ``description`` is the published summary (masked again, room numbers too)
    or empty; ``address`` the registry's name for the routed place;
    ``status_notes`` a note from the lifecycle; no coordinates.
    """
    record = _common(table, departments, ticket)
    record["status_notes"] = public_status_note(ticket)
    record["address"] = place
    if ticket.public_summary:
        record["description"] = mask_text(str(ticket.public_summary), rooms=True)
    return record


def _staff_note(ticket: Ticket) -> str:
    for event in reversed(ticket.events):
        if event.kind in NOTE_KINDS and event.note:
            return mask_text(str(event.note))
    return ""


def full_record(table: CategoryTable, departments: Mapping[str, str], ticket: Ticket) -> dict[str, Any]:
    """One ticket as the client that filed it reads it: what it sent, the place as given, the latest staff note."""
    record = _common(table, departments, ticket)
    place = str(ticket.place_text or "")
    point = _COORDINATES.search(place)
    record.update(
        status_notes=_staff_note(ticket),
        description=str(ticket.description),
        address=place,
        lat=float(point.group(1)) if point else None,
        long=float(point.group(2)) if point else None,
    )
    return record


def request_records(
    *, session: Session, table: CategoryTable, tickets: list[Ticket], client: str | None
) -> list[dict[str, Any]]:
    """The records of ``tickets`` for a reader: in full the ones ``client`` filed, the public view of the rest.

    Without a client (no key) every record is the public one: the reader's
    identity is the only thing that widens what is shown.
    """
    departments = department_names(session)
    mine: set[int] = set()
    if client is not None and tickets:
        ids = [t.id for t in tickets]
        own = select(Ticket.id).where(Ticket.id.in_(ids), Ticket.resident_id.in_(_own(client)))
        mine = {int(i) for i in session.scalars(own)}
    if mine:
        session.scalars(
            select(Ticket).where(Ticket.id.in_(mine)).options(selectinload(Ticket.events))
        ).all()  # their timelines in one query, for the staff notes
    places = registry_places(session, [t for t in tickets if t.id not in mine])
    return [
        full_record(table, departments, t)
        if t.id in mine
        else public_record(table, departments, places.get(int(t.id), ""), t)
        for t in tickets
    ]


def now_utc() -> datetime:
    """The current time, aware UTC (as the ticket columns store it)."""
    return datetime.now(timezone.utc)


# --- XML ---------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: ET.Element, record: Mapping[str, Any]) -> None:
    for key, value in record.items():
        child = ET.SubElement(parent, key)
        if key == "attributes":
            for attribute in value:
                _fill(ET.SubElement(child, "attribute"), attribute)
        elif key == "values":
            for item in value:
                _fill(ET.SubElement(child, "value"), item)
        else:
            child.text = _text(value)


def to_xml(root: str, item: str | None, records: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    """``<root><item>…</item>…</root>`` (or one record straight under ``root``), escaped by ElementTree."""
    top = ET.Element(root)
    if isinstance(records, dict):
        _fill(top, records)
    else:
        for record in records:
            _fill(ET.SubElement(top, item or "item"), record)
    body: bytes = ET.tostring(top, encoding="utf-8", xml_declaration=True)
    return body
