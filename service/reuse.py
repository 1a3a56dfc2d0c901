"""Likely duplicates: candidates from the search, scored by catalogue.reuse."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.reuse import SimilarProcess, rank_similar
from catalogue.services import ProcessService
from core.actors import Actor
from search.documents import SearchQuery, Viewer
from service.indexing import Indexer, viewer_for

log = logging.getLogger("rpabank.reuse")
CANDIDATES = 30


def similar_query(title: str, summary: str, actor: Actor | None = None) -> SearchQuery:
    """The search for the candidate duplicates of a process described by `title` and `summary`: the title's words
    and the summary's rarest (a process without a title: the summary's words)."""
    text, context = (title, summary) if title.strip() else (summary, "")
    viewer = viewer_for(actor) if actor is not None else Viewer()
    return SearchQuery(
        text=text.strip()[:2000],
        context=context.strip()[:2000],
        filters={"type": "process"},
        viewer=viewer,
        limit=CANDIDATES,
    )


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
    if not f"{title} {summary}".strip():
        return []
    try:
        result = await indexer.search(similar_query(title, summary, actor))
    except Exception as exc:
        log.warning("no duplicate candidates, the search failed: %s", exc)
        return []
    candidates = await ProcessService(db).get_many(actor, [h.id for h in result.hits])
    return rank_similar(title, summary, candidates, exclude=exclude, limit=limit)
