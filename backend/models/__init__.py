"""The domain model: SQLAlchemy 1.4 declarative classes in 2.0 style.

One module per concept; importing this package registers every table on
:data:`Base.metadata`, which Alembic's autogenerate and the tests use.
"""

from backend.models.accounts import AuditEntry, ConsoleAccount, ConsoleSession
from backend.models.base import Base
from backend.models.chat import ChatMessage, ChatReply
from backend.models.gridwork import BindingCode, MemberLink
from backend.models.ledger import PointsAccount, PointsEntry, Redemption
from backend.models.photos import Photo
from backend.models.points import CatalogueItem, PointsRule
from backend.models.registry import (
    Building,
    Community,
    Department,
    Estate,
    Grid,
    GridMember,
    Place,
    Street,
)
from backend.models.residents import Resident
from backend.models.review import ReviewCursor, ReviewItem
from backend.models.telegram import TelegramUpdate
from backend.models.tickets import Ticket, TicketEvent, TicketFollower, TicketSequence
from backend.models.training import ModelVersion, TrainingJob
from backend.models.visitors import VisitorSession

__all__ = [
    "AuditEntry",
    "Base",
    "BindingCode",
    "Building",
    "CatalogueItem",
    "ChatMessage",
    "ChatReply",
    "ConsoleAccount",
    "ConsoleSession",
    "Community",
    "Department",
    "Estate",
    "Grid",
    "GridMember",
    "MemberLink",
    "ModelVersion",
    "Photo",
    "Place",
    "PointsAccount",
    "PointsEntry",
    "PointsRule",
    "Redemption",
    "Resident",
    "ReviewCursor",
    "ReviewItem",
    "Street",
    "TelegramUpdate",
    "Ticket",
    "TicketEvent",
    "TicketFollower",
    "TicketSequence",
    "TrainingJob",
    "VisitorSession",
]
