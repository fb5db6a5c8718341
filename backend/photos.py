"""Store a resident's photo and attach it to their ticket.

Only real images are kept: the first bytes must be JPEG, PNG, WebP or GIF
(the declared content type is not trusted), at most 8 MB. Files are named by
a random token, never by anything the sender chose, so no upload can escape
the upload directory or overwrite another; files and folders are the stack's
user's alone (:mod:`backend.private_files`).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput
from backend.models import Photo, Resident, Ticket
from backend.private_files import make_private_folder, write_private_bytes

MAX_BYTES = 8 * 1024 * 1024
MAX_PER_TICKET = 9

_PHOTO_MESSAGE = re.compile(r'^/share_photo\{"photo": ?"(P[\w-]+)"\}$')

_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """Content type and file extension from the image's first bytes, or None."""
    for signature, content_type, extension in _SIGNATURES:
        if data.startswith(signature):
            return content_type, extension
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def save_photo(*, session: Session, resident: Resident, data: bytes, upload_dir: Path, now: datetime) -> Photo:
    """Write the image under ``upload_dir`` and record it for the resident.

    Raises:
        InvalidInput: empty, too large, or not an image.
    """
    if not data:
        raise InvalidInput("照片是空的，请重新发送。")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"照片太大了（超过 {MAX_BYTES // 1024 // 1024} MB），请压缩后再发。")
    kind = sniff(data)
    if kind is None:
        raise InvalidInput("只能接收 JPG、PNG、WebP 或 GIF 格式的图片。")
    content_type, extension = kind
    token = "P" + secrets.token_urlsafe(18)
    day_dir = upload_dir / now.strftime("%Y%m")
    make_private_folder(day_dir)
    path = day_dir / f"{token}.{extension}"
    write_private_bytes(path, data)  # 0600 in 0700 folders: a resident's photo is nobody else's to read
    photo = Photo(
        token=token,
        resident_id=resident.id,
        path=str(path.relative_to(upload_dir)),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_at=now,
    )
    session.add(photo)
    session.flush()
    return photo


def photo_of(*, session: Session, resident: Resident, token: str) -> Photo | None:
    """The resident's own photo with this token; someone else's is None, like a missing one."""
    photo = session.scalars(select(Photo).filter_by(token=token)).first()
    if photo is None or photo.resident_id != resident.id:
        return None
    return photo


def attach_photos(*, session: Session, ticket: Ticket, resident: Resident, tokens: list[str]) -> int:
    """Attach the resident's photos to the ticket (others' tokens are skipped); returns how many."""
    attached = 0
    names = list(ticket.photos or [])
    for token in tokens:
        photo = photo_of(session=session, resident=resident, token=token)
        if photo is None or token in names or len(names) >= MAX_PER_TICKET:
            continue
        photo.ticket_id = ticket.id
        names.append(token)
        attached += 1
    ticket.photos = names
    session.flush()
    return attached


def photo_message(token: str) -> str:
    """What a channel sends Rasa, as the resident, for a stored photo: an intent with the token."""
    return "/share_photo" + json.dumps({"photo": token})


def shown_text(text: str) -> str:
    """A stored chat message as the resident sees it again: a photo message reads [照片]."""
    return "[照片]" if _PHOTO_MESSAGE.match(text) else text
