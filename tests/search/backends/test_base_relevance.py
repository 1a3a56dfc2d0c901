"""Relevance: queries over the demo catalogue and a corpus of further processes, each with the document it must
return in the top 3.

The demo covers the five joint processes and the code bank; `relevance_corpus.json` adds processes that the
questions people type need (home care, nursing homes, parking fines, deaths, school absence, bank
reconciliation, interpreting) and near misses for them (a process that merely has both parts of a compound, one
full of "for meget"). Every query has a kind ("English", "question", "misspelt compound", …); hit@1, hit@3
and MRR are printed per kind (`pytest -s`, and by `bench/relevance.py`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from search.backends.base import SearchBackend
from search.documents import Document, SearchQuery, Viewer

HERE = Path(__file__).parent
QUERIES = HERE / "relevance_queries.tsv"
CORPUS = HERE / "relevance_corpus.json"


def relevance_set() -> list[tuple[str, str, str]]:
    rows = []
    for line in QUERIES.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            query, expected, kind = line.split("\t")
            rows.append((query, expected, kind))
    return rows


def corpus_documents() -> list[Document]:
    """The relevance corpus as process documents, beside the demo's."""
    return [
        Document(
            type="process",
            id=p["id"],
            title=p["title"],
            url=f"/processes/{p['id']}",
            summary=p["summary"],
            body=p["body"],
            meta=p["meta"],
        )
        for p in json.loads(CORPUS.read_text("utf-8"))
    ]


def kind_of(label: str) -> str:
    """The kind a query's label names: its first words before any parenthesis (`typo (missing letter)` → typo)."""
    return label.split("(")[0].split(" as ")[0].strip()


@dataclass
class Figures:
    queries: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal: float = 0.0

    def add(self, rank: int | None) -> None:
        self.queries += 1
        if rank is not None:
            self.hit1 += rank == 1
            self.hit3 += rank <= 3
            self.reciprocal += 1 / rank

    def line(self, name: str) -> str:
        n = max(self.queries, 1)
        figures = f"hit@1 {self.hit1 / n:.3f}  hit@3 {self.hit3 / n:.3f}  MRR {self.reciprocal / n:.3f}"
        return f"{name:22} {self.queries:4}  {figures}"


@dataclass
class Evaluation:
    overall: Figures
    kinds: dict[str, Figures]
    misses: list[tuple[str, str, list[str]]]

    @property
    def hit_at_3(self) -> float:
        return self.overall.hit3 / max(self.overall.queries, 1)

    @property
    def mrr(self) -> float:
        return self.overall.reciprocal / max(self.overall.queries, 1)

    def report(self, name: str) -> str:
        lines = [self.overall.line(name)]
        lines += [figures.line("  " + kind) for kind, figures in sorted(self.kinds.items())]
        return "\n".join(lines)


def evaluate(backend: SearchBackend) -> Evaluation:
    overall = Figures()
    kinds: dict[str, Figures] = defaultdict(Figures)
    misses = []
    for query, expected, label in relevance_set():
        result = backend.search(SearchQuery(text=query, viewer=Viewer(is_admin=True), limit=10))
        keys = [f"{h.type}:{h.id}" for h in result.hits]
        rank = keys.index(expected) + 1 if expected in keys else None
        overall.add(rank)
        kinds[kind_of(label)].add(rank)
        if rank is None or rank > 3:
            misses.append((query, expected, keys[:3]))
    return Evaluation(overall, dict(kinds), misses)


def test_the_set_covers_every_case() -> None:
    rows = relevance_set()
    assert len(rows) >= 150
    kinds = {kind_of(label) for _, _, label in rows}
    for case in (
        "inflection",
        "compound head",
        "compound modifier",
        "suspended compound",
        "typo",
        "English",
        "synonym",
        "everyday synonym",
        "synonym in compound",
        "question",
        "misspelt compound",
        "half-typed compound",
        "exact compound",
        "multi-word",
    ):
        assert case in kinds, case
    assert len({query for query, _, _ in rows}) == len(rows), "a query stands twice"


def test_the_corpus_does_not_clash_with_the_demo(demo_documents: list[Document]) -> None:
    demo = {d.key for d in demo_documents}
    assert not demo & {d.key for d in corpus_documents()}


def test_relevance(backend: SearchBackend, demo_documents: list[Document]) -> None:
    documents = demo_documents + corpus_documents()
    expected_ids = {e for _, e, _ in relevance_set()}
    present = {d.key for d in documents}
    assert expected_ids <= present, expected_ids - present
    backend.rebuild(documents)
    result = evaluate(backend)
    print("\n" + result.report(backend.name))
    for miss in result.misses:
        print("  miss:", miss)
    assert result.hit_at_3 >= 0.95, result.misses
    assert result.mrr >= 0.9, result.misses
    for kind, figures in result.kinds.items():
        assert figures.hit3 / figures.queries >= 0.8, (kind, result.misses)
