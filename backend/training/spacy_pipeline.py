"""Build the project's Chinese spaCy pipeline, which Rasa loads through ``SpacyNLP``.

spaCy is the language backbone: jieba segmentation plus an ``entity_ruler``
with patterns for the registry's estates, roads and places (aliases
included), buildings, units, rooms, ticket numbers and mobile numbers. When
the pretrained ``zh_core_web_sm`` is installed (it is distributed outside
PyPI; see docs/operations.md), the same build starts from it instead of a blank
pipeline and keeps its named entities and vectors; nothing is downloaded
here.

The build is keyed on its inputs (the lookup file, this module's patterns and
the base model), so ``make train`` rebuilds it only when they change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from backend.settings import PROJECT_ROOT
from backend.triage.entities import LOOKUP_FILE, load_place_names

logger = logging.getLogger(__name__)

PIPELINE_DIR = PROJECT_ROOT / "var" / "spacy" / "zh_santong"
PRETRAINED = "zh_core_web_sm"
PATTERNS_VERSION = "2"

_NUMERAL = "^[0-9０-９一二三四五六七八九十百零〇两]+$"


def _patterns() -> list[dict[str, Any]]:
    names = load_place_names()
    patterns: list[dict[str, Any]] = []
    for label, table in (("estate", names.estates), ("road", names.roads), ("place", names.places)):
        for alias, official in sorted(table.items()):
            patterns.append({"label": label, "pattern": alias, "id": official})
    number_word = {"TEXT": {"REGEX": _NUMERAL}}
    patterns += [
        {"label": "building", "pattern": [number_word, {"TEXT": {"IN": ["号楼", "栋", "幢", "号栋", "座"]}}]},
        {"label": "building", "pattern": [{"TEXT": {"REGEX": "^[0-9一二三四五六七八九十两]+(号楼|栋|幢)$"}}]},
        {"label": "unit", "pattern": [number_word, {"TEXT": "单元"}]},
        {"label": "unit", "pattern": [{"TEXT": {"REGEX": "^[0-9一二三四五六七八九十两]+单元$"}}]},
        {"label": "room", "pattern": [{"TEXT": {"REGEX": "^[0-9]{3,4}$"}}, {"TEXT": {"IN": ["室", "号", "房"]}}]},
        {"label": "room", "pattern": [{"TEXT": {"REGEX": "^[0-9]{3,4}(室|号)$"}}]},
        {"label": "phone", "pattern": [{"TEXT": {"REGEX": r"^1[3-9]\d{9}$"}}]},
        {
            "label": "ticket_no",
            "pattern": [
                {"TEXT": {"REGEX": r"(?i)^gz\d{8}$"}},
                {"TEXT": {"IN": ["-", "－"]}, "OP": "?"},
                {"TEXT": {"REGEX": r"^\d{4}$"}},
            ],
        },
        {"label": "ticket_no", "pattern": [{"TEXT": {"REGEX": r"(?i)^gz\d{8}-?\d{4}$"}}]},
    ]
    return patterns


def pretrained_available() -> bool:
    """Whether ``zh_core_web_sm`` is installed in this environment."""
    import importlib.util

    return importlib.util.find_spec(PRETRAINED) is not None


def fingerprint() -> str:
    """A short hash of everything the build depends on."""
    digest = hashlib.sha256(PATTERNS_VERSION.encode())
    digest.update(LOOKUP_FILE.read_bytes() if LOOKUP_FILE.exists() else b"")
    digest.update(json.dumps(_patterns(), ensure_ascii=False, sort_keys=True).encode())
    digest.update(b"pretrained" if pretrained_available() else b"blank")
    return digest.hexdigest()[:16]


def build(target: Path = PIPELINE_DIR) -> Path:
    """Build the pipeline into ``target`` (unless an identical build is there) and return it."""
    stamp = target / "santong-build.txt"
    want = fingerprint()
    if stamp.exists() and stamp.read_text().strip() == want:
        return target
    import spacy

    if pretrained_available():
        nlp = spacy.load(PRETRAINED)
        before = "ner" if "ner" in nlp.pipe_names else None
        logger.info("building the spaCy pipeline on %s", PRETRAINED)
    else:
        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        before = None
        logger.info("building the spaCy pipeline on a blank zh pipeline with jieba (%s not installed)", PRETRAINED)
    ruler = nlp.add_pipe("entity_ruler", before=before, config={"overwrite_ents": True})
    ruler.add_patterns(_patterns())  # type: ignore[attr-defined]
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    stamp.write_text(want + "\n")
    return target
