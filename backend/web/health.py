"""Health check: the database answers (Rasa's own health is on its /status)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter()


@router.get("/healthz", tags=["ops"], responses={503: {"description": "the database does not answer"}})
def healthz(request: Request) -> JSONResponse:
    """200 when the backend database answers, 503 otherwise."""
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": False}, status_code=503)
    return JSONResponse({"status": "ok", "database": True})
