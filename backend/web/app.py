"""FastAPI application factory.

Everything the app needs (settings, engine, session factory, Rasa client) is
created in :func:`create_app` and the lifespan hook, never at import time, and
kept on ``app.state``, from where :mod:`backend.web.deps` gives them to the routes.
"""

from __future__ import annotations

import logging
import weakref
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import OperationalError

from backend import messages, photos
from backend.db import make_engine, make_session_factory
from backend.rasa_client import RasaClient
from backend.settings import Settings, load_settings
from backend.web import (
    chat,
    chat_history,
    chat_photos,
    errors,
    health,
    middleware,
    open311,
    openapi,
    rate_limits,
    stats,
    tickets,
    triage,
)
from backend.web.console import accounts as console_accounts
from backend.web.console import auth as console_auth
from backend.web.console import conversations as console_conversations
from backend.web.console import model_versions as console_models
from backend.web.console import points as console_points
from backend.web.console import points_api as console_points_api
from backend.web.console import points_api_catalogue as console_points_api_catalogue
from backend.web.console import points_api_ranking as console_points_api_ranking
from backend.web.console import points_api_residents as console_points_api_residents
from backend.web.console import points_catalogue as console_points_catalogue
from backend.web.console import points_ranking as console_points_ranking
from backend.web.console import registry_and_audit as console
from backend.web.console import registry_edits as console_registry
from backend.web.console import review as console_review
from backend.web.console import stats as console_stats
from backend.web.console import ticket_page as console_ticket_page
from backend.web.console import tickets as console_tickets

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PHOTO_UPLOAD_PATH = "/api/chat/photos"  # the one route whose body is an image, not JSON or a form


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is down or locked past its timeout: 503 with a Chinese message, never a 500.

    Nothing was stored, so the caller must send again: the chat page keeps
    the text in its input box, Open311 and triage callers retry.
    """
    logger.error("database unavailable for %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return JSONResponse({"detail": messages.STORE_DOWN}, status_code=503, headers={"Retry-After": "30"})


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web app for ``settings`` (read from the environment when omitted)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessions = make_session_factory(engine)
        app.state.rasa = RasaClient(settings.rasa_url, token=settings.rasa_token)
        try:
            yield
        finally:
            await app.state.rasa.aclose()
            engine.dispose()

    app = FastAPI(
        title="三事通 API",
        description="三事分流居民诉求助手的后端接口 / backend API of the 三事通 assistant",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # One lock per visitor: their messages go to Rasa one at a time, in order.
    # Weak values: a visitor's lock goes when no request of theirs holds it,
    # so the app does not keep one for every visitor it has ever served.
    app.state.sender_locks = weakref.WeakValueDictionary()
    rate_limits.install(app, settings.rate_limit_per_minute, settings.redis_url, settings.rate_limit_exempt)
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(chat.router)
    app.include_router(chat_photos.router)
    app.include_router(chat_history.router)
    app.include_router(console_auth.router)
    app.include_router(console_accounts.router)
    app.include_router(console.router)
    app.include_router(console_tickets.router)
    app.include_router(console_ticket_page.router)
    app.include_router(console_models.router)
    app.include_router(console_registry.router)
    app.include_router(console_points.router)
    app.include_router(console_points_catalogue.router)
    app.include_router(console_points_ranking.router)
    app.include_router(console_points_api.router)
    app.include_router(console_points_api_residents.router)
    app.include_router(console_points_api_catalogue.router)
    app.include_router(console_points_api_ranking.router)
    app.include_router(console_stats.router)
    app.include_router(console_conversations.router)
    app.include_router(console_review.router)
    console_auth.install_handlers(app)
    app.add_exception_handler(OperationalError, database_unavailable)
    errors.install_handlers(app)
    openapi.install(app)
    app.include_router(health.router)
    app.include_router(triage.router)
    app.include_router(tickets.router)
    app.include_router(stats.router)
    app.include_router(open311.router)
    # Outermost last: the 413 of an oversized body carries the security headers too.
    app.add_middleware(
        middleware.BodySizeLimit, limit=settings.max_body_bytes, limits={PHOTO_UPLOAD_PATH: photos.MAX_BYTES}
    )
    app.add_middleware(middleware.SecurityHeaders)
    return app
