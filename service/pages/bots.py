"""The code bank's pages: bots (README, facts, versions, who runs which, a file browser with highlighted code)
and the network's code principles. Everything comes from the same services as /api/bots and /api/principles.

Only two fields are trusted as HTML: the README/principle HTML (sanitised by codebank.markdown) and a file's
Pygments lines (escaped by Pygments). Everything else is autoescaped by the templates.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, get
from litestar.params import FromPath, FromQuery, PathParameter, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codebank.models import Bot
from codebank.schemas import BlobRead, BotRead, RefRead, TreeRead
from codebank.services import BotService
from core.actors import Actor
from core.errors import Invalid, NotFound
from service.deps import ActorDep, BotServiceDep, DbDep, MunicipalityServiceDep, PrincipleServiceDep, ProcessServiceDep
from service.pages.common import page, page_context
from service.pages.social import SOCIAL_DEPENDENCY, SocialDep

SlugParam = Annotated[str, PathParameter(max_length=200)]
RefQuery = Annotated[str | None, QueryParameter(required=False, max_length=200)]
PathQuery = Annotated[str | None, QueryParameter(required=False, max_length=4096)]
Slug = FromPath[SlugParam]
Ref = FromQuery[RefQuery]
RepoPath = FromQuery[PathQuery]
NO_CATEGORY = "Øvrige"
LEADING_H1 = re.compile(r"\A\s*<h1[^>]*>.*?</h1>\s*", re.S)  # the page's own heading shows the title


def bot_url(slug: str, view: str, ref: str | None = None, path: str | None = None) -> str:
    """/bots/{slug}/{tree|blob}?ref=&path= with only the parts that are set."""
    query = {k: v for k, v in (("ref", ref), ("path", path)) if v}
    return f"/bots/{slug}/{view}" + (f"?{urlencode(query)}" if query else "")


def breadcrumbs(path: str) -> list[tuple[str, str]]:
    """ "src/robot/politi.py" → [("src", "src"), ("robot", "src/robot"), ("politi.py", "src/robot/politi.py")]."""
    parts = [p for p in path.split("/") if p]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


def natural(name: str) -> list[Any]:
    """ "v1.10.0" sorts after "v1.9.0"."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def short(commit: str | None) -> str:
    return (commit or "")[:10]


def fmt_size(size: int | None) -> str:
    """1234 → "1,2 kB" (Danish decimal comma)."""
    if size is None:
        return "–"
    if size < 1000:
        return f"{size} B"
    value, unit = size / 1000, "kB"
    for bigger in ("MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{value:.1f} {unit}".replace(".", ",")


HELPERS: dict[str, Any] = {"bot_url": bot_url, "short": short, "fmt_size": fmt_size}


def ref_problem(actor: Actor, bot: BotRead, exc: NotFound | Invalid, ref: str | None, path: str) -> Template:
    """A bad or unknown version or path inside a known bot: a page that says which, with a way back."""
    status = 404 if isinstance(exc, NotFound) else 422
    if exc.field == "ref":
        title = "Versionen findes ikke" if status == 404 else "Det er ikke et gyldigt versionsnavn"
        message = (
            f"Robotten har ingen gren, tag eller commit, der hedder »{ref}«."
            if status == 404
            else f"»{ref}« kan ikke bruges som navn på en gren, et tag eller en commit."
        )
    elif exc.field == "path":
        title = "Filen eller mappen findes ikke" if status == 404 else "Stien kan ikke bruges"
        message = (
            f"Der er intet på stien »{path}« i denne version."
            if status == 404
            else "Stien skal være relativ til repositoriets rod og må ikke indeholde »..«."
        )
    else:
        title, message = "Koden kan ikke vises", "Robottens kode er ikke hentet endnu. Prøv igen senere."
    return Template(
        template_name="bot_problem.html",
        status_code=status,
        context=page_context(
            actor,
            nav="bots",
            bot=bot,
            status=status,
            title=title,
            message=message,
            tree_url=bot_url(bot.slug, "tree"),
            **HELPERS,
        ),
    )


async def bot_names(db: AsyncSession) -> dict[str, str]:
    return {slug: name for slug, name in (await db.execute(select(Bot.slug, Bot.name))).all()}


async def ref_choices(service: BotService, slug: str) -> list[RefRead]:
    """Branches first, then tags newest first."""
    refs = await service.refs(slug)
    branches = [r for r in refs if r.kind == "branch"]
    tags = sorted((r for r in refs if r.kind == "tag"), key=lambda r: (r.date, natural(r.name)), reverse=True)
    return branches + tags


class BotPages(Controller):
    dependencies = SOCIAL_DEPENDENCY

    @get("/bots", name="bots")
    async def bots(
        self,
        process_service: ProcessServiceDep,
        municipality_service: MunicipalityServiceDep,
        bot_service: BotServiceDep,
        actor: ActorDep,
    ) -> Template:
        bots = await bot_service.find(viewer=actor)
        names = {m.code: m.name for m in await municipality_service.all()}
        ids = sorted({p for b in bots for p in b.processes})
        processes = {p.id: p for p in await process_service.get_many(actor, ids)}
        return page("bots.html", actor, nav="bots", bots=bots, names=names, processes=processes)

    @get("/bots/{slug:str}", name="bot")
    async def bot(
        self,
        process_service: ProcessServiceDep,
        municipality_service: MunicipalityServiceDep,
        bot_service: BotServiceDep,
        principle_service: PrincipleServiceDep,
        social: SocialDep,
        actor: ActorDep,
        slug: FromPath[SlugParam],
    ) -> Template:
        service = bot_service
        bot = await service.get(slug)
        refs: list[RefRead] = []
        readme = None
        entries = []
        browsable = True
        try:
            refs = await ref_choices(service, slug)
            readme = await service.readme(slug, None)
            entries = (await service.tree(slug, None, "")).entries
        except NotFound:  # no mirror (never synced) or an empty repository: the facts still show
            browsable = False
        names = {m.code: m.name for m in await municipality_service.all()}
        ids = sorted(set(bot.processes) | {r.process for r in bot.runs})
        processes = {p.id: p for p in await process_service.get_many(actor, ids)}
        principles = {p.id: p for p in await principle_service.all()}
        runs_by_ref: dict[str, list[str]] = defaultdict(list)
        for run in bot.runs:
            if run.ref and run.status != "stopped" and run.municipality_name not in runs_by_ref[run.ref]:
                runs_by_ref[run.ref].append(run.municipality_name)
        versions = [r for r in refs if r.kind == "tag"]
        running = sorted({r.municipality_name for r in bot.runs if r.status == "operation"})
        return page(
            "bot.html",
            actor,
            nav="bots",
            bot=bot,
            readme=readme,
            versions=versions,
            running=running,
            runs_by_ref=runs_by_ref,
            entries=entries,
            browsable=browsable,
            names=names,
            processes=processes,
            principles=principles,
            **HELPERS,
            **await social.context(actor, "bot", slug),
            latest_tag=bot.tags[-1] if bot.tags else None,
            can_sync=actor.can_write
            and (actor.is_admin if bot.owner_municipality is None else actor.can_write_for(bot.owner_municipality)),
            languages=sorted(bot.languages.items(), key=lambda kv: (-kv[1], kv[0])),
        )

    @get("/bots/{slug:str}/tree", name="bot_tree")
    async def tree(
        self, bot_service: BotServiceDep, actor: ActorDep, slug: Slug, ref: Ref = None, path: RepoPath = None
    ) -> Template | Redirect:
        bot, ref, path = await bot_service.get(slug, actor), ref or None, (path or "").strip("/")
        try:
            tree = await bot_service.tree(slug, ref, path)
        except NotFound as exc:
            if exc.field == "path" and path:  # a file: show it instead
                return await _shown_as(bot_service, "blob", slug, ref, path) or ref_problem(actor, bot, exc, ref, path)
            return ref_problem(actor, bot, exc, ref, path)
        except Invalid as exc:
            return ref_problem(actor, bot, exc, ref, path)
        entries = sorted(tree.entries, key=lambda e: (e.kind != "dir", e.name.casefold()))
        return await _browser(bot_service, actor, bot, ref, tree, tree=tree, entries=entries)

    @get("/bots/{slug:str}/blob", name="bot_blob")
    async def blob(
        self, bot_service: BotServiceDep, actor: ActorDep, slug: Slug, ref: Ref = None, path: RepoPath = None
    ) -> Template | Redirect:
        bot, ref, path = await bot_service.get(slug, actor), ref or None, (path or "").strip("/")
        if not path:
            return Redirect(path=bot_url(slug, "tree", ref), status_code=302)
        try:
            blob = await bot_service.blob(slug, ref, path)
        except Invalid as exc:
            if exc.field == "path":  # a folder: list it instead
                return await _shown_as(bot_service, "tree", slug, ref, path) or ref_problem(actor, bot, exc, ref, path)
            return ref_problem(actor, bot, exc, ref, path)
        except NotFound as exc:
            return ref_problem(actor, bot, exc, ref, path)
        lines = blob.html.splitlines() if blob.kind == "text" and blob.html is not None else []
        return await _browser(bot_service, actor, bot, ref, blob, blob=blob, lines=lines)


async def _shown_as(service: BotService, view: str, slug: str, ref: str | None, path: str) -> Redirect | None:
    """A redirect to the other view when the path is that kind (a file asked for as a folder, or the reverse)."""
    try:
        await (service.blob if view == "blob" else service.tree)(slug, ref, path)
    except (NotFound, Invalid):
        return None
    return Redirect(path=bot_url(slug, view, ref, path), status_code=302)


async def _browser(
    service: BotService, actor: Actor, bot: BotRead, ref: str | None, shown: TreeRead | BlobRead, **context: Any
) -> Template:
    """The file browser around a folder listing or a file: path crumbs, the version picker and the commit."""
    view = "tree" if isinstance(shown, TreeRead) else "blob"
    return page(
        f"bot_{view}.html",
        actor,
        nav="bots",
        bot=bot,
        **context,
        ref=ref,
        path=shown.path,
        crumbs=breadcrumbs(shown.path),
        refs=await ref_choices(service, bot.slug),
        commit=shown.commit,
        view=view,
        **HELPERS,
    )


class PrinciplePages(Controller):
    @get("/principles", name="principles")
    async def principles(self, principle_service: PrincipleServiceDep, db: DbDep, actor: ActorDep) -> Template:
        principles = await principle_service.all()
        groups: dict[str, list[Any]] = defaultdict(list)
        for p in principles:
            groups[p.category or NO_CATEGORY].append(p)
        ordered = sorted(groups.items(), key=lambda kv: (kv[0] == NO_CATEGORY, kv[0].casefold()))
        return page(
            "principles.html",
            actor,
            nav="principles",
            groups=ordered,
            count=len(principles),
            bot_names=await bot_names(db),
        )

    @get("/principles/{principle_id:str}", name="principle")
    async def principle(
        self,
        principle_service: PrincipleServiceDep,
        db: DbDep,
        actor: ActorDep,
        principle_id: FromPath[Annotated[str, PathParameter(max_length=200)]],
    ) -> Template:
        principle = await principle_service.get(principle_id)
        return page(
            "principle.html",
            actor,
            nav="principles",
            principle=principle,
            bot_names=await bot_names(db),
            category=principle.category or NO_CATEGORY,
            body=LEADING_H1.sub("", principle.html, count=1),
        )
