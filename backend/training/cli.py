"""``python -m backend model …``: train, compare, promote and roll back from the command line.

- ``model ensure`` (``make train``): train the model for the current inputs if
  missing; the first model serves at once, a later one only after the
  promotion rule (:mod:`backend.training.promotion`: held-out split, real
  messages when present, conversation tests) passed.
- ``model path``: the model for the current inputs (what the tests use).
- ``model train [--config F] [--no-promote]``: a training job, run here with its progress printed.
- ``model run-job ID``: run a queued job (the worker starts this for the console).
- ``model list``: the history with scores; ``model serving``: the serving archive.
- ``model promote NAME`` / ``model rollback [NAME]``: serve that version (or the previous one).
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.exc import OperationalError, ProgrammingError

from backend.db import make_engine, make_session_factory
from backend.models.training import VERSION_STATUS_NAMES
from backend.settings import load_settings
from backend.training import jobs, versions

CLI_ACTOR = "命令行"


def _context() -> tuple[Any, Any]:
    settings = load_settings(require_secrets=False)
    return settings, make_session_factory(make_engine(settings.database_url))


def cmd_path(args: argparse.Namespace) -> int:
    """Print the model for the current training inputs."""
    from backend.model_store import model_path

    print(model_path(load_settings(require_secrets=False).model_dir))
    return 0


def cmd_serving(args: argparse.Namespace) -> int:
    """Print the archive the Rasa server loads on start."""
    from backend.training.versions import rasa_model

    print(rasa_model(load_settings(require_secrets=False)))
    return 0


def cmd_ensure(args: argparse.Namespace) -> int:
    """Train if the inputs changed; register the first model as serving, gate later ones."""
    from backend.model_store import ensure_model, fingerprint

    settings, sessions = _context()
    path, trained = ensure_model(settings.model_dir, env={**os.environ, **settings.rasa_environment()})
    print(("已训练新模型 / trained " if trained else "模型已是最新 / model up to date: ") + str(path))
    name = path.name.removesuffix(".tar.gz")
    now = datetime.now(timezone.utc)
    try:
        with sessions.begin() as session:
            current = versions.serving(session)
            known = versions.find(session, name)
            if current is None:
                version = versions.record(session, name=name, fingerprint=fingerprint(), by=CLI_ACTOR, now=now)
                version.decision = "第一个模型，直接上线。"
                versions.promote(
                    session, version, servers=jobs.servers_of(settings), model_dir=settings.model_dir,
                    by=CLI_ACTOR, now=now,
                )  # fmt: skip
                print(f"正在使用 / serving: {name}")
                return 0
            if current.name == name:
                return 0
            if known is not None and known.status in ("rejected", "retired", "candidate"):
                print(
                    f"这份训练数据的模型 {name} 没有上线（{VERSION_STATUS_NAMES[str(known.status)]}），"
                    f"仍在使用 {current.name}。要用它：python -m backend model promote {name}"
                )
                return 0
            job = jobs.request(session, by=CLI_ACTOR, now=now)
    except (OperationalError, ProgrammingError):
        print("数据库还没有建好（make db），先不记录模型版本。")
        return 0
    except jobs.TrainingBusy as exc:
        print(str(exc))
        return 0
    print(f"和正在使用的模型比较（第 {job.id} 次训练）…")
    finished = jobs.run(int(job.id), sessions=sessions, settings=settings, echo=print)
    return 0 if finished.status == "done" else 1


def cmd_train(args: argparse.Namespace) -> int:
    """Queue a job and run it here, printing its progress."""
    settings, sessions = _context()
    with sessions.begin() as session:
        job = jobs.request(
            session, by=args.by, now=datetime.now(timezone.utc), config=args.config, auto_promote=not args.no_promote
        )
    finished = jobs.run(int(job.id), sessions=sessions, settings=settings, echo=print)
    return 0 if finished.status == "done" else 1


def cmd_run_job(args: argparse.Namespace) -> int:
    """Run one queued (or claimed) job: what the worker starts for the console."""
    settings, sessions = _context()
    finished = jobs.run(args.job, sessions=sessions, settings=settings)
    return 0 if finished.status == "done" else 1


def cmd_list(args: argparse.Namespace) -> int:
    """Print the history of models, newest first."""
    _, sessions = _context()
    with sessions() as session:
        for version in versions.history(session):
            print(
                f"{version.name}  {VERSION_STATUS_NAMES[str(version.status)]:<4}  "
                f"{version.trained_at:%Y-%m-%d %H:%M}  {_figures(version.scores or {})}  {version.trained_by}"
            )
    return 0


def _figures(scores: dict[str, Any]) -> str:
    """The headline figures of a model's stored scores: held-out, real messages, conversation tests."""

    def value(key: str) -> str:
        return f"{scores[key]:.3f}" if scores.get(key) is not None else "—"

    out = f"macro-F1 {value('category_macro_f1')}"
    if scores.get("realdev_all_category_accuracy") is not None:
        out += f"  真实留言类别 {value('realdev_both_sure_category_accuracy')}/{value('realdev_all_category_accuracy')}"
    if scores.get("stories_total"):
        out += f"  对话测试 {scores.get('stories_passed', 0):.0f}/{scores['stories_total']:.0f}"
    return out


def cmd_promote(args: argparse.Namespace) -> int:
    """Serve the named version (an admin's override of the rule, recorded on it)."""
    settings, sessions = _context()
    now = datetime.now(timezone.utc)
    with sessions.begin() as session:
        version = versions.find(session, args.name)
        if version is None:
            from backend.errors import NotFound

            raise NotFound(f"没有叫 {args.name} 的模型（python -m backend model list 看全部）。")
        swapped = versions.promote(
            session, version, servers=jobs.servers_of(settings), model_dir=settings.model_dir, by=args.by, now=now
        )
        note = f"{now:%Y-%m-%d %H:%M} 由 {args.by} 手动上线"
        version.decision = f"{version.decision}\n{note}" if version.decision else note
    print(f"正在使用 / serving: {args.name}（已换进 {len(swapped)} 台运行中的 Rasa 服务器）")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    """Serve the previous version again (or the named one)."""
    settings, sessions = _context()
    with sessions.begin() as session:
        version = versions.rollback(
            session, name=args.name, servers=jobs.servers_of(settings), model_dir=settings.model_dir,
            by=args.by, now=datetime.now(timezone.utc),
        )  # fmt: skip
        print(f"已回滚，正在使用 / serving: {version.name}")
    return 0


def add_model_commands(sub: Any) -> None:
    """Register ``model …`` on the main parser."""
    model = sub.add_parser("model", help="the trained Rasa models: train, compare, promote, roll back")
    actions = model.add_subparsers(dest="action", required=True)
    actions.add_parser("ensure", help="train if the inputs changed; promote only if not worse").set_defaults(
        func=cmd_ensure
    )
    actions.add_parser("path", help="the model for the current inputs").set_defaults(func=cmd_path)
    actions.add_parser("serving", help="the archive the Rasa server loads").set_defaults(func=cmd_serving)
    actions.add_parser("list", help="the history with scores").set_defaults(func=cmd_list)
    train = actions.add_parser("train", help="train, evaluate beside the serving model, promote if not worse")
    train.add_argument("--config", default="config.yml", help="training config, relative to the project")
    train.add_argument("--no-promote", action="store_true", help="only train and score")
    train.add_argument("--by", default=CLI_ACTOR)
    train.set_defaults(func=cmd_train)
    run = actions.add_parser("run-job", help="run a queued training job (the worker starts this)")
    run.add_argument("job", type=int)
    run.set_defaults(func=cmd_run_job)
    promote = actions.add_parser("promote", help="serve this version")
    promote.add_argument("name")
    promote.add_argument("--by", default=CLI_ACTOR)
    promote.set_defaults(func=cmd_promote)
    back = actions.add_parser("rollback", help="serve the previous version again (or NAME)")
    back.add_argument("name", nargs="?")
    back.add_argument("--by", default=CLI_ACTOR)
    back.set_defaults(func=cmd_rollback)
