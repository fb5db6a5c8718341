"""The console's first page: the grid registry at a glance.

Staff see which street, communities, grids, estates and roads the assistant
routes to, and who answers for each grid (phones masked). Tickets, statistics,
conversation review and login come with their own features.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from backend.models import CatalogueItem, Community, Department, Grid, PointsRule, Street
from backend.models.chat import PENDING, ChatMessage
from backend.privacy import mask_phone

router = APIRouter()


@router.get("/console", response_class=HTMLResponse, tags=["console"])
def overview(request: Request) -> HTMLResponse:
    """The registry overview page."""
    with request.app.state.sessions() as session:
        streets = session.scalars(
            select(Street).options(
                selectinload(Street.communities).selectinload(Community.grids).selectinload(Grid.members),
                selectinload(Street.communities).selectinload(Community.grids).selectinload(Grid.buildings),
                selectinload(Street.communities).selectinload(Community.grids).selectinload(Grid.places),
                selectinload(Street.communities).selectinload(Community.estates),
            )
        ).all()
        departments = session.scalars(select(Department).order_by(Department.code)).all()
        rules = session.scalars(select(PointsRule).order_by(PointsRule.id)).all()
        items = session.scalars(select(CatalogueItem).order_by(CatalogueItem.community_id, CatalogueItem.cost)).all()
        pending = session.scalar(select(func.count()).select_from(ChatMessage).where(ChatMessage.status == PENDING))
        return request.app.state.templates.TemplateResponse(
            request,
            "console.html",
            {
                "streets": streets,
                "departments": departments,
                "rules": rules,
                "items": items,
                "pending": pending,
                "mask_phone": mask_phone,
            },
        )
