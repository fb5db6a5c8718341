"""``POST /api/triage``: what the assistant makes of one message, without a conversation.

For 12345 operators and integrations. It asks the running Rasa server's NLU
(``/model/parse``) and applies the same :func:`backend.triage.core.triage`
the bot's actions use, so the API and the conversation always agree.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, StrictStr

from backend import messages
from backend.rasa_client import RasaUnavailable
from backend.triage.core import NOTHING_TO_CLASSIFY, triage
from backend.triage.result import TriageResult
from backend.triage.text import classification_text
from backend.web.deps import Rasa
from backend.web.errors import NOT_JSON, TOO_FAST, problem
from backend.web.rate_limits import limit

logger = logging.getLogger(__name__)

router = APIRouter()


class TriageRequest(BaseModel):
    """One message to triage."""

    text: StrictStr  # not str: pydantic 1 would read {"text": false} as the message "False"


@router.post(
    "/api/triage",
    response_model=TriageResult,
    tags=["triage"],
    responses={400: NOT_JSON, 429: TOO_FAST, 503: problem("the Rasa server does not answer")},
    dependencies=[Depends(limit("triage"))],
)
async def triage_message(body: TriageRequest, rasa: Rasa) -> TriageResult:
    """Classify one resident message into the three-matter split."""
    text = classification_text(body.text)
    if not text:
        # Nothing to classify: the same answer the bot gives, not an error.
        parse: dict[str, Any] = NOTHING_TO_CLASSIFY
    else:
        try:
            parse = await rasa.parse(text)
        except RasaUnavailable as exc:
            logger.warning("triage: %s", exc)
            raise HTTPException(status_code=503, detail=messages.TRIAGE_UNAVAILABLE) from None
    # TriageResult (a dataclass) is the response schema too: the API cannot drift from the bot.
    return triage(parse, body.text)
