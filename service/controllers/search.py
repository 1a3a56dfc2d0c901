from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.params import QueryParameter

from catalogue.vocab import Domain, Phase, Status
from search.documents import SearchQuery
from service.deps import ActorDep, IndexerDep
from service.indexing import viewer_for

DocType = Literal["process", "municipality", "bot", "code", "principle", "document"]
Text = Annotated[str, QueryParameter(description="What to search for, as typed: Danish, any spelling")]


FILTER_NAMES = ("type", "domain", "phase", "status", "system", "technology", "municipality")


def named_filters(*values: str | None) -> dict[str, str | None]:
    """The search's filters by name, the values given in FILTER_NAMES order (the API and the search page)."""
    return dict(zip(FILTER_NAMES, values, strict=True))


class SearchHit(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: str
    id: str
    title: str
    snippet: str
    url: str
    score: float
    path: str | None = None  # code hits: the file and the line that matched
    line: int | None = None


class SearchResponse(msgspec.Struct, kw_only=True):
    query: str
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]
    took_ms: float
    # true when so many documents match that `total` / the facet counts are estimates (see the README)
    total_approximate: bool = False
    facets_approximate: bool = False


class SearchController(Controller):
    path = "/api/search"
    tags = ["search"]

    @get("/", summary="Search processes, municipalities, bots, code and principles (Danish analysis, with facets)")
    async def search(
        self,
        indexer: IndexerDep,
        actor: ActorDep,
        q: Text = "",
        type: Annotated[DocType | None, QueryParameter(description="only this kind of result")] = None,
        domain: Annotated[Domain | None, QueryParameter()] = None,
        phase: Annotated[Phase | None, QueryParameter()] = None,
        status: Annotated[Status | None, QueryParameter()] = None,
        system: Annotated[str | None, QueryParameter(max_length=100)] = None,
        technology: Annotated[str | None, QueryParameter(max_length=100)] = None,
        municipality: Annotated[str | None, QueryParameter(pattern=r"^\d{3}$")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000)] = 0,
    ) -> SearchResponse:
        started = time.perf_counter()
        named = named_filters(type, domain, phase, status, system, technology, municipality)
        filters = {k: v for k, v in named.items() if v}
        result = await indexer.search(
            SearchQuery(text=q, filters=filters, viewer=viewer_for(actor), limit=limit, offset=offset)
        )
        return SearchResponse(
            query=q,
            total=result.total,
            hits=[SearchHit(**dataclasses.asdict(h)) for h in result.hits],
            facets=result.facets,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            total_approximate=result.total_approximate,
            facets_approximate=result.facets_approximate,
        )
