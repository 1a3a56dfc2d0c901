"""Likely duplicates: candidates from the search, scored by catalogue.reuse."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.reuse import SimilarProcess, rank_similar
from catalogue.services import ProcessService
from core.actors import Actor
from search.documents import SearchQuery
from service.indexing import Indexer, viewer_for

log = logging.getLogger("rpabank.reuse")
CANDIDATES = 30


async def similar_processes(
    indexer: Indexer,
    db: AsyncSession,
    actor: Actor,
    title: str,
    summary: str = "",
    *,
    exclude: Iterable[str] = (),
    limit: int = 10,
) -> list[SimilarProcess]:
    """The processes `actor` can see that likely describe the same as `title` and `summary`.

    A search engine that does not answer gives no candidates rather than an error: this is advice.
    """
    text = f"{title} {summary}".strip()
    if not text:
        return []
    try:
        result = await indexer.search(
            SearchQuery(text=text[:2000], filters={"type": "process"}, viewer=viewer_for(actor), limit=CANDIDATES)
        )
    except Exception as exc:
        log.warning("no duplicate candidates, the search failed: %s", exc)
        return []
    candidates = await ProcessService(db).get_many(actor, [h.id for h in result.hits])
    return rank_similar(title, summary, candidates, exclude=exclude, limit=limit)
