"""Registering and syncing a bot from the pages. Both hand the git work to a background job (as the API does) and
send the person to the job's page, which follows it without JavaScript (it reloads itself while the job runs)
and says in Danish what went wrong if the repository could not be mirrored."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, PathParameter
from litestar.response import Redirect, Template

from codebank.models import Bot
from codebank.schemas import BotCreate
from core.actors import Actor
from core.errors import DomainError, NotFound
from core.jobs import Job
from service.deps import ActorDep, BotServiceDep, ProcessServiceDep
from service.jobs import BOT_JOBS, enqueue_bot_registration, enqueue_bot_sync
from service.pages.common import Form, page, require_signed_in

JobId = FromPath[Annotated[int, PathParameter(ge=1, le=2**31 - 1)]]
BotSlug = FromPath[Annotated[str, PathParameter(max_length=100)]]

# The code bank's refusals of a repository address as a person reads them, by the rule broken (DomainError.code)
URL_MESSAGES = {
    "empty": "Skriv adressen på git-repositoriet.",
    "scheme": "Adressen skal begynde med https://, ssh:// eller git@…, fx https://github.com/kommune/robot.",
    "credentials": "Adressen må ikke indeholde brugernavn eller adgangskode.",
    "no_host": "Adressen mangler et værtsnavn, fx github.com.",
    "characters": "Adressen indeholder tegn eller en overførselsmetode, der ikke er tilladt.",
    "option": "Adressen må ikke begynde med en bindestreg.",
    "local_not_allowed": "Lokale stier er ikke tilladt på denne server; brug en https-adresse.",
    "no_repository": "Der er intet repository på den sti.",
    "registered": "Repositoriet er allerede registreret i kodebanken.",
}
PROCESS_MESSAGE = "Vælg en proces fra kataloget (eller lad feltet stå tomt)."
JOB_ERROR = "Repositoriet kunne ikke hentes, og robotten er ikke registreret."


def danish(exc: DomainError) -> dict[str, str]:
    """The field error of a refused registration, in Danish."""
    if exc.field == "processes":
        return {"process": PROCESS_MESSAGE}
    return {"url": URL_MESSAGES.get(exc.code or "", "Repositoriet kan ikke registreres: " + exc.message)}


async def bot_form(
    actor: Actor, process_service: ProcessServiceDep, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Template:
    choices = await process_service.choices(actor)
    return page("bot_new.html", actor, status=status, nav="bots", values=values, errors=errors, choices=choices)


class BotFormPages(Controller):
    @get("/bots/new", name="new_bot")
    async def new_bot(self, actor: ActorDep, process_service: ProcessServiceDep) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/bots/new")) is not None:
            return redirect
        actor.require_writer()
        return await bot_form(actor, process_service, {}, {})

    @post("/bots/new", status_code=303)
    async def register(
        self, actor: ActorDep, bot_service: BotServiceDep, process_service: ProcessServiceDep, data: Form
    ) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/bots/new")) is not None:
            return redirect
        values = {"url": (data.get("url") or "").strip(), "process": (data.get("process") or "").strip()}
        process = values["process"].split(" — ", 1)[0].strip()
        try:
            bot = await bot_service.reserve(actor, BotCreate(url=values["url"], processes=[process] if process else []))
            job = await enqueue_bot_registration(bot_service.session, bot.slug)
        except DomainError as exc:
            await bot_service.session.rollback()
            return await bot_form(actor, process_service, values, danish(exc), status=422)
        return Redirect(path=f"/bots/jobs/{job.id}", status_code=303)

    @post("/bots/{slug:str}/sync", status_code=303)
    async def sync(self, actor: ActorDep, bot_service: BotServiceDep, slug: BotSlug) -> Redirect:
        if (redirect := require_signed_in(actor, f"/bots/{slug}")) is not None:
            return redirect
        bot = await bot_service.get_model(slug)
        bot_service.require_owner(actor, bot)
        job = await enqueue_bot_sync(bot_service.session, slug)
        await bot_service.session.flush()
        return Redirect(path=f"/bots/jobs/{job.id}", status_code=303)

    @get("/bots/jobs/{job_id:int}", name="bot_job")
    async def job(self, actor: ActorDep, bot_service: BotServiceDep, job_id: JobId) -> Template | Redirect:
        if (redirect := require_signed_in(actor, f"/bots/jobs/{job_id}")) is not None:
            return redirect
        job = await bot_service.session.get(Job, job_id)
        if job is None or job.kind not in BOT_JOBS:
            raise NotFound(f"No code bank job {job_id}.")
        slug = str((job.payload or {}).get("slug", ""))
        exists = await bot_service.session.get(Bot, slug) is not None
        running = job.status in ("queued", "running")
        return page(
            "bot_job.html",
            actor,
            nav="bots",
            job=job,
            slug=slug,
            exists=exists,
            running=running,
            registering=job.kind == "register_bot",
            error=JOB_ERROR if job.status == "failed" and job.kind == "register_bot" else None,
        )
