"""What a backend stores and indexes for a document: prose through the Danish analysis, code through the
identifier analysis. Shared by every backend, so they index the same words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from search.analysis import AnalyzedQuery, analyze
from search.code import MAX_INDEXED, analyze_code, analyze_code_words, analyze_definitions
from search.documents import Document, Hit
from search.snippets import code_snippet, plain_text, snippet


def is_code(doc_type: str) -> bool:
    return doc_type == "code"


def stored_fields(doc: Document, body: str) -> dict[str, Any]:
    """What every backend stores of a document to answer with (hits, snippets, visibility), by field name."""
    return {
        "type": doc.type,
        "id": doc.id,
        "title": doc.title,
        "url": doc.url,
        "summary": doc.summary,
        "body": body,
        "visibility": doc.visibility,
    }


def snippet_body(doc_type: str, body: str) -> str:
    """A document's body as kept for snippets (and analysed): code up to what is indexed, prose as plain text."""
    return body[:MAX_INDEXED] if is_code(doc_type) else plain_text(body)


@dataclass(slots=True)
class Indexed:
    """A document as a backend indexes it: its body as kept for snippets, and its analysed fields."""

    body: str
    title: str
    summary: str
    text: str  # the analysed body
    meta: str
    # the distinct words of `text`, when the analysis gave them (`words` adds the other fields' to them)
    given_words: set[str] | None = None

    @property
    def analysed(self) -> tuple[str, str, str, str]:
        return self.title, self.summary, self.text, self.meta

    def words(self) -> set[str]:
        """The distinct words of the four analysed fields: the body's, when the analysis gave them, with the other
        fields' added to that set (a batch of documents holds one set each), else split from the fields."""
        if self.given_words is None:
            return set(" ".join(self.analysed).split())
        self.given_words.update(f"{self.title} {self.summary} {self.meta}".split())
        return self.given_words


def indexed_fields(doc: Document) -> Indexed:
    body = snippet_body(doc.type, doc.body)
    if is_code(doc.type):
        defined = analyze_definitions(body)  # the file that defines a name ranks first for it
        text, words = analyze_code_words(body)
        return Indexed(
            body,
            analyze_code(doc.title) + " " + analyze(doc.title),
            analyze(doc.summary),
            text,
            analyze(doc.meta) + " " + defined,
            words,
        )
    return Indexed(body, analyze(doc.title), analyze(doc.summary), analyze(body), analyze(doc.meta))


def make_hit(
    doc_type: str, doc_id: str, title: str, url: str, summary: str, body: str, score: float, query: AnalyzedQuery
) -> Hit:
    if is_code(doc_type):
        html, line = code_snippet(body, query)
        return Hit(
            type=doc_type,
            id=doc_id,
            title=title,
            url=f"{url}#L{line}" if line else url,
            snippet=html,
            score=score,
            line=line,
            path=title,
        )
    return Hit(type=doc_type, id=doc_id, title=title, url=url, snippet=snippet([summary, body], query), score=score)
