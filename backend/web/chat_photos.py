"""The visitor's photos in the chat: sending one (it joins the report in progress) and fetching one's own back."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import FileResponse

from backend import messages
from backend.errors import InvalidInput
from backend.models.base import utcnow
from backend.photos import photo_message, photo_of, save_photo
from backend.services.residents import find_resident, get_or_create_resident
from backend.web.chat import NOT_SAME_ORIGIN, REFUSED_TEXT, require_same_origin, sending_visitor, store_and_deliver
from backend.web.chat_replies import ChatUpdate
from backend.web.deps import AppSettings, Cookie, DbSession, Rasa, SenderLocks, Visitor
from backend.web.errors import STORE_DOWN, TOO_FAST, problem
from backend.web.identity import rasa_sender
from backend.web.rate_limits import limit

logger = logging.getLogger(__name__)

router = APIRouter()


@router.post(
    "/api/chat/photos",
    response_model=ChatUpdate,
    tags=["chat"],
    responses={403: NOT_SAME_ORIGIN, 422: REFUSED_TEXT, 429: TOO_FAST, 503: STORE_DOWN},
    dependencies=[Depends(limit("photos", "chat_address"))],
)
async def send_photo(
    request: Request,
    response: Response,
    jar: Cookie,
    rasa: Rasa,
    locks: SenderLocks,
    settings: AppSettings,
    after: int = 0,
    x_requested_with: str | None = Header(default=None),
) -> ChatUpdate:
    """A photo from the visitor (the image bytes as the request body).

    The image is checked and stored first; the conversation then receives
    only its token, as the visitor, so the photo joins the report in
    progress or the visitor's latest open ticket.
    """
    require_same_origin(x_requested_with)
    visitor = await sending_visitor(request, jar, response)
    data = await request.body()
    try:
        with jar.sessions.begin() as session:
            resident = get_or_create_resident(session=session, channel="web", sender_id=visitor)
            photo = save_photo(
                session=session,
                resident=resident,
                data=data,
                upload_dir=settings.upload_dir,
                now=utcnow(),
            )
            token = str(photo.token)
    except InvalidInput as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return await store_and_deliver(jar.sessions, locks, rasa, rasa_sender(visitor), photo_message(token), after)


@router.get(
    "/api/photos/{token}",
    tags=["chat"],
    response_class=FileResponse,
    responses={200: {"content": {"image/*": {}}}, 404: problem("not one of the visitor's photos")},
)
def get_photo(token: str, visitor: Visitor, session: DbSession, settings: AppSettings) -> FileResponse:
    """One of the visitor's own photos; anyone else's is "not found", like a missing one."""
    if visitor is None:
        raise HTTPException(status_code=404, detail=messages.PHOTO_NOT_FOUND)
    resident = find_resident(session=session, channel="web", sender_id=visitor)
    photo = photo_of(session=session, resident=resident, token=token) if resident is not None else None
    if photo is None:
        raise HTTPException(status_code=404, detail=messages.PHOTO_NOT_FOUND)
    path = settings.upload_dir / str(photo.path)
    content_type = str(photo.content_type)
    return FileResponse(path, media_type=content_type, headers={"Cache-Control": "private, max-age=86400"})
