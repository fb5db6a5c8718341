"""The pieces the report form stands on: photos, private-matter help, urgency, place suggestions, late places."""

from datetime import datetime, timezone

import pytest

from backend.errors import InvalidInput, InvalidRegistry
from backend.models import Ticket
from backend.photos import MAX_BYTES, attach_photos, save_photo, shown_text, sniff
from backend.private_help import load_private_help
from backend.services.residents import get_or_create_resident
from backend.tickets.routing import suggest_places
from backend.tickets.service import add_place, create_ticket
from backend.tickets.urgency import infer_urgency, urgency_from_answer

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


def test_images_are_recognised_by_their_bytes_not_their_name():
    assert sniff(b"\x89PNG\r\n\x1a\n....") == ("image/png", "png")
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("image/webp", "webp")
    assert sniff(b"<?php echo 1; ?>") is None


def test_a_photo_is_stored_under_a_random_name_and_attached_only_by_its_owner(registry, tmp_path):
    with registry.begin() as s:
        owner = get_or_create_resident(session=s, channel="web", sender_id="a")
        other = get_or_create_resident(session=s, channel="web", sender_id="b")
        photo = save_photo(session=s, resident=owner, data=b"\xff\xd8\xff" + b"1" * 10, upload_dir=tmp_path, now=NOW)
        assert (tmp_path / photo.path).read_bytes().startswith(b"\xff\xd8\xff")
        assert photo.path.startswith("202611/P") and photo.path.endswith(".jpg")
        ticket = create_ticket(
            session=s,
            resident=other,
            category="road",
            description="望江路井盖没了",
            place_text="望江路",
            entities={},
            now=NOW,
        )
        assert attach_photos(session=s, ticket=ticket, resident=other, tokens=[photo.token]) == 0
        assert attach_photos(session=s, ticket=ticket, resident=owner, tokens=[photo.token]) == 1
        assert ticket.photos == [photo.token]


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff" + b"0" * MAX_BYTES, b"not an image"])
def test_empty_huge_or_non_images_are_refused(registry, tmp_path, data):
    with registry.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="a")
        with pytest.raises(InvalidInput):
            save_photo(session=s, resident=resident, data=data, upload_dir=tmp_path / "up", now=NOW)
    assert not (tmp_path / "up").exists()


def test_a_photo_message_reads_as_a_photo_in_the_history():
    assert shown_text('/share_photo{"photo": "PabcDEF_-1"}') == "[照片]"
    assert shown_text("/share_photo 不是照片") == "/share_photo 不是照片"


def test_every_private_category_has_concrete_help_with_a_contact():
    options = load_private_help()
    assert set(options) == {"home_repair", "family_dispute", "neighbor_dispute", "personal_help"}
    assert all(o.contact and o.hours for opts in options.values() for o in opts)
    assert any("调解" in o.name for o in options["family_dispute"])


def test_a_help_file_naming_a_public_category_or_missing_service_is_refused(tmp_path):
    bad = tmp_path / "help.yml"
    bad.write_text("services: {}\ncategories: {road: [x]}\n", encoding="utf-8")
    with pytest.raises(InvalidRegistry, match="road"):
        load_private_help(bad)
    bad.write_text(
        "services: {a: {name: A, what: W, contact: C, hours: H}}\n"
        "categories: {home_repair: [a, nope], family_dispute: [a], neighbor_dispute: [a], personal_help: [a]}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidRegistry, match="nope"):
        load_private_help(bad)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("电梯把人关在里面了", "urgent"),
        ("楼道电线冒火花，吓死人", "urgent"),
        ("整栋楼停水一天了", "urgent"),
        ("路灯坏了一个礼拜了", "normal"),
        ("不急，有空来修一下单元门", "normal"),
    ],
)
def test_urgency_is_inferred_from_the_words(text, level):
    assert infer_urgency(text) == level


def test_urgency_answers():
    assert urgency_from_answer("紧急") == "urgent" and urgency_from_answer("不急") == "normal"
    assert urgency_from_answer("一般") == "normal" and urgency_from_answer("嗯") is None


def test_suggestions_are_the_closest_registry_names(registry):
    with registry() as s:
        assert suggest_places(session=s, text="风林苑")[0] == "枫林苑"
        assert suggest_places(session=s, text="碧湖丽园")[0] == "碧湖丽苑"
        assert len(suggest_places(session=s, text="zzzz")) == 3


def test_a_place_told_after_filing_routes_a_ticket_waiting_for_dispatch(registry):
    with registry.begin() as s:
        resident = get_or_create_resident(session=s, channel="web", sender_id="e")
        ticket = create_ticket(
            session=s,
            resident=resident,
            category="public_safety",
            description="有人打架！",
            place_text="有人打架！",
            entities={},
            now=NOW,
            urgency="emergency",
        )
        assert ticket.needs_dispatch == 1 and ticket.tier == "immediate"
        assert add_place(session=s, ticket=ticket, resident=resident, place_text="滨湖广场", entities={}, now=NOW)
        assert ticket.needs_dispatch == 0 and ticket.status == "assigned"
    with registry() as s:
        kinds = [e.kind for e in s.get(Ticket, ticket.id).events]
        assert kinds == ["created", "needs_dispatch", "place_added", "assigned"]
