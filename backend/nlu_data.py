"""Read Rasa NLU training files and check that examples are written, not templated.

A model that learns a template ("3号楼电梯坏了" / "5号楼电梯坏了" / …) learns
nothing; the tests use :func:`near_duplicates` to reject pairs of examples of
one intent that share most of their character bigrams.

Run ``python -m backend.nlu_data FILE…`` to see counts, the share of long
examples (60+ characters) and any near-duplicate pairs per intent.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path

import yaml

NEAR_DUPLICATE = 0.75
LONG = 60
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")
_PUNCT = re.compile(r"[\s，。！？、,.!?~～…—:：；;\"'“”‘’()（）【】]+")


def plain(example: str) -> str:
    """The example's text with entity annotations removed."""
    return _ANNOTATION.sub(lambda m: m.group(1) or m.group(2), example)


def read_examples(paths: Iterable[Path]) -> dict[str, list[str]]:
    """Examples per intent (annotations removed) from Rasa NLU YAML files."""
    out: dict[str, list[str]] = {}
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []):
            if "intent" not in block:
                continue
            lines = [line[2:].strip() for line in str(block.get("examples", "")).splitlines() if line.startswith("- ")]
            out.setdefault(block["intent"], []).extend(plain(line) for line in lines if line)
    return out


def _bigrams(text: str) -> set[str]:
    text = _PUNCT.sub("", text.lower())
    return {text[i : i + 2] for i in range(len(text) - 1)} or {text}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character bigrams of two examples (punctuation ignored)."""
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y)


def near_duplicates(examples: list[str], threshold: float = NEAR_DUPLICATE) -> list[tuple[str, str, float]]:
    """Pairs of examples at or above ``threshold`` similarity (exact repeats included)."""
    grams = [_bigrams(e) for e in examples]
    pairs = []
    for (i, a), (j, b) in combinations(enumerate(grams), 2):
        score = len(a & b) / len(a | b)
        if score >= threshold:
            pairs.append((examples[i], examples[j], round(score, 2)))
    return pairs


def main(argv: list[str]) -> int:
    """Print a quality summary of the given files; exit 1 on near-duplicates."""
    examples = read_examples(Path(p) for p in argv)
    bad = 0
    for intent, items in sorted(examples.items()):
        long_share = sum(len(e) >= LONG for e in items) / max(1, len(items))
        dups = near_duplicates(items)
        bad += len(dups)
        print(
            f"{intent:24s} {len(items):4d} examples, {long_share:5.0%} with {LONG}+ chars, {len(dups)} near-duplicates"
        )
        for a, b, score in dups:
            print(f"    {score}: {a}  |  {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
