"""make benchmark times long letters too: the project's own, never anything from outside it."""

from backend import benchmark
from backend.triage.text import classification_text


def test_the_benchmark_letters_are_the_projects_long_examples():
    letters = benchmark.long_texts()
    assert len(letters) >= 10, "make benchmark needs enough letters for a p95"
    assert all(len(text) >= benchmark.LONG_CHARS for text in letters)
    # Each is a training or held-out example as the classifier sees it.
    assert all(classification_text(text) == text for text in letters)


def test_a_lower_bound_finds_more_letters():
    assert len(benchmark.long_texts(100)) > len(benchmark.long_texts(300))
