"""The process page: description, facts, expected and realised benefit, who runs it, lineage and history;
for a signed-in editor a form to register or change the municipality's adoption."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request, get, post, route
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, PathParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.errors import AdoptionMissing
from catalogue.formulas import RUNNING_STATUSES
from catalogue.ideas import IdeaService
from catalogue.runs import RunService
from catalogue.schemas import AdoptionRead, AdoptionWrite, BenefitWrite
from catalogue.services import AdoptionService, BenefitService, MunicipalityService, ProcessService
from catalogue.vocab import ADOPTION_STATUSES
from codebank.flows import register_adoption
from codebank.services import BotFilters, BotService
from core.actors import Actor
from core.errors import DomainError, Forbidden, NotFound
from service.deps import (
    ActorDep,
    AdoptionServiceDep,
    BenefitServiceDep,
    BotServiceDep,
    CodebankDep,
    DbDep,
    IdeaServiceDep,
    MunicipalityServiceDep,
    ProcessServiceDep,
    RunServiceDep,
)
from service.pages import benefits
from service.pages.common import Form, FormErrors, is_htmx, page_context, require_signed_in
from service.pages.forms import Field, domain_errors, parse_form, to_struct
from service.pages.social import SOCIAL_DEPENDENCY, Social, SocialDep

ProcessIdParam = Annotated[str, PathParameter(max_length=140)]
ProcessIdPath = FromPath[ProcessIdParam]

FIELD_LABELS = {
    "title": "Titel",
    "summary": "Resumé",
    "description": "Beskrivelse",
    "domain": "Område",
    "kle": "KLE",
    "phase": "Fase",
    "status": "Status",
    "duplicate_of": "Dublet af",
    "systems": "IT-systemer",
    "technologies": "Teknologier",
    "tags": "Emneord",
    "owner_municipality": "Ejer",
    "contact": "Kontakt",
    "legal_basis": "Hjemmel",
    "personal_data": "Personoplysninger",
    "dpia_done": "Konsekvensanalyse",
    "cases_per_year": "Sager pr. år",
    "minutes_per_case": "Minutter pr. sag",
    "automation_rate": "Automatiseringsgrad",
    "build_hours": "Udviklingstimer",
    "derived_from": "Afledt af",
    "visibility": "Synlighed",
}
# What the process page says after a form on another page sent the editor back to it (?gemt=…)
NOTICES = {
    "proces": "Processen er gemt.",
    "kopi": "Kopien er lavet til din kommune i fasen „Idé“. Ret den til, så den passer til jer.",
    "dublet": "Processen er markeret som dublet.",
    "udfaset": "Processen er udfaset.",
    "anvendelse-fjernet": "Anvendelsen er fjernet.",
}
# API field names of the adoption as the form names them
ADOPTION_FORM_FIELDS = {"bot": "bot_repo", "bot.repo": "bot_repo", "bot.ref": "bot_ref"}
ADOPTION_NUMBERS = ("cases_per_year", "minutes_per_case", "automation_rate")
ADOPTION_FIELDS = (
    "status",
    "started_on",
    "live_on",
    "bot_repo",
    "bot_ref",
    "cases_per_year",
    "minutes_per_case",
    "automation_rate",
    "notes",
    "contact_name",
    "contact_email",
)


def adoption_values(a: AdoptionRead | None) -> dict[str, str]:
    """The adoption as the form shows it."""
    if a is None:
        return {"status": "interested"}

    def s(v: Any) -> str:
        return "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))

    return {
        "status": a.status,
        "started_on": s(a.started_on),
        "live_on": s(a.live_on),
        "bot_repo": a.bot.repo if a.bot else "",
        "bot_ref": (a.bot.ref or "") if a.bot else "",
        "cases_per_year": s(a.cases_per_year),
        "minutes_per_case": s(a.minutes_per_case),
        "automation_rate": s(a.automation_rate),
        "notes": a.notes or "",
        "contact_name": a.contact.name if a.contact else "",
        "contact_email": (a.contact.email or "") if a.contact else "",
    }


ADOPTION_SPEC = (
    Field("status", "Status", "choice", required=True, choices=ADOPTION_STATUSES),
    Field("started_on", "Startet", "date"),
    Field("live_on", "I drift siden", "date"),
    Field("bot_repo", "Robottens repository", max_length=500),
    Field("bot_ref", "Robotversion", max_length=200),
    Field("cases_per_year", "Sager pr. år", "int", minimum=0, maximum=100_000_000),
    Field("minutes_per_case", "Minutter pr. sag", "decimal", minimum=0, maximum=100_000),
    Field("automation_rate", "Automatiseringsgrad", "percent", minimum=0, maximum=100),
    Field("notes", "Noter", max_length=5_000),
    Field("contact_name", "Kontaktperson", max_length=200),
    Field("contact_email", "Kontaktens e-mail", "email"),
)
ADOPTION_REFUSALS = {
    "live_on": "I drift siden kan ikke være før startdatoen.",
    "bot_ref": "Robotversionen findes ikke i robottens repository: vælg en version, der findes.",
    "bot_repo": "Robottens repository kan ikke bruges: angiv en registreret robot eller en adresse.",
    "municipality": "Vælg en kommune, der er med i netværket.",
}


def adoption_body(form: dict[str, str]) -> dict[str, Any]:
    """Form fields → the JSON body the API's PUT takes; every problem at once, in Danish, next to its field."""
    errors: dict[str, str] = {}
    try:
        f = parse_form(form, ADOPTION_SPEC)
    except FormErrors as exc:
        errors, f = exc.errors, {}
    if (form.get("bot_ref") or "").strip() and not (form.get("bot_repo") or "").strip():
        errors.setdefault("bot_repo", "Angiv robottens repository, når du angiver en version.")
    if (form.get("contact_email") or "").strip() and not (form.get("contact_name") or "").strip():
        errors.setdefault("contact_name", "Skriv kontaktpersonens navn, når du angiver en e-mail.")
    if f.get("started_on") and f.get("live_on") and f["live_on"] < f["started_on"]:
        errors.setdefault("live_on", ADOPTION_REFUSALS["live_on"])
    if errors:
        raise FormErrors(errors)
    body: dict[str, Any] = {k: f[k] for k in ("status", *ADOPTION_NUMBERS, "started_on", "live_on", "notes") if f[k]}
    if f["bot_repo"]:
        body["bot"] = {"repo": f["bot_repo"], **({"ref": f["bot_ref"]} if f["bot_ref"] else {})}
    if f["contact_name"]:
        body["contact"] = {"name": f["contact_name"], **({"email": f["contact_email"]} if f["contact_email"] else {})}
    return body


@dataclass(frozen=True)
class ProcessPageServices:
    """What the process and municipality pages read from (each a typed dependency of the handlers)."""

    processes: ProcessService
    adoptions: AdoptionService
    municipalities: MunicipalityService
    benefits: BenefitService
    bots: BotService
    ideas: IdeaService
    runs: RunService
    social: Social


async def process_context(services: ProcessPageServices, actor: Actor, process_id: str) -> dict[str, Any]:
    processes = services.processes
    process = await processes.get(actor, process_id)
    adoptions = await services.adoptions.for_process(actor, process_id)
    history = await processes.history(actor, process_id)
    municipalities = await services.municipalities.all()
    names = {m.code: m.name for m in municipalities}
    linked = [i for i in (process.derived_from, process.duplicate_of) if i]
    related = {p.id: p for p in await processes.get_many(actor, linked)}
    running = [a for a in adoptions if a.status == "operation"]
    realised = await benefits.benefits_for_process(services.benefits, actor, process_id)
    copies = await processes.get_many(actor, getattr(process, "derived", []))
    bots = await services.bots.find(BotFilters(process=process_id), viewer=actor)
    return {
        **await services.social.context(actor, "process", process_id),
        "decisions": await services.ideas.decisions(actor, process_id),
        "votes": await services.ideas.votes(actor, process_id),
        "bots": bots,
        # the adoption form's choices: this process's bots first, then the rest of the code bank
        "bot_choices": bots
        + [b for b in await services.bots.find(viewer=actor) if b.slug not in {x.slug for x in bots}],
        "realised": realised.years,
        "expected_by_year": realised.expected_years,
        "benefit_view": realised,
        "copies": copies,
        "process": process,
        "adoptions": adoptions,
        "revisions": list(reversed(history.revisions)),
        "names": names,
        "related": related,
        "field_labels": FIELD_LABELS,
        "network_expected_hours": sum(a.expected_hours_per_year or 0 for a in running),
        "hourly_cost_dkk": services.benefits.settings.hourly_cost_dkk,  # the network's default, for expected DKK
        "running_count": len(running),
        # the badge: municipalities that run it or are putting it in (not the interested or planning ones)
        "in_use_count": sum(a.status in RUNNING_STATUSES for a in adoptions),
        "writable": [m for m in municipalities if actor.can_write_for(m.code)] if actor.is_authenticated else [],
        "adopters_writable": [a for a in adoptions if actor.can_write_for(a.municipality)],
        "benefit_form": {},
        "benefit_errors": {},
        "benefit_saved": False,
    }


def editor_code(actor: Actor, requested: str | None) -> str | None:
    if actor.municipality:
        return actor.municipality
    return requested if actor.is_admin else None


def provide_process_page_services(
    process_service: ProcessServiceDep,
    adoption_service: AdoptionServiceDep,
    municipality_service: MunicipalityServiceDep,
    benefit_service: BenefitServiceDep,
    bot_service: BotServiceDep,
    idea_service: IdeaServiceDep,
    run_service: RunServiceDep,
    social: SocialDep,
) -> ProcessPageServices:
    return ProcessPageServices(
        process_service,
        adoption_service,
        municipality_service,
        benefit_service,
        bot_service,
        idea_service,
        run_service,
        social,
    )


PageServicesDep = NamedDependency[ProcessPageServices]


@dataclass(frozen=True)
class ProcessChange:
    """A form posted on a process's page (an adoption, a period's benefits, a removal): what its handler works
    with, the process's id from the path among it."""

    request: Request[Any, Any, Any]
    services: ProcessPageServices
    db: AsyncSession
    actor: Actor
    process_id: str

    async def removed(self, code: str, what: str, remove: Callable[[], Awaitable[None]], saved: str) -> Redirect | None:
        """A removal of municipality `code`'s `what`, asked first: signing in comes first; a POST removes
        (`remove()`, the API's service) and the process page says so (`saved`); a GET by someone who may not remove
        it is refused. None: ask."""
        if (redirect := require_signed_in(self.actor, self.request.url.path)) is not None:
            return redirect
        if self.request.method == "POST":
            await remove()
            return Redirect(path=f"/processes/{self.process_id}?gemt={saved}", status_code=303)
        if not self.actor.can_write_for(code):
            raise Forbidden(f"Only the editors of municipality {code} may remove its {what}.")
        return None

    async def context(self, *, failed: bool) -> dict[str, Any]:
        """The process page's context after the form was handled; when it `failed`, what it wrote is rolled back
        first."""
        if failed:
            await self.db.rollback()
        return await process_context(self.services, self.actor, self.process_id)


def provide_process_change(
    request: Request[Any, Any, Any],
    page_services: PageServicesDep,
    db: DbDep,
    actor: ActorDep,
    process_id: ProcessIdPath,
) -> ProcessChange:
    return ProcessChange(request, page_services, db, actor, process_id)


ProcessChangeDep = NamedDependency[ProcessChange]


def require_editor(actor: Actor, code: str | None, to_do: str) -> str:
    """A form's first checks: someone signed in, and the municipality the change is for (returned)."""
    if not actor.is_authenticated:
        raise FormErrors({"": f"Log ind som redaktør for at {to_do}."})
    if not actor.can_write:
        raise FormErrors({"": f"Du er læser: bed en administrator om rollen redaktør for at {to_do}."})
    if not code:
        raise FormErrors({"municipality": "Vælg kommunen."})
    return code


class ProcessPages(Controller):
    dependencies = {
        "page_services": Provide(provide_process_page_services, sync_to_thread=False),
        "change": Provide(provide_process_change, sync_to_thread=False),
        **SOCIAL_DEPENDENCY,
    }

    @get("/processes/{process_id:str}", name="process")
    async def process_page(
        self,
        page_services: PageServicesDep,
        db: DbDep,
        actor: ActorDep,
        process_id: ProcessIdPath,
        gemt: FromQuery[str | None] = None,
    ) -> Template:
        context = await process_context(page_services, actor, process_id)
        context["benefit_saved"] = gemt == "gevinst"
        own = editor_code(actor, None)
        current = next((a for a in context["adoptions"] if a.municipality == own), None)
        return Template(
            template_name="process.html",
            context=page_context(
                actor,
                nav="search",
                **context,
                form=adoption_values(current),
                form_code=own,
                errors={},
                saved=gemt == "anvendelse",
                notice=NOTICES.get(gemt or ""),
            ),
        )

    @post("/processes/{process_id:str}/adoption", status_code=303)
    async def save_adoption(self, codebank: CodebankDep, change: ProcessChangeDep, data: Form) -> Template | Redirect:
        """Register or change one municipality's adoption, through the same service as PUT /api/.../adoptions."""
        db, actor, process_id = change.db, change.actor, change.process_id
        code = editor_code(actor, (data.get("municipality") or "").strip() or None)
        errors: dict[str, str] = {}
        try:
            chosen = require_editor(actor, code, "registrere en anvendelse")
            body = to_struct(adoption_body(data), AdoptionWrite, ADOPTION_SPEC)
            await register_adoption(db, codebank, actor, process_id, chosen, body)
        except FormErrors as exc:
            errors = exc.errors
        except NotFound:
            raise
        except DomainError as exc:
            name = exc.field or ""
            field = ADOPTION_FORM_FIELDS.get(name) or ADOPTION_FORM_FIELDS.get(name.split(".")[0], exc.field)
            renamed = DomainError(exc.message, field=field)
            errors = domain_errors(renamed, ADOPTION_SPEC, ADOPTION_REFUSALS).errors
        if not errors and not is_htmx(change.request):
            return Redirect(path=f"/processes/{process_id}?gemt=anvendelse#anvendelse", status_code=303)
        context = await change.context(failed=bool(errors))
        page = page_context(
            actor,
            nav="search",
            **context,
            form=data
            if errors
            else adoption_values(next((a for a in context["adoptions"] if a.municipality == code), None)),
            form_code=code,
            errors=errors,
            saved=not errors,
        )
        template = "partials/adoptions.html" if is_htmx(change.request) else "process.html"
        return Template(template_name=template, context=page, status_code=422 if errors else 200)

    @route("/processes/{process_id:str}/benefits/{code:str}/{period:str}/remove", http_method=["GET", "POST"])
    async def remove_benefit(
        self, change: ProcessChangeDep, code: FromPath[str], period: FromPath[str]
    ) -> Template | Redirect:
        """GET asks before removing one municipality's benefit record of one period (its editors and admins);
        POST removes it, through the same service as DELETE /api/.../benefits/{period}."""
        actor, process_id, services = change.actor, change.process_id, change.services
        remove = partial(services.benefits.delete, actor, process_id, code, period)
        if (done := await change.removed(code, "benefits", remove, "gevinst-fjernet#gevinst")) is not None:
            return done
        process = await services.processes.get(actor, process_id)
        view = await benefits.benefits_for_process(services.benefits, actor, process_id)
        record = next((r for r in view.records if r.municipality == code and r.period == period), None)
        if record is None:
            raise NotFound(f"Municipality {code} has reported no benefits of {process_id!r} for {period}.")
        return Template(
            template_name="benefit_remove.html",
            context=page_context(actor, nav="search", process=process, record=record),
        )

    @route("/processes/{process_id:str}/adoptions/{code:str}/remove", http_method=["GET", "POST"])
    async def remove_adoption(self, change: ProcessChangeDep, code: FromPath[str]) -> Template | Redirect:
        """GET asks before removing one municipality's adoption (its editors and admins); POST removes it, through
        the same service as DELETE /api/processes/{id}/adoptions/{code}."""
        actor, adoptions = change.actor, change.services.adoptions
        remove = partial(adoptions.delete, actor, change.process_id, code)
        if (done := await change.removed(code, "adoptions", remove, "anvendelse-fjernet#anvendelse")) is not None:
            return done
        adoption = await adoptions.get(actor, change.process_id, code)
        return Template(
            template_name="adoption_remove.html",
            context=page_context(actor, nav="search", adoption=adoption),
        )

    @post("/processes/{process_id:str}/benefits", status_code=303)
    async def save_benefit(self, change: ProcessChangeDep, data: Form) -> Template | Redirect:
        """Report one period's realised benefit, through the same service as PUT /api/.../benefits/{period}."""
        actor, process_id = change.actor, change.process_id
        code = (data.get("municipality") or actor.municipality or "").strip()
        period = (data.get("period") or "").strip()
        errors: dict[str, str] = {}
        try:
            require_editor(actor, code, "indberette gevinster")
            if not period:
                raise FormErrors({"period": "Angiv perioden, fx 2024, 2024-Q2 eller 2024-05."})
            body = to_struct(benefits.benefit_body(data), BenefitWrite, benefits.BENEFIT_SPEC)
            await change.services.benefits.put(actor, process_id, code, period, body)
        except FormErrors as exc:
            errors = exc.errors
        except AdoptionMissing:  # no adoption to report on: the form says so
            errors = {"municipality": "Kommunen har ikke registreret, at den anvender processen: gør det først."}
        except DomainError as exc:
            errors = domain_errors(exc, benefits.BENEFIT_SPEC, benefits.BENEFIT_REFUSALS).errors
        if not errors:
            return Redirect(path=f"/processes/{process_id}?gemt=gevinst#gevinst", status_code=303)
        context = await change.context(failed=True)
        own = editor_code(actor, None)
        current = next((a for a in context["adoptions"] if a.municipality == own), None)
        context.update(benefit_form=data, benefit_errors=errors)
        return Template(
            template_name="process.html",
            status_code=422,
            context=page_context(
                actor, nav="search", **context, form=adoption_values(current), form_code=own, errors={}, saved=False
            ),
        )
