"""The console's models page: retrain, watch the progress, see the comparison, roll back.

An admin starts a training job here (the worker runs it,
:mod:`backend.training.jobs`); the page refreshes itself while it runs and
shows each stage and the latest line of Rasa's output. The history lists
every model with its held-out scores and the promotion rule's verdict in
numbers; any model that served before can be put back with one click,
swapped into the running Rasa servers without a restart. Admins only
(``models.manage``); every start and rollback is audited.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.errors import DomainError
from backend.models.training import JOB_STATUS_NAMES, VERSION_STATUS_NAMES
from backend.training import jobs, promotion, versions
from backend.training.rasa_server import RasaServerError
from backend.web.console.auth import Staff, render
from backend.web.console.staff_dependency import staff_posting, staff_with
from backend.web.deps import Console, ConsoleContext

router = APIRouter()
ACTOR_PREFIX = "console:"


def _page(console: ConsoleContext, me: Staff, **extra: Any) -> HTMLResponse:
    settings = console.settings
    jobs.mark_stale(me.db, me.now)
    history = versions.history(me.db)
    current = versions.serving(me.db)
    loaded = [(server.base_url, server.loaded_model()) for server in jobs.servers_of(settings)]
    return render(
        console,
        "console_models.html",
        me,
        history=history,
        serving=current,
        loaded=loaded,
        active=jobs.active(me.db),
        recent=jobs.recent(me.db),
        metrics=promotion.METRICS,
        rule=promotion.RULE,
        version_status=VERSION_STATUS_NAMES,
        job_status=JOB_STATUS_NAMES,
        on_disk={v.name for v in history if versions.archive(settings.model_dir, str(v.name)).exists()},
        **extra,
    )


@router.get("/console/models", response_class=HTMLResponse, tags=["console"])
def models_page(
    console: Console, me: Annotated[Staff, staff_with("models.manage")], done: str = "", error: str = ""
) -> HTMLResponse:
    """The serving model, the training in progress, and the history with scores."""
    return _page(console, me, done=done or None, error=error or None)


def _back(done: str | None = None, error: str | None = None) -> Response:
    query = f"?done={quote(done)}" if done else (f"?error={quote(error)}" if error else "")
    return RedirectResponse(f"/console/models{query}", status_code=303)


@router.post("/console/models/train", tags=["console"])
def start_training(me: Annotated[Staff, staff_posting("models.manage")]) -> Response:
    """Queue a training job; the worker starts it within seconds."""
    try:
        with me.db.begin_nested():
            job = jobs.request(me.db, by=f"{ACTOR_PREFIX}{me.account.username}", now=me.now)
            me.audit("models.train", target=f"job:{job.id}")
    except DomainError as exc:
        me.audit("models.train", outcome="failed", why=str(exc))
        return _back(error=str(exc))
    return _back(done=f"已开始第 {job.id} 次训练，页面会自动刷新进度。")


@router.post("/console/models/{name}/rollback", tags=["console"])
def roll_back(console: Console, me: Annotated[Staff, staff_posting("models.manage")], name: str) -> Response:
    """Serve an earlier model again, swapped into the running Rasa servers."""
    settings = console.settings
    try:
        with me.db.begin_nested():
            version = versions.rollback(
                me.db, name=name, servers=jobs.servers_of(settings), model_dir=settings.model_dir,
                by=f"{ACTOR_PREFIX}{me.account.username}", now=me.now,
            )  # fmt: skip
            me.audit("models.rollback", target=str(version.name))
    except (DomainError, RasaServerError) as exc:
        me.audit("models.rollback", target=name[:128], outcome="failed", why=str(exc))
        return _back(error=str(exc))
    return _back(done=f"已回滚：正在使用 {version.name}。")
