"""Held-out evaluation of the NLU and triage: ``make evaluate``.

The held-out split lives in ``tests/nlu_heldout/`` and is never trained on
(training reads ``data/`` only). Every held-out message goes through the same
path as a resident's: the trained model, then :func:`backend.triage.core.triage`.
The report gives per-category precision / recall / F1, macro-F1, matter
accuracy, the low-confidence rate (messages the assistant would ask about
instead of answering), intent accuracy of the dialogue intents, parse
latency, and a confusion-matrix picture.

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


def heldout_examples(directory: Path = HELDOUT_DIR) -> list[tuple[str, str]]:
    """(text, gold intent) pairs of the held-out split."""
    pairs: list[tuple[str, str]] = []
    for intent, texts in read_examples(sorted(directory.glob("*.yml"))).items():
        pairs.extend((text, intent) for text in texts)
    return pairs


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics from rows of ``{"gold", "predicted", "confidence", "asked", "seconds"}``."""
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
        "parse_ms_p95": round(latencies[int(len(latencies) * 0.95) - 1], 1) if latencies else None,
        "per_category": per_category,
        "threshold_sweep": sweep,
    }


def run(model: Path) -> list[dict[str, Any]]:
    """Triage every held-out message with ``model``; one row per message."""
    from backend.triage.core import triage
    from backend.triage.local import LocalNLU

    nlu = LocalNLU(model)
    rows = []
    try:
        for text, gold in heldout_examples():
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


def confusion_png(rows: list[dict[str, Any]], path: Path) -> None:
    """Draw the category confusion matrix (rows: true, columns: predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    requests = [r for r in rows if r["gold"] in CODES]
    labels = [*CODES, "other"]
    predicted = [r["predicted"] if r["predicted"] in labels else "other" for r in requests]
    matrix = confusion_matrix([r["gold"] for r in requests], predicted, labels=labels)
    fig, ax = plt.subplots(figsize=(11, 10))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black",
                    fontsize=8,
                )
    ax.set_xlabel("predicted (after triage; best guess where the assistant asks)")
    ax.set_ylabel("true category")
    ax.set_title("Held-out confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(metrics: dict[str, Any], model: Path, errors: list[dict[str, Any]]) -> str:
    """The report as Markdown."""
    lines = [
        "# NLU evaluation on the held-out split",
        "",
        f"Model: `{model.name}`; held-out messages: {metrics['examples']} "
        f"({metrics['request_examples']} requests). Produced by `make evaluate`.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| category macro-F1 | {metrics['category_macro_f1']} |",
        f"| category accuracy | {metrics['category_accuracy']} |",
        f"| matter accuracy | {metrics['matter_accuracy']} |",
        f"| low-confidence rate (asks the resident instead of answering) | {metrics['low_confidence_rate']} |",
        f"| accuracy of the requests it answers without asking | {metrics['answered_accuracy']} |",
        f"| dialogue intent accuracy | {metrics['other_intent_accuracy']} |",
        f"| parse latency p50 / p95 (in-process, ms) | {metrics['parse_ms_p50']} / {metrics['parse_ms_p95']} |",
        "",
        "![confusion matrix](confusion.png)",
        "",
        "Fallback threshold sweep (raw classifier, before place questions):",
        "",
        "| threshold | share answered | accuracy of answered |",
        "|---|---|---|",
        *[f"| {t['threshold']} | {t['answered']} | {t['accuracy_of_answered']} |" for t in metrics["threshold_sweep"]],
        "",
        "| category | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for code, m in metrics["per_category"].items():
        lines.append(f"| `{code}` | {m['precision']} | {m['recall']} | {m['f1']} | {m['support']} |")
    lines += [
        "",
        "Category metrics use what the assistant decided, and where it asks (fallback or the place",
        "question) the category it would have guessed; how often it asks is the low-confidence rate.",
        "",
        "## Misclassified requests",
        "",
        "| true | predicted | asked | confidence | message |",
        "|---|---|---|---|---|",
    ]
    for r in errors:
        text = r["text"].replace("|", "｜")
        lines.append(
            f"| `{r['gold']}` | `{r['predicted']}` | {'yes' if r['asked'] else ''} | {r['confidence']} | {text[:80]} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Evaluate (and optionally train first); write report.md, report.json and confusion.png."""
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
    errors = [r for r in rows if r["gold"] in CODES and r["gold"] != r["predicted"]]
    (out / "report.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(markdown(metrics, model, errors), encoding="utf-8")
    confusion_png(rows, out / "confusion.png")
    print(
        f"macro-F1 {metrics['category_macro_f1']}  matter accuracy {metrics['matter_accuracy']}  "
        f"low-confidence {metrics['low_confidence_rate']}  dialogue intents {metrics['other_intent_accuracy']}  "
        f"parse p95 {metrics['parse_ms_p95']} ms  train {train_seconds} s  → {out}/report.md"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
