"""The grid registry: street → community → grid → estate buildings, roads and places.

Residents name places by estate (小区) and building (3号楼); handlers are
organised by community (社区) and grid (网格). The registry links the two so
that a place a resident names resolves to a grid and its grid member.
Natural keys (``code``) make the registry file importable idempotently.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from backend.models.base import Base


class Street(Base):
    """A street office (街道), the top of the registry."""

    __tablename__ = "streets"
    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    communities = relationship("Community", back_populates="street", order_by="Community.code")


class Community(Base):
    """A community (社区) under a street; owns a default dispatch queue."""

    __tablename__ = "communities"
    id = Column(Integer, primary_key=True)
    street_id = Column(ForeignKey("streets.id"), nullable=False, index=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    street = relationship("Street", back_populates="communities")
    grids = relationship("Grid", back_populates="community", order_by="Grid.code")
    estates = relationship("Estate", back_populates="community", order_by="Estate.code")


class Grid(Base):
    """A grid (网格): the unit one grid member answers for."""

    __tablename__ = "grids"
    id = Column(Integer, primary_key=True)
    community_id = Column(ForeignKey("communities.id"), nullable=False, index=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    community = relationship("Community", back_populates="grids")
    members = relationship("GridMember", back_populates="grid")
    buildings = relationship("Building", back_populates="grid")
    places = relationship("Place", back_populates="grid")


class Estate(Base):
    """A residential estate (小区) as residents name it, with its other names."""

    __tablename__ = "estates"
    id = Column(Integer, primary_key=True)
    community_id = Column(ForeignKey("communities.id"), nullable=False, index=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    aliases = Column(JSON, nullable=False, default=list)
    community = relationship("Community", back_populates="estates")
    buildings = relationship("Building", back_populates="estate", order_by="Building.number")


class Building(Base):
    """A building (楼栋) of an estate, numbered as on its door (3 for 3号楼/三栋)."""

    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("estate_id", "number"),)
    id = Column(Integer, primary_key=True)
    estate_id = Column(ForeignKey("estates.id"), nullable=False, index=True)
    grid_id = Column(ForeignKey("grids.id"), nullable=False, index=True)
    number = Column(Integer, nullable=False)
    estate = relationship("Estate", back_populates="buildings")
    grid = relationship("Grid", back_populates="buildings")


class Place(Base):
    """A road (道路) or public place (公共场所) a grid covers, outside any estate."""

    __tablename__ = "places"
    id = Column(Integer, primary_key=True)
    grid_id = Column(ForeignKey("grids.id"), nullable=False, index=True)
    code = Column(String(32), nullable=False, unique=True)
    kind = Column(String(16), nullable=False)  # "road" or "public_place"
    name = Column(String(64), nullable=False)
    aliases = Column(JSON, nullable=False, default=list)
    grid = relationship("Grid", back_populates="places")


class GridMember(Base):
    """A grid member (网格员); their chat identity is bound later with a one-time code."""

    __tablename__ = "grid_members"
    id = Column(Integer, primary_key=True)
    grid_id = Column(ForeignKey("grids.id"), nullable=False, index=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(32), nullable=False)
    phone = Column(String(20), nullable=False)
    grid = relationship("Grid", back_populates="members")


class Department(Base):
    """A functional department (职能部门) and the category codes it owns."""

    __tablename__ = "departments"
    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(64), nullable=False)
    phone = Column(String(20), nullable=True)
    categories = Column(JSON, nullable=False, default=list)
