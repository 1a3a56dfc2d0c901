"""Reuse: copying another municipality's process, and spotting a process that is already described.

Copies keep their lineage (`derived_from` on the copy, `derived` on the original). Likely duplicates are
found by the search (candidates) and scored here by how many Danish word stems the texts share.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import msgspec
from msgspec import Struct
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.schemas import (
    AdoptionWrite,
    MunicipalityCode,
    ProcessCreate,
    ProcessRead,
    Summary,
    Title,
)
from catalogue.services import AdoptionService, ProcessService, process_read, process_snapshot
from catalogue.vocab import Phase, Visibility
from core.actors import Actor
from core.errors import Invalid
from search.analysis import split_compound, stem, stopwords, words

# A candidate scoring at least this is reported as a likely duplicate.
SIMILAR_THRESHOLD = 0.3
TITLE_WEIGHT = 0.6


class ProcessCopy(Struct, forbid_unknown_fields=True, kw_only=True):
    """Optional changes for the copy; by default it is the original, owned by the caller's municipality."""

    title: Title | None = None
    summary: Summary | None = None
    phase: Phase | None = None
    visibility: Visibility = "network"
    owner_municipality: MunicipalityCode | None = None  # an admin must name it


class SimilarProcess(Struct, kw_only=True):
    id: str
    title: str
    summary: str
    owner_municipality: str
    score: float  # 0–1: the share of word stems title and summary have in common


class SimilarProcesses(Struct, kw_only=True):
    title: str
    summary: str
    items: list[SimilarProcess]


class ProcessCreated(ProcessRead, kw_only=True):
    """The answer to creating a process: the process, and the ones it may duplicate."""

    possible_duplicates: list[SimilarProcess]


# ---------------------------------------------------------------- similarity (pure)


@lru_cache(maxsize=1)
def _stop() -> frozenset[str]:
    return frozenset(stem(w) for w in stopwords()) | stopwords()


def stems(text: str) -> frozenset[str]:
    """The word stems of a text, compounds also by their parts (`tolkeregninger` → tolkeregning, tolk, regning)."""
    out: set[str] = set()
    for word in words(text):
        if word in stopwords():
            continue
        out.add(stem(word))
        parts = split_compound(word)
        if parts and all(len(part) >= 4 for part in parts):
            out.update(stem(part) for part in parts)
    return frozenset(out - _stop())


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def similarity(title: str, summary: str, other_title: str, other_summary: str) -> float:
    """0–1: how alike two process descriptions are, titles weighing most."""
    by_title = dice(stems(title), stems(other_title))
    by_text = dice(stems(f"{title} {summary}"), stems(f"{other_title} {other_summary}"))
    if not summary.strip():
        by_text = by_title
    return round(TITLE_WEIGHT * by_title + (1 - TITLE_WEIGHT) * by_text, 4)


def rank_similar(
    title: str,
    summary: str,
    candidates: Iterable[ProcessRead],
    *,
    exclude: Iterable[str] = (),
    threshold: float = SIMILAR_THRESHOLD,
    limit: int = 10,
) -> list[SimilarProcess]:
    """The candidates that are likely duplicates, most alike first."""
    skip = set(exclude)
    found = []
    for p in candidates:
        if p.id in skip:
            continue
        score = similarity(title, summary, p.title, p.summary)
        if score >= threshold:
            found.append(
                SimilarProcess(
                    id=p.id, title=p.title, summary=p.summary, owner_municipality=p.owner_municipality, score=score
                )
            )
    found.sort(key=lambda s: (-s.score, s.title, s.id))
    return found[:limit]


# ---------------------------------------------------------------- copying


class ReuseService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def copy(self, actor: Actor, process_id: str, data: ProcessCopy | None = None) -> ProcessRead:
        """A new process for the caller's municipality, derived from this one, with an `interested` adoption."""
        data = data or ProcessCopy()
        actor.require_writer()
        processes = ProcessService(self.session)
        source = await processes.get_model(actor, process_id)
        if actor.is_admin:
            if not data.owner_municipality:
                raise Invalid("An admin must give owner_municipality for the copy.", field="owner_municipality")
            owner = data.owner_municipality
        else:
            owner = data.owner_municipality or actor.municipality or ""
            actor.require_write_for(owner, "the copy")
        values = process_snapshot(source)
        values.update(
            title=data.title or source.title,
            summary=data.summary or source.summary,
            phase=data.phase or source.phase,
            status="active",
            duplicate_of=None,
            contact=None,
            owner_municipality=owner,
            derived_from=source.id,
            visibility=data.visibility,
        )
        created = await processes.create(actor, msgspec.convert(values, ProcessCreate))
        await AdoptionService(self.session).put(actor, created.id, owner, AdoptionWrite(status="interested"))
        copy = await processes.get_model(actor, created.id)
        await self.session.refresh(copy, ["adoptions"])
        return process_read(copy)
