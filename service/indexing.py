"""Keeping the search index true to the catalogue.

Every catalogue change queues its entity in `index_queue` inside the same transaction. After the commit the
request drains the queue (so a client that writes and then searches finds its change); what fails stays
queued, is retried in the background and is reported on /api/health. The database write is never lost
to an indexing failure. `rebuild` makes the whole index anew from the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalogue.actors import Actor
from catalogue.db import utcnow
from catalogue.models import Adoption, IndexQueue, Municipality, Process
from catalogue.schemas import MunicipalityRead, ProcessRead
from catalogue.services import _process_options, municipality_read, process_read
from catalogue.vocab import DOMAINS, PHASES, STATUSES
from codebank import git
from codebank.markdown import split_front_matter
from codebank.models import Bot, BotProcess, Principle
from codebank.services import CodebankConfig
from search.backends.base import SearchBackend
from search.documents import Document, SearchQuery, SearchResult, Viewer, municipality_visibility

log = logging.getLogger("rpabank.indexing")
DRAIN_BATCH = 500
# Relative weight of each kind in a search over everything: the catalogue first, then bots and principles;
# code files (many, and similar to each other) last — `type=code` searches them alone.
RANK_BOOST = {"process": 1.0, "municipality": 1.0, "bot": 0.85, "principle": 0.85, "code": 0.4}
REBUILD_CHUNK = 500


# ---------------------------------------------------------------- documents


def process_document(p: ProcessRead, names: dict[str, str]) -> Document:
    owner = names.get(p.owner_municipality, p.owner_municipality)
    adopters = [names.get(code, code) for code in p.adopted_by]
    meta = [
        *p.systems,
        *p.technologies,
        *p.tags,
        DOMAINS[p.domain],
        PHASES[p.phase],
        STATUSES[p.status],
        owner,
        *adopters,
        p.kle or "",
        p.legal_basis or "",
    ]
    if p.personal_data:
        meta.append("personoplysninger")
    if p.dpia_done:
        meta.append("DPIA konsekvensanalyse")
    boost = 1.0
    if p.status in ("rejected", "duplicate"):
        boost = 0.5
    elif p.phase == "retired" or p.status == "on_hold":
        boost = 0.8
    return Document(
        type="process",
        id=p.id,
        title=p.title,
        url=f"/processes/{p.id}",
        summary=p.summary,
        body=p.description,
        meta=" · ".join(m for m in meta if m),
        facets={
            "domain": [p.domain],
            "phase": [p.phase],
            "status": [p.status],
            "system": p.systems,
            "technology": p.technologies,
            "municipality": [p.owner_municipality, *p.adopted_by],
        },
        visibility="network" if p.visibility == "network" else municipality_visibility(p.owner_municipality),
        boost=boost,
    )


def municipality_document(m: MunicipalityRead) -> Document:
    facts = [f"Kommunekode {m.code}"]
    if m.cvr:
        facts.append(f"CVR {m.cvr}")
    if m.population:
        facts.append(f"{m.population:,} indbyggere".replace(",", "."))
    facts.append("medlem af netværket" if m.is_member else "tidligere medlem")
    return Document(
        type="municipality",
        id=m.code,
        title=m.name,
        url=f"/municipalities/{m.code}",
        summary=" · ".join(facts),
        meta=" ".join([m.name, *m.aliases, m.code, m.cvr or ""]),
        facets={"municipality": [m.code]},
    )


async def _names(session: AsyncSession) -> dict[str, str]:
    return {code: name for code, name in (await session.execute(select(Municipality.code, Municipality.name))).all()}


def bot_document(bot: Bot, processes: list[str], users: list[str], readme: str) -> Document:
    facts = bot.facts or {}
    meta = [
        *facts.get("technologies", []),
        *facts.get("systems", []),
        *facts.get("languages", {}),
        *facts.get("frameworks", []),
        *facts.get("principles", []),
        *processes,
    ]
    return Document(
        type="bot",
        id=bot.slug,
        title=bot.name,
        url=f"/bots/{bot.slug}",
        summary=bot.summary,
        body=readme,
        meta=" · ".join(meta),
        facets={
            "technology": facts.get("technologies", []),
            "system": facts.get("systems", []),
            "municipality": [m for m in [bot.owner_municipality, *users] if m],
        },
        boost=RANK_BOOST["bot"],
    )


def code_document(bot: Bot, path: str, text: str) -> Document:
    facts = bot.facts or {}
    return Document(
        type="code",
        id=f"{bot.slug}:{path}",
        title=path,
        url=f"/bots/{bot.slug}/blob?path={quote(path)}",
        summary=bot.name,
        body=text,
        meta=bot.name,
        facets={
            "technology": facts.get("technologies", []),
            "system": facts.get("systems", []),
            "municipality": [bot.owner_municipality] if bot.owner_municipality else [],
        },
        boost=RANK_BOOST["code"],
    )


def principle_document(p: Principle) -> Document:
    _, body, _ = split_front_matter(p.source)
    return Document(
        type="principle",
        id=p.id,
        title=p.title,
        url=f"/principles/{p.id}",
        summary=p.category,
        body=body,
        meta=" · ".join([p.category, *p.tags]),
        boost=RANK_BOOST["principle"],
    )


async def _bot_documents(session: AsyncSession, config: CodebankConfig | None, slugs: list[str]) -> list[Document]:
    docs: list[Document] = []
    for bot in (await session.scalars(select(Bot).where(Bot.slug.in_(slugs)))).all():
        processes = (
            await session.scalars(
                select(Process.title)
                .join(BotProcess, BotProcess.process_id == Process.id)
                .where(BotProcess.bot_slug == bot.slug)
            )
        ).all()
        users = (await session.scalars(select(Adoption.municipality_code).where(Adoption.bot_slug == bot.slug))).all()
        readme = ""
        path = (bot.facts or {}).get("readme_path")
        if config is not None and path and bot.head:
            texts = await asyncio.to_thread(_read_texts, config.mirror(bot.slug), bot.head, [path])
            readme = texts.get(path, "")
        docs.append(bot_document(bot, list(processes), list(users), readme))
    return docs


def _read_texts(mirror: Path, commit: str, paths: list[str], max_blob: int = git.MAX_BLOB) -> dict[str, str]:
    """The text of these files at a commit; binary, too large, symlinked and missing ones are left out."""
    if not mirror.exists():
        return {}
    wanted = set(paths)
    entries = {
        e.sha: e.path
        for e in git.all_files(mirror, commit)
        if e.path in wanted and e.kind == "file" and (e.size or 0) <= max_blob
    }
    out = {}
    for sha, content in git.read_blobs(mirror, list(entries)):
        if not git.is_binary(content):
            out[entries[sha]] = content.decode("utf-8", "replace")
    return out


async def _code_documents(session: AsyncSession, config: CodebankConfig | None, ids: list[str]) -> list[Document]:
    if config is None:
        return []
    by_bot: dict[str, list[str]] = {}
    for code_id in ids:
        slug, _, path = code_id.partition(":")
        by_bot.setdefault(slug, []).append(path)
    docs: list[Document] = []
    for bot in (await session.scalars(select(Bot).where(Bot.slug.in_(list(by_bot))))).all():
        if not bot.head:
            continue
        texts = await asyncio.to_thread(_read_texts, config.mirror(bot.slug), bot.head, by_bot[bot.slug])
        docs.extend(code_document(bot, path, text) for path, text in texts.items())
    return docs


async def load_documents(
    session: AsyncSession, entity: str, ids: list[str], config: CodebankConfig | None = None
) -> tuple[list[Document], list[str]]:
    """(documents of the entities that exist, ids of those that are gone)."""
    if entity == "bot":
        docs = await _bot_documents(session, config, ids)
    elif entity == "code":
        docs = await _code_documents(session, config, ids)
    elif entity == "principle":
        principles = (await session.scalars(select(Principle).where(Principle.id.in_(ids)))).all()
        docs = [principle_document(p) for p in principles if not (p.error and not p.blob_sha)]
    elif entity == "process":
        processes = (
            await session.scalars(select(Process).where(Process.id.in_(ids)).options(*_process_options()))
        ).all()
        names = await _names(session)
        docs = [process_document(process_read(p), names) for p in processes]
    elif entity == "municipality":
        municipalities = (await session.scalars(select(Municipality).where(Municipality.code.in_(ids)))).all()
        docs = [municipality_document(municipality_read(m)) for m in municipalities]
    else:
        return [], []
    found = {d.id for d in docs}
    return docs, [i for i in ids if i not in found]  # gone: deleted, or no longer indexable (binary, large)


async def all_documents(session: AsyncSession) -> AsyncIterator[Document]:
    names = await _names(session)
    for m in (await session.scalars(select(Municipality).order_by(Municipality.code))).all():
        yield municipality_document(municipality_read(m))
    last = ""
    while True:
        rows = (
            await session.scalars(
                select(Process)
                .where(Process.id > last)
                .order_by(Process.id)
                .limit(REBUILD_CHUNK)
                .options(*_process_options())
            )
        ).all()
        if not rows:
            return
        for p in rows:
            yield process_document(process_read(p), names)
        last = rows[-1].id


async def codebank_documents(session: AsyncSession, config: CodebankConfig | None) -> list[Document]:
    """Every bot, code file (at each bot's head) and principle, for a full rebuild."""
    docs = [principle_document(p) for p in (await session.scalars(select(Principle).order_by(Principle.id))).all()]
    bots = (await session.scalars(select(Bot).order_by(Bot.slug))).all()
    docs.extend(await _bot_documents(session, config, [b.slug for b in bots]))
    if config is not None:
        for bot in bots:
            if bot.head and config.mirror(bot.slug).exists():
                files = await asyncio.to_thread(git.all_files, config.mirror(bot.slug), bot.head)
                texts = await asyncio.to_thread(_read_texts, config.mirror(bot.slug), bot.head, [f.path for f in files])
                docs.extend(code_document(bot, path, text) for path, text in texts.items())
    return docs


# ---------------------------------------------------------------- the indexer


class Indexer:
    """Drains the index queue into a search backend; rebuilds; reports its state."""

    def __init__(
        self,
        backend: SearchBackend,
        sessions: async_sessionmaker[AsyncSession],
        write_sessions: async_sessionmaker[AsyncSession] | None = None,
        codebank: CodebankConfig | None = None,
    ) -> None:
        self.backend = backend
        self.codebank = codebank
        self.sessions = sessions
        self.write_sessions = write_sessions or sessions
        self._lock = asyncio.Lock()
        self.last_error: str | None = None

    async def drain(self) -> int:
        """Index what is queued. Returns how many queue entries were done; failures stay queued."""
        async with self._lock:
            done = 0
            while True:
                async with self.sessions() as session:
                    rows = (
                        await session.execute(
                            select(IndexQueue.id, IndexQueue.entity, IndexQueue.entity_id)
                            .order_by(IndexQueue.id)
                            .limit(DRAIN_BATCH)
                        )
                    ).all()
                    if not rows:
                        return done
                    wanted: dict[str, list[str]] = {}
                    for _, entity, entity_id in rows:
                        wanted.setdefault(entity, [])
                        if entity_id not in wanted[entity]:
                            wanted[entity].append(entity_id)
                    loaded = {e: await load_documents(session, e, ids, self.codebank) for e, ids in wanted.items()}
                queue_ids = [r[0] for r in rows]
                try:
                    for entity, (docs, gone) in loaded.items():
                        if docs:
                            await asyncio.to_thread(self.backend.upsert, docs)
                        if gone:
                            await asyncio.to_thread(self.backend.delete, [(entity, i) for i in gone])
                except Exception as exc:
                    self.last_error = f"{utcnow().isoformat(timespec='seconds')} {type(exc).__name__}: {exc}"
                    log.warning("search indexing failed, will retry: %s", exc)
                    async with self.write_sessions() as session:
                        await session.execute(
                            update(IndexQueue)
                            .where(IndexQueue.id.in_(queue_ids))
                            .values(attempts=IndexQueue.attempts + 1, last_error=str(exc)[:2000])
                        )
                        await session.commit()
                    return done
                async with self.write_sessions() as session:
                    await session.execute(delete(IndexQueue).where(IndexQueue.id.in_(queue_ids)))
                    await session.commit()
                self.last_error = None
                done += len(queue_ids)

    async def rebuild(self) -> int:
        """Make the whole index anew from the database and swap it in; the queue up to now is done."""
        async with self._lock:
            async with self.sessions() as session:
                high = await session.scalar(select(func.max(IndexQueue.id)))
                docs = [d async for d in all_documents(session)]
                docs += await codebank_documents(session, self.codebank)
            count = await asyncio.to_thread(self.backend.rebuild, docs)
            if high is not None:
                async with self.write_sessions() as session:
                    await session.execute(delete(IndexQueue).where(IndexQueue.id <= high))
                    await session.commit()
            self.last_error = None
            return count

    async def pending(self) -> dict[str, Any]:
        async with self.sessions() as session:
            count, failing, oldest = (
                await session.execute(
                    select(
                        func.count(IndexQueue.id), func.count(IndexQueue.last_error), func.min(IndexQueue.enqueued_at)
                    )
                )
            ).one()
        return {
            "pending": int(count),
            "failing": int(failing),
            "oldest_pending": oldest.isoformat() if oldest else None,
        }

    async def backend_health(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.backend.health)

    async def health(self) -> dict[str, Any]:
        info = await self.backend_health()
        info.update(await self.pending())
        if self.last_error:
            info["last_error"] = self.last_error
        return info

    async def search(self, query: SearchQuery) -> SearchResult:
        return await asyncio.to_thread(self.backend.search, query)

    async def run_retries(self, interval: float) -> None:
        """Background loop: retry what is queued (failed or left by another worker)."""
        while True:
            await asyncio.sleep(interval)
            try:
                if (await self.pending())["pending"]:
                    await self.drain()
            except Exception as exc:  # keep the loop alive; health shows the error
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("search retry loop: %s", exc)


def viewer_for(actor: Actor) -> Viewer:
    return Viewer(municipality=actor.municipality, is_admin=actor.is_admin)


async def start_indexing(indexer: Indexer) -> None:
    """At start-up: an empty index over a catalogue with data is built; otherwise the queue is drained.

    A search engine that does not answer does not stop the app: health shows it and retries continue.
    """
    try:
        count = await asyncio.to_thread(indexer.backend.count)
        if count == 0:
            async with indexer.sessions() as session:
                has_data = await session.scalar(select(func.count()).select_from(Municipality))
            if has_data:
                await indexer.rebuild()
                return
        await indexer.drain()
    except Exception as exc:
        indexer.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("search index not ready at start-up: %s", exc)


async def search_process_ids(
    indexer: Indexer, actor: Actor, filters: Any, text: str, limit: int, offset: int
) -> tuple[int, list[str]]:
    """(total, ids of one page) of processes matching `text` and the list filters, best first."""
    wanted = {"type": "process"}
    for name in ("domain", "phase", "status", "system", "technology", "municipality"):
        value = getattr(filters, name)
        if value:
            wanted[name] = value
    result = await indexer.search(
        SearchQuery(text=text, filters=wanted, viewer=viewer_for(actor), limit=limit, offset=offset)
    )
    return result.total, [h.id for h in result.hits]
