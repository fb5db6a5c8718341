"""Filing an Open311 request: the form checked field by field, then a ticket filed as the chat files it.

The place goes to the registry only as a named address; coordinates alone
cannot be routed, so such a ticket is filed unrouted for manual dispatch and
the answer's ``service_notice`` says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from sqlalchemy.orm import Session

from backend.categories import DISTRICT_TZ, CategoryTable
from backend.models import TicketEvent
from backend.open311.clients import CHANNEL, identity
from backend.open311.errors import bad
from backend.services.residents import get_or_create_resident
from backend.tickets.service import URGENCIES, create_ticket
from backend.triage.entities import extract, mobile_number

MAX_DESCRIPTION = 4000
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}")
_URL = re.compile(r"https?://[^\s<>\"']{1,490}")


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
