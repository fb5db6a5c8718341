"""Open311 GeoReport v2 against a real database, with the spec's example requests adapted to 东湖街道.

The spec's examples (services.json/xml, POST requests.json with the full
form, GET requests.json?start_date=…&end_date=…&status=open, GET
requests/{id}.json) are sent as a 12345 platform would send them; each
answer's shape is checked key by key, and what was filed is read back from
the tickets table.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.categories import CODES, DISTRICT_TZ, default_table
from backend.models import Grid, Resident, Ticket
from backend.settings import load_settings
from backend.tickets.service import transition
from backend.web.app import create_app
from tests.factories import file_ticket

KEY = "hotline-key-0123456789"
OTHER_KEY = "cityapp-key-9876543210"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SERVICE_KEYS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_KEYS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def make_client(database_url, tmp_path, keys):
    settings = load_settings(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret-key",
            "RASA_TOKEN": "test-rasa-token",
            "MODEL_DIR": str(tmp_path / "models"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "OPEN311_API_KEYS": keys,
        }
    )
    return TestClient(create_app(settings))


@pytest.fixture()
def client(registry, database_url, tmp_path):
    with make_client(database_url, tmp_path, f"hotline:{KEY},cityapp:{OTHER_KEY}") as client:
        yield client


def post(client, fmt="json", **fields):
    """POST requests.{fmt} form-encoded, as the spec's example does."""
    return client.post(f"/open311/v2/requests.{fmt}", content=urlencode(fields), headers=FORM)


def spec_example(**overrides):
    """The spec's POST example (sinkhole at 1234 5th street) as a 12345 operator would file it here."""
    fields = {
        "api_key": KEY,
        "jurisdiction_id": "donghu.gov.cn",
        "service_code": "elevator",
        "lat": "31.2304",
        "long": "121.4737",
        "address_string": "枫林苑3号楼",
        "email": "lihua@example.com",
        "device_id": "tt222111",
        "account_id": "123456",
        "first_name": "丽华",
        "last_name": "李",
        "phone": "138 1234 5678",
        "description": "3号楼电梯卡在5楼，里面有人",
        "media_url": "http://example.com/image.jpg",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def errors_of(response, status):
    assert response.status_code == status
    body = response.json()
    assert len(body) == 1 and set(body[0]) == {"code", "description"}
    assert body[0]["code"] == status and body[0]["description"]
    return body[0]["description"]


def ticket_count(sessions):
    with sessions() as s:
        return s.scalar(select(func.count(Ticket.id)))


# --- services -----------------------------------------------------------------------------------


def test_services_json_are_the_21_categories_with_the_spec_fields(client):
    services = client.get("/open311/v2/services.json").json()
    table = default_table()
    assert [s["service_code"] for s in services] == list(CODES)
    assert all(set(s) == SERVICE_KEYS for s in services)
    elevator = next(s for s in services if s["service_code"] == "elevator")
    row = table.categories["elevator"]
    assert elevator["service_name"] == row.name and elevator["group"] == "大家事"
    assert row.handler in elevator["description"] and table.tier_names[row.tier] in elevator["description"]
    assert elevator["metadata"] is True and elevator["type"] == "realtime"
    assert {s["group"] for s in services} == {"公家事", "大家事", "自家事"}
    road = next(s for s in services if s["service_code"] == "road")
    assert "受理后 3 天内" in road["description"]


def test_services_xml_is_well_formed_and_says_the_same(client):
    response = client.get("/open311/v2/services.xml")
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "services"
    services = root.findall("service")
    as_json = client.get("/open311/v2/services.json").json()
    assert len(services) == 21
    for element, record in zip(services, as_json, strict=True):
        assert {child.tag for child in element} == SERVICE_KEYS
        assert element.findtext("service_code") == record["service_code"]
        assert element.findtext("description") == record["description"]
        assert element.findtext("metadata") == "true"


def test_a_service_definition_offers_the_urgency_and_an_unknown_code_is_404(client):
    definition = client.get("/open311/v2/services/elevator.json").json()
    assert definition["service_code"] == "elevator"
    [attribute] = definition["attributes"]
    assert attribute["code"] == "urgency" and attribute["datatype"] == "singlevaluelist"
    assert [v["key"] for v in attribute["values"]] == ["normal", "urgent", "emergency"]
    root = ET.fromstring(client.get("/open311/v2/services/elevator.xml").content)
    assert [v.findtext("key") for v in root.iter("value")] == ["normal", "urgent", "emergency"]

    errors_of(client.get("/open311/v2/services/sinkhole.json"), 404)
    missing = ET.fromstring(client.get("/open311/v2/services/sinkhole.xml").content)
    assert missing.tag == "errors" and missing.findtext("error/code") == "404"
    errors_of(client.get("/open311/v2/services.csv"), 400)


# --- filing -------------------------------------------------------------------------------------


def test_the_spec_post_example_files_a_routed_ticket_through_the_filing_service(client, sessions):
    response = post(client, **spec_example())
    assert response.status_code == 201
    [answer] = response.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert answer["account_id"] == "123456"
    for personal in ("13812345678", "1234 5678", "lihua@example.com", "丽华"):
        assert personal not in response.text

    with sessions() as s:
        ticket = s.scalars(select(Ticket).filter_by(number=answer["service_request_id"])).one()
        resident = s.get(Resident, ticket.resident_id)
        grid = s.get(Grid, ticket.grid_id)
        assert ticket.category == "elevator" and ticket.matter == "shared" and ticket.urgency == "normal"
        assert grid.code == "fl-01" and not ticket.needs_dispatch and ticket.status == "assigned"
        assert ticket.deadline == default_table().deadline("elevator", ticket.created_at)
        assert ticket.contact_phone == "13812345678"  # kept for the call back, as the chat keeps it
        assert ticket.description == "3号楼电梯卡在5楼，里面有人"
        assert "枫林苑3号楼" in ticket.place_text and "坐标 31.230400,121.473700" in ticket.place_text
        assert [e.kind for e in ticket.events] == ["created", "assigned", "open311"]
        assert "http://example.com/image.jpg" in ticket.events[-1].note and "hotline" in ticket.events[-1].note
        assert (resident.channel, resident.sender_id) == ("open311", "hotline:acct:123456")
        assert resident.name is None and resident.phone is None
    deadline = ticket.deadline.astimezone(DISTRICT_TZ)
    assert f"{deadline:%Y-%m-%d %H:%M} 前办结" in answer["service_notice"]


def test_coordinates_alone_are_filed_for_manual_dispatch_and_say_so(client, sessions):
    fields = spec_example(address_string=None, service_code="road", description="路中间井盖没了")
    [answer] = post(client, **fields).json()
    assert "人工派单" in answer["service_notice"]
    with sessions() as s:
        ticket = s.scalars(select(Ticket).filter_by(number=answer["service_request_id"])).one()
        assert ticket.needs_dispatch == 1 and ticket.grid_id is None and ticket.department_code == "city-mgmt"
        assert [e.kind for e in ticket.events] == ["created", "needs_dispatch", "open311"]
    number = answer["service_request_id"]
    [read] = client.get(f"/open311/v2/requests/{number}.json", params={"api_key": KEY}).json()
    assert (read["lat"], read["long"]) == (31.2304, 121.4737)  # the filing client reads what it sent
    assert read["agency_responsible"] == "区城市管理局" and read["status"] == "open"
    [public] = client.get(f"/open311/v2/requests/{number}.json").json()
    assert (public["lat"], public["long"], public["address"]) == (None, None, "")  # unrouted: no place at all
    assert public["status_notes"] == "已受理，等待社区派单"


def test_a_caller_without_account_is_one_resident_per_phone_and_the_phone_is_not_the_identity(client, sessions):
    first = post(client, **spec_example(account_id=None))
    second = post(client, **spec_example(account_id=None, phone="+86 13812345678"))
    other = post(client, **spec_example(account_id=None, phone="13900000000"))
    with sessions() as s:
        owners = [
            s.scalars(select(Ticket.resident_id).filter_by(number=r.json()[0]["service_request_id"])).one()
            for r in (first, second, other)
        ]
        senders = [s.get(Resident, rid).sender_id for rid in owners]
    assert owners[0] == owners[1] != owners[2]
    assert senders[0].startswith("hotline:tel:") and "13812345678" not in senders[0]


def test_an_emergency_attribute_makes_it_same_day(client, sessions):
    [answer] = post(client, **spec_example(service_code="road", **{"attribute[urgency]": "emergency"})).json()
    with sessions() as s:
        ticket = s.scalars(select(Ticket).filter_by(number=answer["service_request_id"])).one()
        assert ticket.urgency == "emergency" and ticket.tier == "immediate"
        assert ticket.deadline.astimezone(DISTRICT_TZ).date() == ticket.created_at.astimezone(DISTRICT_TZ).date()


@pytest.mark.parametrize("key", [None, "", "wrong-key-0123456789", KEY + "x", KEY[:-1]])
def test_a_missing_or_wrong_api_key_is_403_and_files_nothing(client, sessions, key):
    description = errors_of(post(client, **spec_example(api_key=key)), 403)
    assert "api_key" in description
    xml = post(client, "xml", **spec_example(api_key=key))
    assert xml.status_code == 403 and ET.fromstring(xml.content).findtext("error/code") == "403"
    assert ticket_count(sessions) == 0


def test_without_configured_keys_filing_is_off_and_reading_still_works(registry, database_url, tmp_path, sessions):
    with make_client(database_url, tmp_path, "") as client:
        errors_of(post(client, **spec_example()), 403)
        assert client.get("/open311/v2/services.json").status_code == 200
        assert client.get("/open311/v2/requests.json").json() == []
        errors_of(client.get("/open311/v2/requests.json", params={"api_key": KEY}), 403)
    assert ticket_count(sessions) == 0


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"service_code": None}, "service_code"),
        ({"service_code": ""}, "service_code"),
        ({"service_code": "sinkhole"}, "service_code"),
        ({"lat": None, "long": None, "address_string": None}, "location"),
        ({"address_string": None, "long": None}, "lat"),
        ({"address_string": None, "lat": "north", "long": "121.4"}, "lat"),
        ({"lat": "91", "long": "121.4"}, "range"),
        ({"description": None}, "description"),
        ({"description": "   "}, "description"),
        ({"description": "电" * 4001}, "4000"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "010-12345678"}, "phone"),
        ({"email": "not an email"}, "email"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"attribute[urgency]": "panic"}, "urgency"),
        ({"description": "电梯\x00坏了"}, "NUL"),
        ({"account_id": "a" * 65}, "account_id"),
    ],
)
def test_bad_input_is_an_open311_400_and_files_nothing(client, sessions, change, says):
    response = post(client, **spec_example(**change))
    assert says in errors_of(response, 400)
    if change.get("phone"):
        assert change["phone"] not in response.text  # a wrong number is refused without repeating it
    assert ticket_count(sessions) == 0


def test_a_description_of_exactly_4000_characters_is_accepted(client, sessions):
    [answer] = post(client, **spec_example(description="电" * 4000)).json()
    with sessions() as s:
        assert len(s.scalars(select(Ticket).filter_by(number=answer["service_request_id"])).one().description) == 4000


def test_a_malformed_multipart_body_is_a_400_not_a_500(client):
    response = client.post(
        "/open311/v2/requests.json",
        content=b"--x\r\nContent-Disposition: form-data\r\n\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    errors_of(response, 400)


# --- reading ------------------------------------------------------------------------------------


def test_the_spec_list_example_filters_by_window_and_status(client, sessions):
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        recent = file_ticket(s, now=now - timedelta(days=2)).number
        done = file_ticket(s, now=now - timedelta(days=3), sender="b")
        transition(session=s, ticket=done, to="resolved", actor="gm", now=now - timedelta(days=1), note="已修好")
        done_number = done.number
        older = file_ticket(s, now=now - timedelta(days=40), sender="c").number
        ancient = file_ticket(s, now=now - timedelta(days=100), sender="d").number
        road = file_ticket(s, now=now - timedelta(days=1), sender="e", category="road", description="枫林路坑洼")
        road_number = road.number

    query = {
        "start_date": (now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": "open",
    }
    listed = client.get("/open311/v2/requests.json", params=query).json()
    assert [r["service_request_id"] for r in listed] == [road_number, recent]
    assert all(set(r) == REQUEST_KEYS for r in listed)

    default = client.get("/open311/v2/requests.json").json()  # the last 90 days, newest first
    assert [r["service_request_id"] for r in default] == [road_number, recent, done_number, older]
    closed = client.get("/open311/v2/requests.json", params={"status": "closed"}).json()
    assert [(r["service_request_id"], r["status"], r["status_notes"]) for r in closed] == [
        (done_number, "closed", "已办结，等待居民评价")  # the lifecycle's words, not the staff's note
    ]
    by_code = client.get("/open311/v2/requests.json", params={"service_code": "road"}).json()
    assert [r["service_request_id"] for r in by_code] == [road_number]
    naive_local = {"start_date": (now - timedelta(days=120)).astimezone(DISTRICT_TZ).strftime("%Y-%m-%dT%H:%M:%S")}
    assert ancient in [
        r["service_request_id"] for r in client.get("/open311/v2/requests.json", params=naive_local).json()
    ]
    by_ids = client.get(
        "/open311/v2/requests.json", params={"service_request_id": f"{ancient},{recent.lower()}"}
    ).json()
    assert {r["service_request_id"] for r in by_ids} == {ancient, recent}  # ids override the window


def test_one_request_reads_as_a_list_of_one_in_district_time(client, sessions):
    now = datetime(2026, 11, 20, 1, 30, tzinfo=timezone.utc)
    with sessions.begin() as s:
        number = file_ticket(s, now=now).number
    body = client.get(f"/open311/v2/requests/{number}.json").json()
    assert len(body) == 1 and set(body[0]) == REQUEST_KEYS
    record = body[0]
    assert record["service_request_id"] == number and record["service_code"] == "elevator"
    assert record["service_name"] == "电梯" and record["status"] == "open"
    assert record["status_notes"] == "已派单，由网格办理" and record["address"] == "枫林苑3号楼"  # no name
    assert record["description"] == ""  # nothing published yet
    assert record["requested_datetime"] == "2026-11-20T09:30:00+08:00"
    assert record["expected_datetime"] == default_table().deadline("elevator", now).isoformat(timespec="seconds")
    assert record["expected_datetime"].endswith("+08:00")

    root = ET.fromstring(client.get(f"/open311/v2/requests/{number}.xml").content)
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == number
    assert root.findtext("request/requested_datetime") == "2026-11-20T09:30:00+08:00"
    for missing in ("GZ20990101-0001", "'; DROP TABLE tickets;--", "nonsense"):
        errors_of(client.get(f"/open311/v2/requests/{missing}.json"), 404)
    assert ticket_count(sessions) == 1


def test_a_chat_ticket_shows_none_of_the_residents_words_until_staff_publish_a_summary(client, sessions):
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        ticket = file_ticket(
            s,
            now=now,
            description="3号楼电梯坏了，请打13812345678，身份证110101199003071234",
            place_text="枫林苑3号楼502室",
            phone="13812345678",
        )
        number = ticket.number
    text = client.get(f"/open311/v2/requests/{number}.json").text
    [record] = json.loads(text)
    assert record["description"] == "" and record["address"] == "枫林苑3号楼"
    for word in ("电梯坏了", "1381", "5678", "199003071234", "502"):
        assert word not in text
    xml = client.get(f"/open311/v2/requests/{number}.xml").content.decode()
    assert "电梯坏了" not in xml and "5678" not in xml

    with sessions.begin() as s:
        s.scalars(select(Ticket).filter_by(number=number)).one().public_summary = "枫林苑3号楼电梯停运，502室反映"
    [record] = client.get(f"/open311/v2/requests/{number}.json").json()
    assert record["description"] == "枫林苑3号楼电梯停运，***室反映"  # masked again, room numbers too


def test_private_matters_are_not_listed_but_the_filing_client_can_follow_its_own(client, sessions):
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        chat_private = file_ticket(s, now=now, category="family_dispute", description="家里吵架需要调解").number
    [filed] = post(client, **spec_example(service_code="home_repair", description="家里水管漏了")).json()
    own = filed["service_request_id"]

    assert client.get("/open311/v2/requests.json").json() == []
    assert client.get("/open311/v2/requests.json", params={"service_request_id": f"{chat_private},{own}"}).json() == []
    for number in (chat_private, own):
        assert errors_of(client.get(f"/open311/v2/requests/{number}.json"), 404) == errors_of(
            client.get("/open311/v2/requests/GZ20990101-0001.json"), 404
        )
    other_client = client.get("/open311/v2/requests.json", params={"api_key": OTHER_KEY}).json()
    assert other_client == []
    mine = client.get("/open311/v2/requests.json", params={"api_key": KEY}).json()
    assert [r["service_request_id"] for r in mine] == [own]
    assert client.get(f"/open311/v2/requests/{own}.json", params={"api_key": KEY}).status_code == 200
    errors_of(client.get("/open311/v2/requests.json", params={"api_key": "wrong-key-0123456789"}), 403)


def test_injection_strings_are_stored_intact_and_come_back_escaped(client, sessions):
    nasty = "<script>alert('x')</script> & \"引号\" '; DROP TABLE tickets;-- ]]> \x01"
    [answer] = post(client, **spec_example(description=nasty, address_string="枫林苑3号楼<b>")).json()
    number = answer["service_request_id"]
    with sessions() as s:
        assert s.scalars(select(Ticket.description).filter_by(number=number)).one() == nasty

    as_json = client.get(f"/open311/v2/requests/{number}.json", params={"api_key": KEY})
    assert "<script>" not in as_json.text and "\\u003cscript\\u003e" in as_json.text
    assert as_json.json()[0]["description"] == nasty

    as_xml = client.get(f"/open311/v2/requests/{number}.xml", params={"api_key": KEY})
    assert b"<script>" not in as_xml.content and b"&lt;script&gt;" in as_xml.content
    record = ET.fromstring(as_xml.content).find("request")
    assert record.findtext("description") == nasty.replace("\x01", "")  # XML 1.0 cannot carry \x01 at all
    assert record.findtext("address").startswith("枫林苑3号楼<b>")
    listed = ET.fromstring(client.get("/open311/v2/requests.xml", params={"api_key": KEY}).content)
    assert [r.findtext("service_request_id") for r in listed.findall("request")] == [number]
    assert listed.findtext("request/description") == nasty.replace("\x01", "")
    public = ET.fromstring(client.get("/open311/v2/requests.xml").content)
    assert public.findtext("request/description") == "" and public.findtext("request/address") == "枫林苑3号楼"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-01T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-11-02T00:00:00Z", "end_date": "2026-11-01T00:00:00Z"}, "start_date"),
        ({"status": "pending"}, "status"),
        ({"service_code": "road,sinkhole"}, "service_code"),
        ({"service_request_id": ",".join(f"GZ20261101-{i:04d}" for i in range(101))}, "100"),
    ],
)
def test_bad_list_queries_are_open311_400s(client, query, says):
    assert says in errors_of(client.get("/open311/v2/requests.json", params=query), 400)
    root = ET.fromstring(client.get("/open311/v2/requests.xml", params=query).content)
    assert root.tag == "errors" and root.findtext("error/code") == "400"


def test_a_list_stops_at_1000_newest_first(client, sessions):
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        numbers = [
            file_ticket(s, now=now - timedelta(minutes=i), sender=f"r{i % 7}", place_text="", entities={}).number
            for i in range(1001)
        ]
    listed = client.get("/open311/v2/requests.json").json()
    assert len(listed) == 1000
    assert [r["service_request_id"] for r in listed] == numbers[:1000]


def test_a_client_name_with_an_underscore_does_not_see_a_lookalike_clients_private_matters(
    registry, database_url, tmp_path
):
    """``_`` is a LIKE wildcard: ``a_b:`` must not match the identities of ``aXb:``."""
    with make_client(database_url, tmp_path, f"a_b:{KEY},aXb:{OTHER_KEY}") as client:
        [filed] = post(client, **spec_example(api_key=OTHER_KEY, service_code="home_repair")).json()
        assert client.get("/open311/v2/requests.json", params={"api_key": KEY}).json() == []
        theirs = client.get("/open311/v2/requests.json", params={"api_key": OTHER_KEY}).json()
        assert [r["service_request_id"] for r in theirs] == [filed["service_request_id"]]


def test_a_filter_given_twice_counts_as_a_comma_list(client, sessions):
    now = datetime.now(timezone.utc)
    with sessions.begin() as s:
        road = file_ticket(s, now=now, category="road", description="枫林路坑洼", sender="a").number
        traffic = file_ticket(s, now=now, category="traffic", description="乱停车", sender="b").number
        file_ticket(s, now=now, sender="c")
    listed = client.get("/open311/v2/requests.json?service_code=road&service_code=traffic").json()
    assert {r["service_request_id"] for r in listed} == {road, traffic}
    assert {r["agency_responsible"] for r in listed} == {"区城市管理局", "区交警大队"}
