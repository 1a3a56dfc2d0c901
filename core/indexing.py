"""The index-queue contract: which kinds of entity have search documents, and how a change asks for its
documents to be rebuilt.

A domain marks what it changed with :func:`mark_for_index` inside the transaction of the change; the queue row
is durable, so a change is never lost to the search index. Each domain's `search_documents` module turns the
entities of its kinds into documents; the service's drainer knows kinds, not domains.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from search.documents import Document


class EntityKind(enum.StrEnum):
    """A kind of thing with search documents; the value is the document `type` and the queue's `entity`."""

    PROCESS = "process"
    MUNICIPALITY = "municipality"
    BOT = "bot"
    CODE = "code"
    PRINCIPLE = "principle"
    DOCUMENT = "document"


# The page of each kind that has one: a document of that kind links to `{page}/{id}`.
ENTITY_PAGES = {
    EntityKind.PROCESS: "/processes",
    EntityKind.MUNICIPALITY: "/municipalities",
    EntityKind.BOT: "/bots",
    EntityKind.PRINCIPLE: "/principles",
}


def page_document(kind: EntityKind, entity_id: str, title: str, **fields: Any) -> Document:
    """The search document of an entity with a page of its own: its type is the kind, it links to the page."""
    return Document(type=kind.value, id=entity_id, title=title, url=f"{ENTITY_PAGES[kind]}/{entity_id}", **fields)


class IndexQueue(Base):
    """Durable queue of catalogue entities whose search documents must be rebuilt.

    Written in the same transaction as the change itself, so a change is never lost to the search
    index: the app drains the queue after the commit and retries what failed.
    """

    __tablename__ = "index_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(200))
    enqueued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


def mark_for_index(session: Any, kind: EntityKind, *ids: str) -> None:
    """Queue search documents for rebuilding, in the caller's transaction (see IndexQueue).

    `session` is an (async) SQLAlchemy session; the service drains the queue after the commit when
    `session.info["index_dirty"]` is set.
    """
    rows = session.info.setdefault("index_rows", [])
    for entity_id in dict.fromkeys(ids):
        row = IndexQueue(entity=kind.value, entity_id=entity_id)
        session.add(row)
        rows.append(row)
    session.info["index_dirty"] = True


class Collator(Protocol):
    """A domain's search documents: each domain package has one (its `search_documents` module)."""

    @property
    def kinds(self) -> tuple[EntityKind, ...]:
        """The kinds of entity this collator makes documents of."""
        ...

    async def documents(self, session: Any, kind: EntityKind, ids: Sequence[str]) -> tuple[list[Document], list[str]]:
        """(documents of these entities, ids that must leave the index)."""
        ...

    def all_documents(self, session: Any) -> AsyncIterator[list[Document]]:
        """Every document of the domain, in chunks, for a rebuild."""
        ...


def gone(ids: Iterable[str], found: Iterable[str]) -> list[str]:
    """The ids that have no document any more, in their order."""
    have = set(found)
    return [i for i in ids if i not in have]
