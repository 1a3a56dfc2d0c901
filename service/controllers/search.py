from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Literal

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from catalogue.services import ProcessFilters
from search.documents import SearchQuery
from service.controllers.base import ApiController
from service.controllers.params import PROCESS_FILTERS
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


class SearchController(ApiController):
    path = "/api/search"
    tags = ["search"]
    dependencies = PROCESS_FILTERS

    @get("/", summary="Search processes, municipalities, bots, code and principles (Danish analysis, with facets)")
    async def search(
        self,
        indexer: IndexerDep,
        actor: ActorDep,
        filters: NamedDependency[ProcessFilters],
        q: Text = "",
        type: Annotated[DocType | None, QueryParameter(description="only this kind of result")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000)] = 0,
    ) -> SearchResponse:
        started = time.perf_counter()
        named = {"type": type, **msgspec.structs.asdict(filters)}
        chosen = {k: v for k, v in named.items() if v}
        result = await indexer.search(
            SearchQuery(text=q, filters=chosen, viewer=viewer_for(actor), limit=limit, offset=offset)
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
