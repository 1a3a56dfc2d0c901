"""The word level of the analysis: stemming is correct when many threads stem at once."""

from __future__ import annotations

from search import analysis
from search.stemming import data_lines, stem
from tests.search.conftest import in_threads


def _clear_caches() -> None:
    stem.cache_clear()
    analysis.compound_splits.cache_clear()
    analysis._word_forms.cache_clear()


def test_stemming_from_many_threads_equals_single_threaded() -> None:
    words = data_lines("lexicon_da.txt")[:12_000]
    _clear_caches()
    expected = {w: stem(w) for w in words}
    expected_forms = {w: analysis.word_forms(w) for w in words[:3_000]}
    _clear_caches()

    results: list[dict[str, str]] = []
    forms: list[dict[str, tuple[str, ...]]] = []

    def work(offset: int) -> None:
        ordered = words[offset:] + words[:offset]  # each thread starts elsewhere, so they race on new words
        results.append({w: stem(w) for w in ordered})
        forms.append({w: analysis.word_forms(w) for w in ordered[:3_000] if w in expected_forms})

    assert in_threads(work, 8, 1_500) == []  # an IndexError inside the stemmer was the symptom
    assert len(results) == 8
    for result in results:
        assert result == expected
    for found in forms:
        assert all(expected_forms[w] == f for w, f in found.items())
    # what the cache keeps afterwards is right too
    assert {w: stem(w) for w in words} == expected
