"""msgspec schemas of the code bank API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from catalogue.schemas import ProcessId

IN = {"forbid_unknown_fields": True, "kw_only": True}


class BotCreate(Struct, **IN):
    url: Annotated[str, Meta(min_length=1, max_length=500)]
    processes: Annotated[list[ProcessId], Meta(max_length=50)] = msgspec.field(default_factory=list)


class BotUpdate(Struct, **IN):
    processes: Annotated[list[ProcessId], Meta(max_length=50)] | UnsetType = UNSET


class BotRun(Struct, kw_only=True):
    municipality: str
    municipality_name: str
    process: str
    ref: str | None
    status: str


class BotRead(Struct, kw_only=True):
    slug: str
    url: str
    name: str
    summary: str
    owner_municipality: str | None
    default_branch: str | None
    head: str | None
    tags: list[str]
    languages: dict[str, int]
    frameworks: list[str]
    technologies: list[str]
    systems: list[str]
    principles: list[str]
    licence: str | None
    entry_point: str | None
    readme_title: str | None
    processes: list[str]
    runs: list[BotRun]
    manifest_errors: list[str]
    sync_error: str | None
    synced_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # registering: reserved, the repository is being mirrored by a background job; ready: mirrored
    state: str = "ready"


class RefRead(Struct, kw_only=True):
    name: str
    kind: str
    commit: str
    date: str


class TreeEntryRead(Struct, kw_only=True, omit_defaults=True):
    name: str
    path: str
    kind: str  # file | dir | symlink | submodule
    size: int | None = None
    target: str | None = None  # a symlink's target text (never followed)
    commit: str | None = None  # a submodule's commit (never fetched)


class TreeRead(Struct, kw_only=True):
    ref: str
    commit: str
    path: str
    entries: list[TreeEntryRead]


class BlobRead(Struct, kw_only=True):
    ref: str
    commit: str
    path: str
    kind: str  # text | binary | too_large | symlink | submodule
    size: int | None
    language: str | None = None
    text: str | None = None
    html: str | None = None
    target: str | None = None


class ReadmeRead(Struct, kw_only=True):
    ref: str
    commit: str
    path: str | None
    html: str


class PrincipleRead(Struct, kw_only=True):
    id: str
    title: str
    category: str
    tags: list[str]
    path: str
    html: str
    source: str
    bots: list[str]
    error: str | None
    updated_at: dt.datetime


class PrincipleSummary(Struct, kw_only=True):
    id: str
    title: str
    category: str
    tags: list[str]
    bots: list[str]
    error: str | None


class HookAccepted(Struct, kw_only=True):
    """A push event taken in: the bots whose sync was queued; `repeated` when this delivery was seen before."""

    queued: list[str]
    repeated: bool


class SyncResult(Struct, kw_only=True):
    synced: list[str]
    errors: dict[str, str]


class JobRead(Struct, kw_only=True):
    """A background job of the code bank (registering or syncing a bot), for the client to follow."""

    id: int
    kind: str  # register_bot | sync_bot
    bot: str
    status: str  # queued | running | done | failed
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    url: str  # where to follow it: GET /api/jobs/{id}


class BotJob(Struct, kw_only=True):
    """The answer to a registration or sync: 202 with the bot as it is now and the job that does the git work."""

    bot: BotRead
    job: JobRead
