"""The code bank's tables: bots (mirrored repositories), their links to processes, code principles."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalogue.models import Adoption, Timestamps
from core.db import Base, UTCDateTime, utcnow


class Bot(Timestamps, Base):
    __tablename__ = "bots"

    slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    url: Mapped[str] = mapped_column(String(500), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    owner_municipality: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"))
    default_branch: Mapped[str | None] = mapped_column(String(200))
    head: Mapped[str | None] = mapped_column(String(40))
    indexed_commit: Mapped[str | None] = mapped_column(String(40))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # extracted metadata, manifest applied
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the last valid rpabank.yaml
    manifest_errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sync_error: Mapped[str | None] = mapped_column(Text)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class BotProcess(Base):
    __tablename__ = "bot_processes"

    bot_slug: Mapped[str] = mapped_column(ForeignKey("bots.slug", ondelete="CASCADE"), primary_key=True)
    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True, index=True
    )
    source: Mapped[str] = mapped_column(String(20), default="api")  # api | manifest


class Principle(Base):
    """A code principle: a Markdown file with front matter in the principles repository."""

    __tablename__ = "principles"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), default="")
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    path: Mapped[str] = mapped_column(String(500))
    blob_sha: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


# An adoption may name a registered bot: the code bank declares that link on the catalogue's table, so the
# catalogue's models never reach into the code bank's.
Adoption.__table__.append_constraint(  # type: ignore[attr-defined]
    ForeignKeyConstraint(["bot_slug"], ["bots.slug"], name="fk_adoptions_bot_slug_bots")
)


class WebhookDelivery(Base):
    """A webhook delivery already received (by the Git host's delivery id): a replay, or the same delivery sent
    to two instances, is recognised and ignored. Kept for `DELIVERY_DAYS`."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
