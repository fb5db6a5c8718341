"""Evaluation of the NLU and triage on the held-out split and on real messages: ``make evaluate``.

The held-out split lives in ``tests/nlu_heldout/`` and is never trained on
(training reads ``data/`` only). Real citizen messages are read from
``REALDEV_DIR`` (``../shared/realdev/``) when that folder exists
(:mod:`backend.realdev`); they are scored in two tiers (both annotators sure,
all agreed) and by length, but never written into the report word for word.
Every message goes through the same path as a resident's: the trained model,
then :func:`backend.triage.core.triage`. The report gives per-category
precision / recall / F1, macro-F1, matter accuracy, the low-confidence rate
(messages the assistant would ask about instead of answering), intent
accuracy of the dialogue intents, parse latency, a calibration table
(confidence → accuracy) and confusion-matrix pictures
(:mod:`backend.evaluation_report`).

Usage: ``python -m backend.evaluation [--model FILE] [--config FILE] [--out DIR]``.
With ``--config`` a model is trained from ``data/`` with that config first,
which is how the pipeline alternatives in ``docs/nlu-pipeline.md`` were compared.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from backend.categories import CODES, default_table
from backend.nlu_data import read_examples
from backend.settings import PROJECT_ROOT, load_settings

logger = logging.getLogger(__name__)

HELDOUT_DIR = PROJECT_ROOT / "tests" / "nlu_heldout"
REPORT_DIR = PROJECT_ROOT / "docs" / "evaluation"
# Upper bounds (characters) of the length buckets; the last is open.
LENGTH_BUCKETS = (50, 100, 200, 300)
CONFIDENCE_BUCKETS = (0.3, 0.5, 0.7, 0.9)


def heldout_examples(directory: Path = HELDOUT_DIR) -> list[tuple[str, str]]:
    """(text, gold intent) pairs of the held-out split."""
    pairs: list[tuple[str, str]] = []
    for intent, texts in read_examples(sorted(directory.glob("*.yml"))).items():
        pairs.extend((text, intent) for text in texts)
    return pairs


def _labels(bounds: tuple[float, ...]) -> list[str]:
    """Labels of the buckets ``[0, b1)``, ``[b1, b2)`` … ``[bn, ∞)``."""
    lows = (0, *bounds)
    return [f"{low:g}–{high:g}" for low, high in zip(lows, bounds, strict=False)] + [f"≥{bounds[-1]:g}"]


def _bucket(value: float, bounds: tuple[float, ...]) -> str:
    """The label of the bucket ``value`` falls in."""
    index = sum(value >= bound for bound in bounds)
    return _labels(bounds)[index]


def calibration(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Accuracy of the classifier's best request guess per confidence bucket (well calibrated: they match)."""
    out = []
    for label in _labels(CONFIDENCE_BUCKETS):
        inside = [r for r in rows if _bucket(r["best_confidence"], CONFIDENCE_BUCKETS) == label]
        out.append(
            {
                "confidence": label,
                "messages": len(inside),
                "mean_confidence": round(statistics.fmean(r["best_confidence"] for r in inside), 3) if inside else None,
                "accuracy": round(sum(r["best"] == r["gold"] for r in inside) / len(inside), 3) if inside else None,
            }
        )
    return out


def by_length(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Category and matter accuracy per message length bucket."""
    table = default_table()

    def matter(code: str) -> str | None:
        category = table.get(code)
        return category.matter if category else None

    out = []
    for label in _labels(LENGTH_BUCKETS):
        inside = [r for r in rows if _bucket(len(r["text"]), LENGTH_BUCKETS) == label]
        n = max(1, len(inside))
        out.append(
            {
                "characters": label,
                "messages": len(inside),
                "category_accuracy": round(sum(r["gold"] == r["predicted"] for r in inside) / n, 3),
                "matter_accuracy": round(sum(matter(r["gold"]) == matter(r["predicted"]) for r in inside) / n, 3),
                "low_confidence_rate": round(sum(r["asked"] for r in inside) / n, 3),
            }
        )
    return out


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics from rows of ``{"gold", "predicted", "confidence", "asked", "seconds", "best", "best_confidence"}``."""
    from sklearn.metrics import precision_recall_fscore_support

    table = default_table()
    requests = [r for r in rows if r["gold"] in CODES]
    others = [r for r in rows if r["gold"] not in CODES]
    gold = [r["gold"] for r in requests]
    predicted = [r["predicted"] for r in requests]
    p, rc, f1, support = precision_recall_fscore_support(gold, predicted, labels=list(CODES), zero_division=0)
    per_category = {
        code: {
            "precision": round(float(p[i]), 3),
            "recall": round(float(rc[i]), 3),
            "f1": round(float(f1[i]), 3),
            "support": int(support[i]),
        }
        for i, code in enumerate(CODES)
    }

    def matter(code: str) -> str | None:
        category = table.get(code)
        return category.matter if category else None

    matter_hits = sum(matter(r["gold"]) == matter(r["predicted"]) for r in requests)
    latencies = sorted(r["seconds"] * 1000 for r in rows)
    # What the fallback threshold trades: answered share and accuracy of the answered.
    sweep = []
    for threshold in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        answered = [r for r in requests if r["best_confidence"] >= threshold]
        right = sum(r["best"] == r["gold"] for r in answered)
        sweep.append(
            {
                "threshold": threshold,
                "answered": round(len(answered) / max(1, len(requests)), 3),
                "accuracy_of_answered": round(right / max(1, len(answered)), 3),
            }
        )
    return {
        "examples": len(rows),
        "request_examples": len(requests),
        "category_macro_f1": round(statistics.fmean(v["f1"] for v in per_category.values()), 3),
        "category_accuracy": round(sum(g == q for g, q in zip(gold, predicted, strict=True)) / max(1, len(gold)), 3),
        "matter_accuracy": round(matter_hits / max(1, len(requests)), 3),
        "low_confidence_rate": round(sum(r["asked"] for r in requests) / max(1, len(requests)), 3),
        "answered_accuracy": round(
            sum(r["gold"] == r["predicted"] for r in requests if not r["asked"])
            / max(1, sum(not r["asked"] for r in requests)),
            3,
        ),
        "other_intent_accuracy": round(sum(r["gold"] == r["intent"] for r in others) / max(1, len(others)), 3),
        "parse_ms_p50": round(latencies[len(latencies) // 2], 1) if latencies else None,
        "parse_ms_p95": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 1) if latencies else None,
        "per_category": per_category,
        "threshold_sweep": sweep,
        "calibration": calibration(requests),
        "by_length": by_length(requests),
    }


def run(model: Path, examples: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
    """Triage every message of ``examples`` (the held-out split when omitted) with ``model``; one row each."""
    from backend.triage.core import triage
    from backend.triage.local import LocalNLU

    nlu = LocalNLU(model)
    rows = []
    try:
        for text, gold in heldout_examples() if examples is None else examples:
            started = time.perf_counter()
            parse = nlu.parse(text)
            seconds = time.perf_counter() - started
            result = triage(parse, text)
            ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
            # What the assistant decided, or, where it asked, what it would have guessed.
            best = ranking[0]["name"] if ranking else result.intent
            predicted = result.category or (result.intent if result.intent in CODES else best)
            rows.append(
                {
                    "text": text,
                    "gold": gold,
                    "intent": result.intent,
                    "predicted": predicted,
                    "confidence": round(result.confidence, 3),
                    "asked": result.needs_clarification or result.intent == "nlu_fallback",
                    "seconds": seconds,
                    "best": ranking[0]["name"] if ranking else None,
                    "best_confidence": round(float(ranking[0]["confidence"]), 3) if ranking else 0.0,
                }
            )
    finally:
        nlu.close()
    return rows


def evaluate_realdev(model: Path, directory: Path, errors_file: Path) -> dict[str, Any] | None:
    """Scores on the real messages in ``directory`` (``None`` when it is absent), per tier.

    The misclassified messages go to ``errors_file`` (under ``var/``, never
    committed) for reading; the report itself holds figures only.
    """
    from backend import realdev

    messages = realdev.load(directory)
    if messages is None:
        return None
    rows = run(model, [(m.text, m.category) for m in messages])
    for row, message in zip(rows, messages, strict=True):
        row["tier"] = message.tier
    errors_file.parent.mkdir(parents=True, exist_ok=True)
    with errors_file.open("w", encoding="utf-8") as out:
        for r in rows:
            if r["gold"] != r["predicted"]:
                out.write(json.dumps({k: v for k, v in r.items() if k != "seconds"}, ensure_ascii=False) + "\n")
    return {
        "both_sure": score([r for r in rows if r["tier"] == "both_sure"]),
        "all": score(rows),
        "_rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    """Evaluate (and optionally train first); write report.md, report.json and the confusion pictures."""
    from backend.evaluation_report import confusion_png, markdown

    parser = argparse.ArgumentParser(prog="python -m backend.evaluation")
    parser.add_argument("--model", help="model to evaluate (default: the current trained model)")
    parser.add_argument("--config", help="train a model from data/ with this config first")
    parser.add_argument("--out", default=str(REPORT_DIR))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(require_secrets=False)
    env = {**os.environ, **settings.rasa_environment()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.config:
        from backend.model_store import train

        started = time.perf_counter()
        model = train(Path(args.config), PROJECT_ROOT / "var" / "experiments", Path(args.config).stem, env=env)
        train_seconds = round(time.perf_counter() - started, 1)
    else:
        from backend.model_store import ensure_model

        model = Path(args.model) if args.model else ensure_model(settings.model_dir, env=env)[0]
        train_seconds = None
    os.environ.update(settings.rasa_environment())
    rows = run(model)
    metrics = score(rows)
    metrics["train_seconds"] = train_seconds
    errors_file = PROJECT_ROOT / "var" / "evaluation" / f"{out.name}-realdev-errors.jsonl"
    real = evaluate_realdev(model, settings.realdev_dir, errors_file)
    if real is not None:
        real_rows = real.pop("_rows")
        metrics["realdev"] = real
        confusion_png(real_rows, out / "confusion_realdev.png", "Real messages (all agreed) confusion matrix")
    errors = [r for r in rows if r["gold"] in CODES and r["gold"] != r["predicted"]]
    (out / "report.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(metrics, model, errors), encoding="utf-8")
    confusion_png(rows, out / "confusion.png", "Held-out confusion matrix")
    print(
        f"held-out: macro-F1 {metrics['category_macro_f1']}  matter accuracy {metrics['matter_accuracy']}  "
        f"low-confidence {metrics['low_confidence_rate']}  dialogue intents {metrics['other_intent_accuracy']}  "
        f"parse p95 {metrics['parse_ms_p95']} ms  train {train_seconds} s  → {out}/report.md"
    )
    if real is None:
        print(f"realdev: {settings.realdev_dir} not found, skipped")
    for tier in ("both_sure", "all"):
        if real is not None:
            m = real[tier]
            print(
                f"realdev {tier} ({m['request_examples']}): category accuracy {m['category_accuracy']}  "
                f"matter accuracy {m['matter_accuracy']}  low-confidence {m['low_confidence_rate']}  "
                f"parse p95 {m['parse_ms_p95']} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
