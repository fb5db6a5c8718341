"""The evaluation report as people read it: Markdown tables and confusion-matrix pictures.

The figures come from :func:`backend.evaluation.score`. Real messages
(``metrics["realdev"]``) appear as figures only: their texts may not be copied
into the repository, so no misclassified real message is listed here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from backend.categories import CODES

logger = logging.getLogger(__name__)


def confusion_png(rows: list[dict[str, Any]], path: Path, title: str) -> None:
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
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _headline(metrics: dict[str, Any]) -> list[str]:
    return [
        "| metric | value |",
        "|---|---|",
        f"| category macro-F1 | {metrics['category_macro_f1']} |",
        f"| category accuracy | {metrics['category_accuracy']} |",
        f"| matter accuracy | {metrics['matter_accuracy']} |",
        f"| low-confidence rate (asks the resident instead of answering) | {metrics['low_confidence_rate']} |",
        f"| accuracy of the requests it answers without asking | {metrics['answered_accuracy']} |",
        f"| parse latency p50 / p95 (in-process, ms) | {metrics['parse_ms_p50']} / {metrics['parse_ms_p95']} |",
    ]


def _calibration_and_length(metrics: dict[str, Any]) -> list[str]:
    lines = [
        "Calibration (the classifier's best request guess; well calibrated when accuracy ≈ mean confidence):",
        "",
        "| confidence | messages | mean confidence | accuracy |",
        "|---|---|---|---|",
        *[
            f"| {c['confidence']} | {c['messages']} | {c['mean_confidence']} | {c['accuracy']} |"
            for c in metrics["calibration"]
        ],
        "",
        "By length (characters):",
        "",
        "| length | messages | category accuracy | matter accuracy | low-confidence rate |",
        "|---|---|---|---|---|",
        *[
            f"| {b['characters']} | {b['messages']} | {b['category_accuracy']} | {b['matter_accuracy']} | "
            f"{b['low_confidence_rate']} |"
            for b in metrics["by_length"]
        ],
    ]
    return lines


def _per_category(metrics: dict[str, Any]) -> list[str]:
    lines = ["| category | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for code, m in metrics["per_category"].items():
        lines.append(f"| `{code}` | {m['precision']} | {m['recall']} | {m['f1']} | {m['support']} |")
    return lines


def _realdev(real: dict[str, Any]) -> list[str]:
    both, every = real["both_sure"], real["all"]
    lines = [
        "## Real citizen messages (realdev)",
        "",
        "Real messages posted to a government message board, labelled by two annotators "
        "(`REALDEV_DIR`, evaluation only: figures here, never the texts). "
        "Misclassified messages are written to `var/evaluation/` for reading.",
        "",
        "| tier | messages | category accuracy | macro-F1 | matter accuracy | low-confidence rate | parse p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in (("both annotators sure", both), ("all agreed", every)):
        lines.append(
            f"| {name} | {m['request_examples']} | {m['category_accuracy']} | {m['category_macro_f1']} | "
            f"{m['matter_accuracy']} | {m['low_confidence_rate']} | {m['parse_ms_p95']} |"
        )
    lines += [
        "",
        "![realdev confusion matrix](confusion_realdev.png)",
        "",
        "All agreed, by category:",
        "",
        *_per_category(every),
        "",
        *_calibration_and_length(every),
        "",
    ]
    return lines


def markdown(metrics: dict[str, Any], model: Path, errors: list[dict[str, Any]]) -> str:
    """The report as Markdown."""
    lines = [
        "# NLU evaluation",
        "",
        f"Model: `{model.name}`. Produced by `make evaluate`.",
        "",
        f"## Held-out split ({metrics['examples']} messages, {metrics['request_examples']} requests)",
        "",
        *_headline(metrics),
        f"| dialogue intent accuracy | {metrics['other_intent_accuracy']} |",
        "",
        "![confusion matrix](confusion.png)",
        "",
        "Fallback threshold sweep (raw classifier, before place questions):",
        "",
        "| threshold | share answered | accuracy of answered |",
        "|---|---|---|",
        *[f"| {t['threshold']} | {t['answered']} | {t['accuracy_of_answered']} |" for t in metrics["threshold_sweep"]],
        "",
        *_calibration_and_length(metrics),
        "",
        *_per_category(metrics),
        "",
        "Category metrics use what the assistant decided, and where it asks (fallback or the place",
        "question) the category it would have guessed; how often it asks is the low-confidence rate.",
        "",
    ]
    if metrics.get("realdev"):
        lines += _realdev(metrics["realdev"])
    lines += [
        "## Misclassified held-out requests",
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
