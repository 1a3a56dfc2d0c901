"""Code bank services: register, sync, browse and delete bots; code principles.

Git work runs in threads (it blocks); the database work in the caller's transaction (services flush, the
caller commits). Search documents are queued with the same mechanism as the catalogue's (IndexQueue).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from msgspec import UNSET
from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Adoption, Municipality, Process
from catalogue.services import visible_processes
from codebank import git
from codebank.errors import GitError
from codebank.markdown import highlight_code, render, split_front_matter
from codebank.metadata import MANIFEST, extract, parse_manifest
from codebank.models import Bot, BotProcess, Principle, WebhookDelivery
from codebank.schemas import (
    BlobRead,
    BotCreate,
    BotRead,
    BotRun,
    BotUpdate,
    PrincipleRead,
    PrincipleSummary,
    ReadmeRead,
    RefRead,
    TreeEntryRead,
    TreeRead,
)
from codebank.social import notify_new_versions
from core.actors import ANONYMOUS, Actor
from core.db import after_commit, on_rollback, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.indexing import EntityKind, mark_for_index
from core.reads import read_from
from core.slugs import slugify

DELIVERY_DAYS = 7  # how long a webhook delivery id is remembered
RESERVED_SLUGS = frozenset({"new", "jobs"})  # page addresses under /bots/


@dataclass(frozen=True)
class CodebankConfig:
    data_dir: Path
    allow_local: bool = False
    principles_url: str | None = None
    max_blob: int = git.MAX_BLOB
    clone_timeout: float = git.CLONE_TIMEOUT
    max_repo_bytes: int = git.MAX_REPO_BYTES
    max_repo_files: int = git.MAX_REPO_FILES
    connect_timeout: float = git.CONNECT_TIMEOUT

    @property
    def mirrors(self) -> Path:
        return self.data_dir / "mirrors"

    def mirror(self, slug: str) -> Path:
        return self.mirrors / f"{slug}.git"

    @property
    def principles_mirror(self) -> Path:
        return self.data_dir / "principles.git"

    def staging_dir(self) -> Path:
        """A new, unique folder name beside the mirrors, for a clone that is moved into place when complete."""
        return self.mirrors / f".staging-{uuid.uuid4().hex}"


def normalise_url(url: str) -> str:
    """One spelling per repository, to match webhook payloads to bots: host lower-cased, no .git, no slash."""
    url = url.strip()
    if url.startswith("/"):
        return url.rstrip("/").removesuffix(".git")
    if "://" not in url and "@" in url and ":" in url:  # git@host:path
        user_host, _, path = url.partition(":")
        host = user_host.split("@", 1)[1]
        return f"{host.lower()}/{path.removesuffix('.git').strip('/')}"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # not an address (a payload's URL is the sender's): it matches no bot
        return url
    return f"{host}/{parts.path.removesuffix('.git').strip('/')}"


def _without_server_paths(message: str, config: CodebankConfig) -> str:
    """An error message without the server's own folders (its working directory, the data folder)."""
    for folder, name in ((config.data_dir.resolve(), "<data>"), (Path.cwd(), "<server>")):
        message = message.replace(str(folder), name)
    return message


async def clone_repository(config: CodebankConfig, url: str) -> Path:
    """Clone `url` into a staging folder and return it (no database work: call it outside any transaction).
    The host must answer within the connect timeout, and the repository stay under the size and file-count
    limits; otherwise GitError, and nothing is left on disk."""
    staging = config.staging_dir()
    try:
        await asyncio.to_thread(git.probe, url, timeout=config.connect_timeout)
        await asyncio.to_thread(
            git.clone_mirror, url, staging, timeout=config.clone_timeout, max_bytes=config.max_repo_bytes
        )
        await asyncio.to_thread(check_file_count, config, staging)
    except (GitError, NotFound) as exc:
        await asyncio.to_thread(shutil.rmtree, staging, True)
        raise GitError(_without_server_paths(str(exc), config)) from None
    return staging


def check_file_count(config: CodebankConfig, mirror: Path) -> None:
    """GitError when the head of `mirror` has more files than `max_repo_files` (counted no further)."""
    try:
        head = git.resolve(mirror, None)
    except NotFound:
        return  # an empty repository
    if git.count_paths(mirror, head, config.max_repo_files) > config.max_repo_files:
        raise GitError(f"the repository has more than {config.max_repo_files:,} files (RPABANK_MAX_REPO_FILES)")


def text_file(entry: git.Entry, max_blob: int) -> bool:
    return entry.kind == "file" and entry.size is not None and entry.size <= max_blob


# ---------------------------------------------------------------- bots


class BotFilters(NamedTuple):
    """The bot list's filters: a process it is linked to, a technology or system it uses (as labelled, any case),
    a municipality that owns or runs it."""

    process: str | None = None
    technology: str | None = None
    system: str | None = None
    municipality: str | None = None


NO_BOT_FILTERS = BotFilters()


class BotService:
    def __init__(self, session: AsyncSession, config: CodebankConfig) -> None:
        self.session = session
        self.config = config

    async def get_model(self, slug: str) -> Bot:
        bot = await self.session.get(Bot, slug)
        if bot is None:
            raise NotFound(f"No bot called {slug!r}.", field="slug")
        return bot

    async def read(self, bot: Bot, viewer: Actor = ANONYMOUS) -> BotRead:
        """The bot as `viewer` may see it: processes and runs of drafts `viewer` cannot see are left out."""
        processes = (
            await self.session.scalars(
                select(BotProcess.process_id)
                .join(Process, Process.id == BotProcess.process_id)
                .where(BotProcess.bot_slug == bot.slug, visible_processes(viewer))
                .order_by(BotProcess.process_id)
            )
        ).all()
        runs = (
            await self.session.execute(
                select(
                    Adoption.municipality_code,
                    Municipality.name,
                    Adoption.process_id,
                    Adoption.bot_ref,
                    Adoption.status,
                )
                .join(Municipality, Municipality.code == Adoption.municipality_code)
                .join(Process, Process.id == Adoption.process_id)
                .where(Adoption.bot_slug == bot.slug, visible_processes(viewer))
                .order_by(Municipality.name)
            )
        ).all()
        facts = bot.facts or {}
        tags = list(facts.get("tags", []))  # read at the last sync: the mirror changes only then
        return read_from(
            BotRead,
            bot,
            tags=tags,
            languages=facts.get("languages", {}),
            frameworks=facts.get("frameworks", []),
            technologies=facts.get("technologies", []),
            systems=facts.get("systems", []),
            principles=facts.get("principles", []),
            licence=facts.get("licence"),
            entry_point=facts.get("entry_point"),
            readme_title=facts.get("readme_title"),
            processes=list(processes),
            runs=[BotRun(municipality=c, municipality_name=n, process=p, ref=r, status=s) for c, n, p, r, s in runs],
            manifest_errors=list(bot.manifest_errors or []),
            state="registering" if bot.synced_at is None else "ready",
        )

    async def get(self, slug: str, viewer: Actor = ANONYMOUS) -> BotRead:
        return await self.read(await self.get_model(slug), viewer)

    async def find(self, filters: BotFilters = NO_BOT_FILTERS, *, viewer: Actor = ANONYMOUS) -> list[BotRead]:
        """Bots, filtered; a process or adoption `viewer` cannot see counts as absent (the answer is the same
        whether a hidden draft exists or not)."""
        process, technology, system, municipality = filters
        stmt = select(Bot).order_by(Bot.name)
        if process:
            linked = (
                select(BotProcess.bot_slug)
                .join(Process, Process.id == BotProcess.process_id)
                .where(BotProcess.process_id == process, visible_processes(viewer))
            )
            stmt = stmt.where(Bot.slug.in_(linked))
        if municipality:
            users = (
                select(Adoption.bot_slug)
                .join(Process, Process.id == Adoption.process_id)
                .where(Adoption.municipality_code == municipality, visible_processes(viewer))
            )
            stmt = stmt.where((Bot.owner_municipality == municipality) | Bot.slug.in_(users))
        bots = []
        for bot in (await self.session.scalars(stmt)).all():
            facts = bot.facts or {}
            if technology and technology.casefold() not in {t.casefold() for t in facts.get("technologies", [])}:
                continue
            if system and system.casefold() not in {s.casefold() for s in facts.get("systems", [])}:
                continue
            bots.append(await self.read(bot, viewer))
        return bots

    async def names(self, slugs: Sequence[str]) -> dict[str, str]:
        """The names of these bots (for the code hits of a search)."""
        if not slugs:
            return {}
        rows = await self.session.execute(select(Bot.slug, Bot.name).where(Bot.slug.in_(list(slugs))))
        return {str(slug): str(name) for slug, name in rows.all()}

    async def slugs_for_urls(self, urls: set[str]) -> list[str]:
        """The registered bots whose repository is one of these (normalised) URLs."""
        rows = (await self.session.execute(select(Bot.slug, Bot.url).order_by(Bot.slug))).all()
        return [slug for slug, url in rows if normalise_url(url) in urls]

    async def first_delivery(self, delivery: str) -> bool:
        """Record a webhook delivery id; False when it was received before (a replay, or another instance)."""
        if await self.session.get(WebhookDelivery, delivery) is not None:
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(WebhookDelivery(id=delivery))
        except IntegrityError:
            return False
        cutoff = utcnow() - dt.timedelta(days=DELIVERY_DAYS)
        await self.session.execute(delete(WebhookDelivery).where(WebhookDelivery.received_at < cutoff))
        return True

    # -------------------------------------------------------- writes

    async def register(self, actor: Actor, data: BotCreate) -> BotRead:
        """Register and mirror a bot in one go (the command line and the demo). The API reserves the bot and
        leaves the git work to a background job (`reserve`, `clone`, `fill`), so no request waits for a host."""
        bot = await self.reserve(actor, data)
        try:
            staging = await clone_repository(self.config, bot.url)
        except GitError as exc:
            raise Invalid(f"The repository could not be mirrored: {exc}", field="url") from None
        return await self.fill(bot.slug, staging, actor)

    async def reserve(self, actor: Actor, data: BotCreate) -> Bot:
        """Check a registration and reserve the bot's slug and repository: a bot in the state `registering`,
        until `fill` gives it its mirror (or `abandon` removes it)."""
        actor.require_writer()
        url = git.validate_url(data.url, allow_local=self.config.allow_local)
        same = normalise_url(url)
        if any(normalise_url(u) == same for u in (await self.session.scalars(select(Bot.url))).all()):
            raise Conflict("That repository is registered already.", field="url", code="registered")
        await self._check_processes(actor, data.processes)
        base = slugify(url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git"), fallback="bot")
        slug = await self._free_slug(base + "-bot" if base in RESERVED_SLUGS else base)
        bot = Bot(
            slug=slug,
            url=url,
            name=slug,
            summary="",
            owner_municipality=actor.municipality,
            facts={},
            manifest=None,
            manifest_errors=[],
        )
        self.session.add(bot)
        await self.session.flush()
        for pid in dict.fromkeys(data.processes):
            self.session.add(BotProcess(bot_slug=slug, process_id=pid, source="api"))
        await self.session.flush()
        return bot

    async def fill(self, slug: str, staging: Path, viewer: Actor = ANONYMOUS) -> BotRead:
        """Give a reserved bot its freshly cloned mirror: read it, and move it into place when this commits."""
        on_rollback(self.session, lambda: shutil.rmtree(staging, ignore_errors=True))
        await self._lock(slug)
        bot = await self.get_model(slug)
        after_commit(self.session, lambda: git.move_into_place(staging, self.config.mirror(slug)))
        await self._refresh(bot, staging)
        return await self.read(bot, viewer)

    async def abandon(self, slug: str) -> None:
        """Remove a reserved bot whose repository could not be mirrored (nothing of it is left)."""
        bot = await self.session.get(Bot, slug)
        if bot is not None and bot.synced_at is None:
            await self.session.delete(bot)
            await self.session.flush()

    async def update(self, actor: Actor, slug: str, data: BotUpdate) -> BotRead:
        bot = await self.get_model(slug)
        self.require_owner(actor, bot)
        if data.processes is not UNSET:
            await self._check_processes(actor, data.processes)
            await self.session.execute(
                delete(BotProcess).where(BotProcess.bot_slug == slug, BotProcess.source == "api")
            )
            await self.session.flush()
            for pid in dict.fromkeys(data.processes):
                if await self.session.get(BotProcess, (slug, pid)) is None:
                    self.session.add(BotProcess(bot_slug=slug, process_id=pid, source="api"))
            bot.updated_at = utcnow()
            await self.session.flush()
            mark_for_index(self.session, EntityKind.BOT, slug)
        return await self.read(bot, actor)

    async def sync(self, actor: Actor | None, slug: str) -> BotRead:
        """Fetch the origin and re-read the bot; only files changed since the indexed commit are re-indexed."""
        if actor is not None:
            actor.require_writer()
        await self._lock(slug)
        bot = await self.get_model(slug)
        mirror = self.config.mirror(slug)
        try:
            await asyncio.to_thread(git.probe, bot.url, timeout=self.config.connect_timeout)
            if mirror.exists():
                await asyncio.to_thread(
                    git.fetch_mirror, mirror, timeout=self.config.clone_timeout, max_bytes=self.config.max_repo_bytes
                )
                await asyncio.to_thread(check_file_count, self.config, mirror)
            else:  # cloned aside and renamed into place: no instance ever sees a half-made mirror
                staging = self.config.staging_dir()
                try:
                    await asyncio.to_thread(
                        git.clone_mirror,
                        bot.url,
                        staging,
                        timeout=self.config.clone_timeout,
                        max_bytes=self.config.max_repo_bytes,
                    )
                    await asyncio.to_thread(check_file_count, self.config, staging)
                    await asyncio.to_thread(git.move_into_place, staging, mirror)
                finally:
                    await asyncio.to_thread(shutil.rmtree, staging, True)
        except GitError as exc:
            bot.sync_error = _without_server_paths(str(exc), self.config)
            bot.synced_at = utcnow()
            await self.session.flush()
            return await self.read(bot, actor or ANONYMOUS)
        await self._refresh(bot)
        return await self.read(bot, actor or ANONYMOUS)

    async def delete(self, actor: Actor, slug: str) -> None:
        actor.require_admin("delete bots")
        await self._lock(slug)
        bot = await self.get_model(slug)
        mirror = self.config.mirror(slug)
        paths: list[str] = []
        if bot.indexed_commit and mirror.exists():
            files = await asyncio.to_thread(git.all_files, mirror, bot.indexed_commit)
            paths = [f.path for f in files]
        mark_for_index(self.session, EntityKind.CODE, *(f"{slug}:{p}" for p in paths))
        mark_for_index(self.session, EntityKind.BOT, slug)
        users = (await self.session.scalars(select(Adoption).where(Adoption.bot_slug == slug))).all()
        for adoption in users:  # the adoption keeps the repository URL and ref as text
            adoption.bot_slug = None
        await self.session.flush()
        await self.session.delete(bot)
        await self.session.flush()
        after_commit(self.session, lambda: git.remove_mirror(mirror, self.config.staging_dir()))

    async def _lock(self, slug: str) -> None:
        """Hold the bot's lock for the rest of the transaction: one git operation on a mirror at a time, across
        instances (a PostgreSQL advisory lock; on SQLite the write transaction itself serialises writers)."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"rpabank:bot:{slug}"}
            )

    async def _refresh(self, bot: Bot, mirror: Path | None = None) -> None:
        """Re-read a bot from its mirror (`mirror`: a freshly cloned one that is not in place yet)."""
        mirror = mirror or self.config.mirror(bot.slug)
        facts, head, branch, changed = await asyncio.to_thread(self._read_repo, mirror, bot.indexed_commit)
        tags_before = list((bot.facts or {}).get("tags", []))
        manifest_errors: list[str] = []
        if facts.pop("has_manifest"):
            manifest, error = parse_manifest(facts.pop("manifest_text") or "")
            if error:
                manifest_errors.append(error + " — the last valid manifest is still used.")
            else:
                bot.manifest = manifest
        else:
            facts.pop("manifest_text")
            bot.manifest = None
        manifest = bot.manifest or {}
        if manifest.get("technologies"):
            facts["technologies"] = list(dict.fromkeys([*manifest["technologies"], *facts["technologies"]]))
        if manifest.get("systems"):
            facts["systems"] = list(dict.fromkeys([*manifest["systems"], *facts["systems"]]))
        facts["principles"] = list(manifest.get("principles") or [])
        facts["licence"] = manifest.get("licence")
        bot.name = manifest.get("name") or facts.get("readme_title") or bot.slug
        bot.summary = manifest.get("summary") or facts.get("readme_excerpt") or ""
        bot.facts = facts
        bot.head, bot.default_branch = head, branch
        # processes named in the manifest
        await self.session.execute(
            delete(BotProcess).where(BotProcess.bot_slug == bot.slug, BotProcess.source == "manifest")
        )
        await self.session.flush()
        for pid in dict.fromkeys(manifest.get("processes") or []):
            linked = await self.session.get(Process, pid)
            hidden = linked is not None and linked.visibility != "network"
            if linked is None or (hidden and linked.owner_municipality != bot.owner_municipality):
                manifest_errors.append(f"{MANIFEST}: no process with id {pid!r} in the catalogue.")
            elif await self.session.get(BotProcess, (bot.slug, pid)) is None:
                self.session.add(BotProcess(bot_slug=bot.slug, process_id=pid, source="manifest"))
        bot.manifest_errors = manifest_errors
        bot.sync_error = None
        bot.synced_at = bot.updated_at = utcnow()
        await self.session.flush()
        mark_for_index(self.session, EntityKind.CODE, *(f"{bot.slug}:{p}" for p in changed))
        mark_for_index(self.session, EntityKind.BOT, bot.slug)
        bot.indexed_commit = head
        await self.session.flush()
        await notify_new_versions(self.session, bot, tags_before, list(facts.get("tags", [])))

    def _read_repo(self, mirror: Path, indexed: str | None) -> tuple[dict[str, Any], str | None, str | None, list[str]]:
        branch = git.default_branch(mirror)
        try:
            head = git.resolve(mirror, None)
        except NotFound:  # an empty repository
            empty: dict[str, Any] = {
                "has_manifest": False,
                "manifest_text": None,
                "technologies": [],
                "systems": [],
                "tags": [],
            }
            return empty, None, branch, []
        files = git.all_files(mirror, head)

        def read(entries: list[git.Entry]) -> dict[str, bytes]:
            by_sha = {e.sha: e.path for e in entries}
            return {by_sha[sha]: content for sha, content in git.read_blobs(mirror, list(by_sha))}

        facts = extract(files, read)
        # versions, oldest first
        facts["tags"] = [r.name for r in sorted(git.refs(mirror), key=lambda r: r.date) if r.kind == "tag"]
        if indexed and git.commit_exists(mirror, indexed):
            changed = [path for _, path in git.changed_files(mirror, indexed, head)]
        else:
            changed = [f.path for f in files]
        return facts, head, branch, changed

    async def _check_processes(self, actor: Actor, ids: Sequence[str]) -> None:
        for pid in ids:
            found = await self.session.scalar(select(Process.id).where(Process.id == pid, visible_processes(actor)))
            if found is None:
                raise Invalid(f"processes: no process with id {pid!r}.", field="processes")

    def require_owner(self, actor: Actor, bot: Bot) -> None:
        """The owner municipality's editors and admins; a bot an admin registered (no owner): admins only."""
        actor.require_writer()
        if bot.owner_municipality is None:
            actor.require_admin(f"change bot {bot.slug!r}, which an admin registered")
        else:
            actor.require_write_for(bot.owner_municipality, f"bot {bot.slug!r}")

    async def _free_slug(self, base: str) -> str:
        taken = set((await self.session.scalars(select(Bot.slug).where(Bot.slug.like(base + "%")))).all())
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    # -------------------------------------------------------- browsing

    def _mirror_of(self, bot: Bot) -> Path:
        mirror = self.config.mirror(bot.slug)
        if not mirror.exists():
            raise NotFound(f"The mirror of {bot.slug!r} is missing; sync the bot.")
        return mirror

    async def refs(self, slug: str) -> list[RefRead]:
        mirror = self._mirror_of(await self.get_model(slug))
        return [
            RefRead(name=r.name, kind=r.kind, commit=r.commit, date=r.date)
            for r in await asyncio.to_thread(git.refs, mirror)
        ]

    async def tree(self, slug: str, ref: str | None, path: str) -> TreeRead:
        mirror = self._mirror_of(await self.get_model(slug))

        def work() -> TreeRead:
            commit = git.resolve(mirror, ref)
            entries = git.tree(mirror, commit, path)
            targets = {
                sha: content for sha, content in git.read_blobs(mirror, [e.sha for e in entries if e.kind == "symlink"])
            }
            return TreeRead(
                ref=ref or "HEAD",
                commit=commit,
                path=git.validate_path(path),
                entries=[
                    TreeEntryRead(
                        name=e.name,
                        path=e.path,
                        kind=e.kind,
                        size=e.size,
                        target=targets[e.sha].decode("utf-8", "replace") if e.sha in targets else None,
                        commit=e.sha if e.kind == "submodule" else None,
                    )
                    for e in entries
                ],
            )

        return await asyncio.to_thread(work)

    async def blob(self, slug: str, ref: str | None, path: str) -> BlobRead:
        mirror = self._mirror_of(await self.get_model(slug))
        max_blob = self.config.max_blob

        def work() -> BlobRead:
            commit = git.resolve(mirror, ref)
            entry = git.entry_at(mirror, commit, path)

            def answer(
                kind: str,
                target: str | None = None,
                language: str | None = None,
                text: str | None = None,
                html: str | None = None,
            ) -> BlobRead:
                return BlobRead(
                    ref=ref or "HEAD",
                    commit=commit,
                    path=entry.path,
                    size=entry.size,
                    kind=kind,
                    target=target,
                    language=language,
                    text=text,
                    html=html,
                )

            if entry.kind == "dir":
                raise Invalid(f"{entry.path!r} is a folder; use the tree.", field="path")
            if entry.kind == "submodule":
                return answer("submodule", target=entry.sha)
            if entry.kind == "symlink":
                return answer("symlink", target=git.read_blob(mirror, entry.sha).decode("utf-8", "replace"))
            if entry.size is not None and entry.size > max_blob:
                return answer("too_large")
            content = git.read_blob(mirror, entry.sha)
            if git.is_binary(content):
                return answer("binary")
            text = content.decode("utf-8", "replace")
            language, html = highlight_code(text, entry.name)
            return answer("text", language=language, text=text, html=html)

        return await asyncio.to_thread(work)

    async def readme(self, slug: str, ref: str | None) -> ReadmeRead:
        mirror = self._mirror_of(await self.get_model(slug))

        def work() -> ReadmeRead:
            commit = git.resolve(mirror, ref)
            entries = [
                e for e in git.tree(mirror, commit, "") if e.kind == "file" and e.name.lower().split(".")[0] == "readme"
            ]
            if not entries:
                return ReadmeRead(ref=ref or "HEAD", commit=commit, path=None, html="")
            entry = sorted(entries, key=lambda e: (not e.name.lower().endswith(".md"), e.name))[0]
            if (entry.size or 0) > self.config.max_blob:
                return ReadmeRead(ref=ref or "HEAD", commit=commit, path=entry.path, html="")
            text = git.read_blob(mirror, entry.sha).decode("utf-8", "replace")
            return ReadmeRead(ref=ref or "HEAD", commit=commit, path=entry.path, html=render(text, entry.sha))

        return await asyncio.to_thread(work)

    async def resolve_adoption_bot(self, repo: str, ref: str | None) -> str | None:
        """The slug of the registered bot an adoption names (by slug or URL), with its ref checked; None for an
        unregistered repository (kept as free text)."""
        bot = await self.session.get(Bot, repo)
        if bot is None:
            bot = await self.session.scalar(select(Bot).where(Bot.url == repo.strip()))
        if bot is None:
            return None
        if ref:
            mirror = self._mirror_of(bot)
            try:
                await asyncio.to_thread(git.resolve, mirror, ref)
            except (NotFound, Invalid):
                raise Invalid(f"bot.ref: {bot.slug!r} has no branch, tag or commit {ref!r}.", field="bot.ref") from None
        return bot.slug


# ---------------------------------------------------------------- principles


class PrincipleService:
    def __init__(self, session: AsyncSession, config: CodebankConfig) -> None:
        self.session = session
        self.config = config

    async def _followers(self) -> dict[str, list[str]]:
        followers: dict[str, list[str]] = {}
        for slug, facts in (await self.session.execute(select(Bot.slug, Bot.facts).order_by(Bot.slug))).all():
            for pid in (facts or {}).get("principles", []):
                followers.setdefault(pid, []).append(slug)
        return followers

    async def all(self) -> list[PrincipleSummary]:
        followers = await self._followers()
        rows = (await self.session.scalars(select(Principle).order_by(Principle.category, Principle.title))).all()
        return [
            PrincipleSummary(
                id=p.id,
                title=p.title,
                category=p.category,
                tags=list(p.tags or []),
                bots=followers.get(p.id, []),
                error=p.error,
            )
            for p in rows
        ]

    async def get(self, principle_id: str) -> PrincipleRead:
        p = await self.session.get(Principle, principle_id)
        if p is None:
            raise NotFound(f"No code principle {principle_id!r}.")
        _, body, _ = split_front_matter(p.source)
        return PrincipleRead(
            id=p.id,
            title=p.title,
            category=p.category,
            tags=list(p.tags or []),
            path=p.path,
            html=render(body, p.blob_sha),
            source=p.source,
            bots=(await self._followers()).get(p.id, []),
            error=p.error,
            updated_at=p.updated_at,
        )

    async def sync(self) -> list[str]:
        """Mirror the principles repository and load its Markdown files. A file with broken front matter keeps
        its last valid version and shows the error."""
        url = self.config.principles_url
        if not url:
            raise Invalid("No principles repository is configured (RPABANK_PRINCIPLES_URL).")
        url = git.validate_url(url, allow_local=self.config.allow_local)
        mirror = self.config.principles_mirror
        if mirror.exists():
            await asyncio.to_thread(git.fetch_mirror, mirror)
        else:
            await asyncio.to_thread(git.clone_mirror, url, mirror)

        def read() -> list[tuple[git.Entry, str]]:
            head = git.resolve(mirror, None)
            files = [
                f
                for f in git.all_files(mirror, head)
                if f.kind == "file"
                and f.path.lower().endswith(".md")
                and text_file(f, self.config.max_blob)
                and f.path.rsplit("/", 1)[-1].lower() != "readme.md"
            ]
            contents = dict(git.read_blobs(mirror, [f.sha for f in files]))
            return [(f, contents[f.sha].decode("utf-8", "replace")) for f in files if f.sha in contents]

        found = await asyncio.to_thread(read)
        seen: list[str] = []
        for entry, source in found:
            meta, body, error = split_front_matter(source)
            fallback_id = slugify(entry.path.rsplit("/", 1)[-1].removesuffix(".md"))
            pid = str(meta.get("id") or fallback_id)[:100] if not error else fallback_id
            existing = await self.session.get(Principle, pid)
            if error:
                if existing is not None:
                    existing.error = f"{entry.path}: {error}"
                    seen.append(pid)
                    continue
                meta = {}
            title = str(meta.get("title") or _first_heading(body) or pid)[:200]
            tags = [str(t) for t in (meta.get("tags") or [])] if isinstance(meta.get("tags"), list) else []
            values = {
                "title": title,
                "category": str(meta.get("category") or "")[:100],
                "tags": tags,
                "path": entry.path,
                "blob_sha": entry.sha,
                "source": source,
                "error": f"{entry.path}: {error}" if error else None,
                "updated_at": utcnow(),
            }
            if existing is None:
                self.session.add(Principle(id=pid, **values))
            elif existing.blob_sha != entry.sha or existing.error:
                for key, value in values.items():
                    setattr(existing, key, value)
            seen.append(pid)
        gone = (await self.session.scalars(select(Principle.id).where(Principle.id.not_in(seen)))).all()
        if gone:
            await self.session.execute(delete(Principle).where(Principle.id.in_(gone)))
        await self.session.flush()
        mark_for_index(self.session, EntityKind.PRINCIPLE, *seen, *gone)
        return seen


def _first_heading(body: str) -> str | None:
    for line in body.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return None
