"""Trained Rasa models, named by the content of what they were trained from.

The fingerprint covers ``config.yml``, every file under ``domain/`` and
``data/``, the custom NLU component and the text normalisation it applies,
the spaCy pipeline's inputs and the Rasa version, so ``make run`` retrains exactly when one of
them changed and otherwise starts the existing model at once (Rasa's own
fingerprinting still has to load TensorFlow first, which costs ~20 s).
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from backend.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

TRAINING_INPUTS = (
    "config.yml",
    "domain",
    "data",
    "backend/rasa_ext/nlu_normaliser.py",
    "backend/rasa_ext/nlu_placeholders.py",
    "backend/rasa_ext/nlu_tfidf.py",
    "backend/rasa_ext/nlu_classifier.py",
    "backend/triage/text.py",
)
PREFIX = "sst-"


def source_files(names: Iterable[str], root: Path = PROJECT_ROOT) -> list[Path]:
    """The named files, and the data and code files under the named folders, in a stable order."""
    files: list[Path] = []
    for name in names:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and p.suffix in {".yml", ".yaml", ".txt", ".py"})
    return sorted(files)


def training_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """Every file that goes into training, in a stable order."""
    return source_files(TRAINING_INPUTS, root)


def fingerprint(root: Path = PROJECT_ROOT, config: Path | None = None) -> str:
    """A short hash of the training inputs' paths and contents and the Rasa version.

    ``config`` replaces ``config.yml`` when a model is trained with another
    configuration (a smaller one in the tests, an experiment).
    """
    from importlib.metadata import version

    from backend.training.spacy_pipeline import fingerprint as spacy_fingerprint

    digest = hashlib.sha256(f"rasa=={version('rasa')}\nspacy={spacy_fingerprint()}\n".encode())
    for path in training_files(root):
        if config is not None and path == root / "config.yml":
            path = config
            digest.update(b"config.yml\0")
        else:
            digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(model_dir: Path, root: Path = PROJECT_ROOT, config: Path | None = None) -> Path:
    """Where the model for the current training inputs (and ``config``) is, or will be."""
    return model_dir / f"{PREFIX}{fingerprint(root, config)}.tar.gz"


def train(
    config: Path,
    out_dir: Path,
    name: str,
    root: Path = PROJECT_ROOT,
    env: dict[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
) -> Path:
    """Train a model from ``data/`` and ``domain/`` with ``config`` into ``out_dir/name.tar.gz``.

    The spaCy pipeline the config may load is built first. With ``on_line``,
    Rasa's output is passed to it line by line (progress for the console)
    instead of going to the terminal.

    Raises:
        subprocess.CalledProcessError: training failed (Rasa printed why).
    """
    from backend.training.spacy_pipeline import build

    build()
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable, "-m", "rasa", "train", "--config", str(config), "--domain", str(root / "domain"),
        "--data", str(root / "data"), "--out", str(out_dir), "--fixed-model-name", name,
    ]  # fmt: skip
    if on_line is None:
        subprocess.run(argv, check=True, cwd=root, env=env)
    else:
        with subprocess.Popen(
            argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
        ) as proc:
            assert proc.stdout is not None
            tail: list[str] = []
            for line in proc.stdout:
                tail = [*tail[-29:], line.rstrip()]
                on_line(line.rstrip())
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, argv, output="\n".join(tail))
    return out_dir / f"{name}.tar.gz"


def ensure_model(model_dir: Path, root: Path = PROJECT_ROOT, env: dict[str, str] | None = None) -> tuple[Path, bool]:
    """Train the model for the current inputs unless it exists.

    Args:
        model_dir: where models are kept.
        root: the project root holding the training inputs.
        env: the environment for ``rasa train`` (telemetry off).

    Returns:
        The model's path and whether it was trained now.

    Raises:
        subprocess.CalledProcessError: training failed (Rasa printed why).
    """
    target = model_path(model_dir, root)
    if target.exists():
        return target, False
    logger.info("training data changed: training %s", target.name)
    train(root / "config.yml", model_dir, target.name.removesuffix(".tar.gz"), root, env)
    return target, True
