"""Relevance: Danish queries over the demo catalogue, each with the document it must return in the top 3.

The bar is 95 % hit@3 on every backend available; hit@3 and MRR are printed (`pytest -s`) and by
`bench/relevance.py`.
"""

from __future__ import annotations

from pathlib import Path

from search.backends.base import SearchBackend
from search.documents import Document, SearchQuery, Viewer

QUERIES = Path(__file__).with_name("relevance_queries.tsv")


def relevance_set() -> list[tuple[str, str, str]]:
    rows = []
    for line in QUERIES.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            query, expected, kind = line.split("\t")
            rows.append((query, expected, kind))
    return rows


def evaluate(backend: SearchBackend) -> tuple[float, float, list[tuple[str, str, list[str]]]]:
    hits3 = 0
    reciprocal = 0.0
    misses = []
    for query, expected, _ in relevance_set():
        result = backend.search(SearchQuery(text=query, viewer=Viewer(is_admin=True), limit=10))
        keys = [f"{h.type}:{h.id}" for h in result.hits]
        if expected in keys:
            rank = keys.index(expected) + 1
            reciprocal += 1 / rank
            hits3 += rank <= 3
        if expected not in keys[:3]:
            misses.append((query, expected, keys[:3]))
    n = len(relevance_set())
    return hits3 / n, reciprocal / n, misses


def test_the_set_covers_every_case() -> None:
    rows = relevance_set()
    assert len(rows) >= 40
    kinds = " ".join(kind for _, _, kind in rows)
    for case in (
        "inflection",
        "compound head",
        "compound modifier",
        "suspended compound",
        "æøå",
        "typo",
        "English",
        "synonym",
        "multi-word",
        "municipality",
    ):
        assert case in kinds, case


def test_relevance_on_the_demo_catalogue(backend: SearchBackend, demo_documents: list[Document]) -> None:
    expected_ids = {e for _, e, _ in relevance_set()}
    present = {d.key for d in demo_documents}
    assert expected_ids <= present, expected_ids - present
    backend.rebuild(demo_documents)
    hit_at_3, mrr, misses = evaluate(backend)
    print(f"\n{backend.name}: hit@3 = {hit_at_3:.3f}, MRR = {mrr:.3f} over {len(relevance_set())} queries")
    for miss in misses:
        print("  miss:", miss)
    assert hit_at_3 >= 0.95, misses
