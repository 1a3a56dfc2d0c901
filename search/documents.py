"""What the search indexes and answers: documents, queries, results. No ORM, no HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field

FACETS = ("type", "domain", "phase", "status", "system", "technology", "municipality")
TYPES = ("process", "municipality", "bot", "code", "principle", "document")
NETWORK = "network"
EXACT_COUNT = 1000  # matches a backend counts one by one (with their facets); above it may estimate both
# a document with every query term as a whole word (`fremmødetolkning`, not fremmøde … tolkning) scores this much more
WHOLE_WORD_BOOST = 1.5


def municipality_visibility(code: str) -> str:
    return f"municipality:{code}"


@dataclass(frozen=True)
class Document:
    """One searchable thing. `fields` hold the original text (shown in snippets); the backends index
    their analysed form. `visibility` is `network` or `municipality:<code>` (a draft)."""

    type: str
    id: str
    title: str
    url: str
    summary: str = ""
    body: str = ""
    meta: str = ""
    facets: dict[str, list[str]] = field(default_factory=dict)
    visibility: str = NETWORK
    boost: float = 1.0

    @property
    def key(self) -> str:
        return f"{self.type}:{self.id}"

    def facet_values(self) -> dict[str, list[str]]:
        values = {name: [v for v in dict.fromkeys(vals) if v] for name, vals in self.facets.items()}
        values["type"] = [self.type]
        return values


@dataclass(frozen=True)
class ExternalBody:
    """Where the database itself keeps the text that the summary and body of one type of document are (a
    process's summary and description): the `summary` and `body` columns of the `table` row whose `key` column
    holds the document's id. A backend in the same database reads them from there for snippets and keeps no copy,
    as an FTS5 external content table does. The collator that makes such documents says so, and must give those
    columns, unchanged, as the summary and body."""

    table: str
    key: str
    summary: str
    body: str


@dataclass(frozen=True)
class Viewer:
    """Whose search it is: admins see drafts of all; an editor sees its own municipality's drafts."""

    municipality: str | None = None
    is_admin: bool = False


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    filters: dict[str, str] = field(default_factory=dict)  # facet → value (case-insensitive)
    viewer: Viewer = field(default_factory=Viewer)
    limit: int = 20
    offset: int = 0
    # more text (a description beside its title), of which only the words in the fewest documents are searched too
    # (search.analysis.distinctive): a text's likely duplicates share its rare words, and a search's cost grows
    # with its words' documents (the Meilisearch backend, without document counts, searches every word)
    context: str = ""


@dataclass
class Hit:
    type: str
    id: str
    title: str
    url: str
    snippet: str
    score: float
    path: str | None = None  # code hits: the file …
    line: int | None = None  # … and the line that matched


@dataclass
class SearchResult:
    """`total` and `facets` are exact unless the flags say they are estimates (a backend may estimate them
    when more documents match than it counts one by one; see the backend)."""

    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    total_approximate: bool = False
    facets_approximate: bool = False
    # query words the index did not know → the known forms searched instead (typo tolerance), for "Viser
    # resultater for …"
    corrections: dict[str, list[list[str]]] = field(default_factory=dict)
