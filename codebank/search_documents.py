"""The code bank's collator: bots, their code files and the code principles as search documents."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Adoption, Process
from codebank import git
from codebank.markdown import split_front_matter
from codebank.models import Bot, BotProcess, Principle
from codebank.services import CodebankConfig
from core.indexing import EntityKind, gone, page_document
from search.documents import Document

# Relative weight of each kind in a search over everything: the catalogue first (1.0), then bots and
# principles; code files (many, and similar to each other) last — `type=code` searches them alone.
BOT_BOOST = 0.85
PRINCIPLE_BOOST = 0.85
CODE_BOOST = 0.4
CODE_CHUNK = 500

# Files that are in a repository but not its own code are not searched (they are still shown among the bot's files):
# others' code kept beside it, files that tools write, and minified bundles. As GitHub's code search leaves out
# vendored and generated files (Linguist), so that a search finds the bot's own code, not a copy of a library, and
# the index does not grow by what nobody searches for.
NOT_OWN_FOLDERS = frozenset(
    {
        "node_modules",
        "bower_components",
        "vendor",
        "vendors",
        "third_party",
        "third-party",
        "site-packages",
        ".venv",
        "venv",
        "__pycache__",
        # UiPath Studio's own folders beside a project: caches, object repository metadata, settings
        ".local",
        ".objects",
        ".settings",
        ".tmh",
        ".screenshots",
    }
)
GENERATED_NAMES = frozenset(
    {
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "pipfile.lock",
        "uv.lock",
        "composer.lock",
        "gemfile.lock",
        "cargo.lock",
        "packages.lock.json",
        "go.sum",
    }
)
GENERATED_SUFFIXES = (".min.js", ".min.css", ".min.mjs", ".js.map", ".css.map", ".designer.cs", ".designer.vb")
MINIFIED_LINE = 300  # characters a line holds on average in a minified (or bundled) text of more than …
MINIFIED_SIZE = 2_000  # … this many characters


def is_own_code(path: str) -> bool:
    """Whether a file's path makes it the repository's own code, to be searched (see NOT_OWN_FOLDERS)."""
    *folders, name = path.split("/")
    name = name.casefold()
    return not (NOT_OWN_FOLDERS.intersection(folders) or name in GENERATED_NAMES or name.endswith(GENERATED_SUFFIXES))


def is_minified(text: str) -> bool:
    """A text of few, very long lines: a bundle or a minified file (a person does not write or search it)."""
    return len(text) > MINIFIED_SIZE and len(text) > MINIFIED_LINE * (text.count("\n") + 1)


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
    return page_document(
        EntityKind.BOT,
        bot.slug,
        bot.name,
        summary=bot.summary,
        body=readme,
        meta=" · ".join(meta),
        facets=_bot_facets(bot, [bot.owner_municipality, *users]),
        boost=BOT_BOOST,
    )


def _bot_facets(bot: Bot, municipalities: list[str | None]) -> dict[str, list[str]]:
    """A bot's and its code's facets: the technologies and systems it uses, the municipalities named."""
    facts = bot.facts or {}
    return {
        "technology": facts.get("technologies", []),
        "system": facts.get("systems", []),
        "municipality": [m for m in municipalities if m],
    }


def code_document(bot: Bot, path: str, text: str) -> Document:
    return Document(
        type=EntityKind.CODE.value,
        id=f"{bot.slug}:{path}",
        title=path,
        url=f"/bots/{bot.slug}/blob?path={quote(path)}",
        summary=bot.name,
        body=text,
        meta=bot.name,
        facets=_bot_facets(bot, [bot.owner_municipality]),
        boost=CODE_BOOST,
    )


def principle_document(p: Principle) -> Document:
    return page_document(
        EntityKind.PRINCIPLE,
        p.id,
        p.title,
        summary=p.category,
        body=split_front_matter(p.source)[1],
        meta=" · ".join([p.category, *p.tags]),
        boost=PRINCIPLE_BOOST,
    )


def read_texts(
    mirror: Path,
    commit: str,
    paths: Sequence[str] | None,
    max_blob: int = git.MAX_BLOB,
    keep: Callable[[str], bool] | None = None,
) -> dict[str, str]:
    """The text of these files (all files when `paths` is None; of those, the ones whose path `keep` keeps) at a
    commit; binary, too large, symlinked and missing ones are left out."""
    if not mirror.exists():
        return {}
    wanted = None if paths is None else set(paths)
    entries: dict[str, list[str]] = {}
    for e in git.all_files(mirror, commit):
        if (
            (wanted is None or e.path in wanted)
            and (keep is None or keep(e.path))
            and e.kind == "file"
            and (e.size or 0) <= max_blob
        ):
            entries.setdefault(e.sha, []).append(e.path)  # identical files: every path is searchable
    out = {}
    for sha, content in git.read_blobs(mirror, list(entries)):
        if not git.is_binary(content):
            text = content.decode("utf-8", "replace")
            for path in entries[sha]:
                out[path] = text
    return out


class CodebankCollator:
    """Documents of the code bank's kinds. Without a mirror on this host, a bot's code is left as it is."""

    kinds: tuple[EntityKind, ...] = (EntityKind.BOT, EntityKind.CODE, EntityKind.PRINCIPLE)

    def __init__(self, config: CodebankConfig | None) -> None:
        self.config = config

    async def documents(
        self, session: AsyncSession, kind: EntityKind, ids: Sequence[str]
    ) -> tuple[list[Document], list[str]]:
        """(documents of these entities, ids to delete from the index).

        A code file whose bot has no mirror on this host is neither: another instance with the mirror indexes it.
        """
        if kind is EntityKind.BOT:
            bots = (await session.scalars(select(Bot).where(Bot.slug.in_(ids)))).all()
            return [await self._bot_document(session, bot) for bot in bots], gone(ids, {b.slug for b in bots})
        if kind is EntityKind.PRINCIPLE:
            principles = (await session.scalars(select(Principle).where(Principle.id.in_(ids)))).all()
            docs = [principle_document(p) for p in principles if not (p.error and not p.blob_sha)]
            return docs, gone(ids, {d.id for d in docs})
        by_bot: dict[str, list[str]] = {}
        for code_id in ids:
            slug, _, path = code_id.partition(":")
            by_bot.setdefault(slug, []).append(path)
        docs = []
        known: set[str] = set()
        for bot in (await session.scalars(select(Bot).where(Bot.slug.in_(list(by_bot))))).all():
            if bot.head and not self._has_mirror(bot):
                known.update(f"{bot.slug}:{p}" for p in by_bot[bot.slug])  # not ours to judge
                continue
            docs.extend(await self._code_documents(bot, by_bot[bot.slug]))
        return docs, gone(ids, known | {d.id for d in docs})

    async def all_documents(self, session: AsyncSession) -> AsyncIterator[list[Document]]:
        """Every principle, bot and code file (at each bot's head), in chunks."""
        yield [principle_document(p) for p in (await session.scalars(select(Principle).order_by(Principle.id))).all()]
        bots = (await session.scalars(select(Bot).order_by(Bot.slug))).all()
        for bot in bots:
            yield [await self._bot_document(session, bot)]
            code = await self._code_documents(bot, None)
            for start in range(0, len(code), CODE_CHUNK):
                yield code[start : start + CODE_CHUNK]

    async def _bot_document(self, session: AsyncSession, bot: Bot) -> Document:
        processes = (
            await session.scalars(
                select(Process.title)
                .join(BotProcess, BotProcess.process_id == Process.id)
                .where(BotProcess.bot_slug == bot.slug, Process.visibility == "network")  # the index is shared
            )
        ).all()
        users = (
            await session.scalars(
                select(Adoption.municipality_code)
                .join(Process, Process.id == Adoption.process_id)
                .where(Adoption.bot_slug == bot.slug, Process.visibility == "network")
            )
        ).all()
        readme = ""
        path = (bot.facts or {}).get("readme_path")
        if path:
            readme = (await self._texts(bot, [path])).get(path, "")
        return bot_document(bot, list(processes), list(users), readme)

    async def _code_documents(self, bot: Bot, paths: list[str] | None) -> list[Document]:
        """The documents of these code files (all when None) that are the bot's own code (`is_own_code`, not
        `is_minified`); the others are not read."""
        texts = await self._texts(bot, paths, keep=is_own_code)
        return [code_document(bot, path, text) for path, text in texts.items() if not is_minified(text)]

    def _has_mirror(self, bot: Bot) -> bool:
        return self.config is not None and self.config.mirror(bot.slug).exists()

    async def _texts(
        self, bot: Bot, paths: list[str] | None, keep: Callable[[str], bool] | None = None
    ) -> dict[str, str]:
        if self.config is None or not bot.head:
            return {}
        mirror = self.config.mirror(bot.slug)
        return await asyncio.to_thread(read_texts, mirror, bot.head, paths, self.config.max_blob, keep)
