from backend.evaluation import heldout_examples, score


def row(gold, predicted, asked=False, intent=None, best_confidence=0.9):
    return {
        "text": "x",
        "gold": gold,
        "predicted": predicted,
        "intent": intent or predicted,
        "confidence": 0.9,
        "asked": asked,
        "seconds": 0.01,
        "best": predicted,
        "best_confidence": best_confidence,
    }


def test_metrics_count_matter_and_asks():
    rows = [
        row("elevator", "elevator"),
        row("elevator", "building_common"),  # wrong category, right matter (both shared)
        row("road", "home_repair", asked=True, best_confidence=0.2),  # wrong matter, asked
        row("greet", "greet"),
        row("thanks", "goodbye"),
    ]
    m = score(rows)
    assert m["request_examples"] == 3
    assert m["category_accuracy"] == round(1 / 3, 3)
    assert m["matter_accuracy"] == round(2 / 3, 3)
    assert m["low_confidence_rate"] == round(1 / 3, 3)
    assert m["answered_accuracy"] == 0.5
    assert m["other_intent_accuracy"] == 0.5
    assert m["per_category"]["elevator"]["recall"] == 0.5
    assert m["threshold_sweep"][0] == {"threshold": 0.2, "answered": 1.0, "accuracy_of_answered": round(1 / 3, 3)}


def test_heldout_split_covers_every_category():
    golds = {gold for _, gold in heldout_examples()}
    from backend.categories import CODES

    assert set(CODES) <= golds


def test_calibration_and_length_buckets():
    rows = [
        {**row("road", "road", best_confidence=0.95), "text": "路" * 20},
        {**row("road", "traffic", best_confidence=0.92), "text": "路" * 250},
        {**row("road", "road", best_confidence=0.4), "text": "路" * 400},
    ]
    m = score(rows)
    top = next(c for c in m["calibration"] if c["confidence"] == "≥0.9")
    assert (top["messages"], top["mean_confidence"], top["accuracy"]) == (2, 0.935, 0.5)
    assert next(c for c in m["calibration"] if c["confidence"] == "0.3–0.5")["accuracy"] == 1.0
    lengths = {b["characters"]: b for b in m["by_length"]}
    assert lengths["0–50"]["category_accuracy"] == 1.0
    assert lengths["200–300"]["category_accuracy"] == 0.0 and lengths["200–300"]["matter_accuracy"] == 1.0
    assert lengths["≥300"]["messages"] == 1
