"""Trained models, their held-out scores, and the training jobs that make them.

A :class:`ModelVersion` is one model archive in ``MODEL_DIR`` with the
scores it got on the held-out split and what happened to it: kept as a
candidate, promoted to serve, rejected by the promotion rule, or retired
when another took its place. Exactly one version is ``serving`` at a time
once the first promotion happened; that is the model the Rasa servers load
on start and the one a rollback returns to. A :class:`TrainingJob` is one
request to train (from the console or ``make train``), with its stage,
the line of progress the page shows, a heartbeat so a job whose process
died is seen as interrupted, and the decision in words.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Text, text

from backend.models.base import Base, UTCDateTime, utcnow

VERSION_STATUSES = ("candidate", "serving", "retired", "rejected")
VERSION_STATUS_NAMES = {"candidate": "候选", "serving": "正在使用", "retired": "已替下", "rejected": "未通过"}
JOB_STATUSES = ("queued", "running", "done", "failed")
JOB_STATUS_NAMES = {"queued": "排队中", "running": "进行中", "done": "已完成", "failed": "失败"}


class ModelVersion(Base):
    """One trained model archive and its scores."""

    __tablename__ = "model_versions"
    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False, unique=True)  # the archive's file name without .tar.gz
    fingerprint = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, default="candidate")
    scores = Column(JSON, nullable=True)  # held-out metrics, see backend.training.promotion.METRICS
    trained_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    trained_by = Column(String(64), nullable=False)
    promoted_at = Column(UTCDateTime(), nullable=True)
    promoted_by = Column(String(64), nullable=True)
    decision = Column(Text, nullable=True)  # the promotion rule applied, in words, with the numbers

    __table_args__ = (
        # At most one serving model, enforced by the database.
        Index("uq_model_versions_one_serving", "status", unique=True,
              sqlite_where=text("status = 'serving'"), postgresql_where=text("status = 'serving'")),
    )  # fmt: skip


class TrainingJob(Base):
    """One request to train, evaluate and (if not worse) promote a model."""

    __tablename__ = "training_jobs"
    id = Column(Integer, primary_key=True)
    status = Column(String(16), nullable=False, default="queued", index=True)
    stage = Column(String(64), nullable=False, default="排队等待")
    progress = Column(Text, nullable=True)  # the latest line of progress, for the page
    requested_by = Column(String(64), nullable=False)
    requested_at = Column(UTCDateTime(), nullable=False, default=utcnow)
    config = Column(String(256), nullable=False, default="config.yml")
    auto_promote = Column(Integer, nullable=False, default=1)
    started_at = Column(UTCDateTime(), nullable=True)
    heartbeat_at = Column(UTCDateTime(), nullable=True)
    finished_at = Column(UTCDateTime(), nullable=True)
    candidate = Column(String(128), nullable=True)
    decision = Column(Text, nullable=True)
    error = Column(Text, nullable=True)
