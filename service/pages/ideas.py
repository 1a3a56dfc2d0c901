"""The idea pages: the board, the short proposal form (with likely duplicates while typing), and an idea's page
with votes, the municipalities' screenings and the network's decision."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from catalogue.ideas import IDEA_SORTS, IdeaService
from catalogue.schemas import DecisionWrite, IdeaProposal, ScreeningWrite
from catalogue.services import AdoptionService, MunicipalityService, ProcessService
from catalogue.vocab import DOMAINS
from core.actors import Actor
from core.errors import DomainError
from service.controllers.params import ProcessIdPath
from service.deps import (
    ActorDep,
    AdoptionServiceDep,
    DbDep,
    IdeaServiceDep,
    IndexerDep,
    MunicipalityServiceDep,
    ProcessServiceDep,
)
from service.pages.common import Form, FormErrors, form_to_struct, page, require_signed_in
from service.pages.forms import Field, parse_field
from service.reuse import similar_processes

SORT_LABELS = {
    "priority": "Prioritet",
    "votes": "Stemmer",
    "score": "Screening",
    "hours": "Timer",
    "interest": "Interesse",
    "newest": "Nyeste",
}


def whole_number(text: str, label: str, errors: dict[str, str], field: str) -> int | None:
    """ "1.200" → 1200; empty → None; anything else an error in Danish next to the field."""
    return _number(Field(field, label, "int", minimum=0), text, errors)  # type: ignore[return-value]


def decimal_number(text: str, label: str, errors: dict[str, str], field: str) -> float | None:
    """ "5,5" and "5.5" → 5.5; empty → None."""
    return _number(Field(field, label, "decimal", minimum=0), text, errors)


def _number(f: Field, text: str, errors: dict[str, str]) -> float | int | None:
    value, error = parse_field(f, {f.name: text})
    if error:
        errors[f.name] = error
    return value  # type: ignore[no-any-return]


def proposal_from(form: dict[str, str]) -> IdeaProposal:
    """The short form as the API's input, every problem in Danish next to its field at once."""
    errors: dict[str, str] = {}
    title = (form.get("title") or "").strip()
    manual = (form.get("manual_today") or "").strip()
    domain = (form.get("domain") or "").strip()
    if not title:
        errors["title"] = "Skriv en kort titel."
    elif len(title) > 120:
        errors["title"] = "Titlen må højst have 120 tegn."
    if not manual:
        errors["manual_today"] = "Beskriv, hvordan det gøres i hånden i dag."
    if domain not in DOMAINS:
        errors["domain"] = "Vælg et område."
    cases = whole_number(form.get("cases_per_year") or "", "Sager pr. år", errors, "cases_per_year")
    minutes = decimal_number(form.get("minutes_per_case") or "", "Minutter pr. sag", errors, "minutes_per_case")
    systems = [s.strip() for s in (form.get("systems") or "").split(",") if s.strip()]
    if errors:
        raise FormErrors(errors)
    values = {
        "title": title,
        "domain": domain,
        "manual_today": manual,
        "cases_per_year": cases,
        "minutes_per_case": minutes,
        "systems": systems,
    }
    return form_to_struct(values, IdeaProposal)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class IdeaPageServices:
    """What an idea's page reads from."""

    ideas: IdeaService
    processes: ProcessService
    adoptions: AdoptionService
    municipalities: MunicipalityService

    async def page(
        self,
        actor: Actor,
        process_id: str,
        status: int = 200,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
    ) -> Template:
        return page(
            "idea.html",
            actor,
            status=status,
            nav="ideas",
            process=await self.processes.get(actor, process_id),
            votes=await self.ideas.votes(actor, process_id),
            screening=await self.ideas.screening(actor, process_id),
            questions=await self.ideas.questions(),
            decisions=await self.ideas.decisions(actor, process_id),
            on_board=next((i for i in (await self.ideas.board(actor)).items if i.id == process_id), None),
            adoptions=await self.adoptions.for_process(actor, process_id),
            municipalities=await self.municipalities.all(),
            errors=errors or {},
            values=values or {},
        )


def provide_idea_page_services(
    idea_service: IdeaServiceDep,
    process_service: ProcessServiceDep,
    adoption_service: AdoptionServiceDep,
    municipality_service: MunicipalityServiceDep,
) -> IdeaPageServices:
    return IdeaPageServices(idea_service, process_service, adoption_service, municipality_service)


IdeaPageDep = NamedDependency[IdeaPageServices]


class IdeaPages(Controller):
    path = "/ideas"
    dependencies = {"idea_page": Provide(provide_idea_page_services, sync_to_thread=False)}

    @get("/", name="ideas")
    async def board(
        self,
        actor: ActorDep,
        idea_service: IdeaServiceDep,
        sort: FromQuery[str] = "priority",
        domain: FromQuery[str | None] = None,
    ) -> Template:
        sort = sort if sort in IDEA_SORTS else "priority"
        board = await idea_service.board(actor, sort, domain if domain in DOMAINS else None)
        return page("ideas.html", actor, nav="ideas", board=board, sort=sort, domain=domain, SORT_LABELS=SORT_LABELS)

    @get("/new", name="new_idea")
    async def new(self, actor: ActorDep) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/ideas/new")) is not None:
            return redirect
        return page("idea_new.html", actor, nav="ideas", values={}, errors={}, similar=[])

    @post("/new", status_code=303)
    async def create(
        self, actor: ActorDep, idea_service: IdeaServiceDep, indexer: IndexerDep, db: DbDep, data: Form
    ) -> Template | Redirect:
        if (redirect := require_signed_in(actor, "/ideas/new")) is not None:
            return redirect
        try:
            created = await idea_service.propose(actor, proposal_from(data))
        except (FormErrors, DomainError) as exc:
            errors = exc.errors if isinstance(exc, FormErrors) else {exc.field or "": exc.message}
            similar = await similar_processes(
                indexer, db, actor, data.get("title") or "", data.get("manual_today") or ""
            )
            return page("idea_new.html", actor, status=422, nav="ideas", values=data, errors=errors, similar=similar)
        return Redirect(path=f"/ideas/{created.id}", status_code=303)

    @get("/similar")
    async def similar(
        self,
        actor: ActorDep,
        indexer: IndexerDep,
        db: DbDep,
        title: FromQuery[str] = "",
        manual_today: FromQuery[str] = "",
    ) -> Template:
        """Likely duplicates while the title is typed (HTMX)."""
        found = (
            await similar_processes(indexer, db, actor, title[:120], manual_today[:280], limit=5)
            if title.strip()
            else []
        )
        return Template(template_name="partials/similar.html", context={"similar": found})

    @get("/{process_id:str}", name="idea")
    async def idea(self, actor: ActorDep, idea_page: IdeaPageDep, process_id: ProcessIdPath) -> Template:
        return await idea_page.page(actor, process_id)

    @post("/{process_id:str}/vote", status_code=303)
    async def vote(
        self, actor: ActorDep, idea_service: IdeaServiceDep, process_id: ProcessIdPath, data: Form
    ) -> Redirect:
        if (redirect := require_signed_in(actor, f"/ideas/{process_id}")) is not None:
            return redirect
        await idea_service.vote(actor, process_id, data.get("vote") != "0")
        return Redirect(path=f"/ideas/{process_id}", status_code=303)

    @post("/{process_id:str}/screening", status_code=303)
    async def screen(
        self, actor: ActorDep, idea_page: IdeaPageDep, process_id: ProcessIdPath, data: Form
    ) -> Template | Redirect:
        idea_service = idea_page.ideas
        if (redirect := require_signed_in(actor, f"/ideas/{process_id}")) is not None:
            return redirect
        errors: dict[str, str] = {}
        answers = {}
        for q in await idea_service.questions():
            value = (data.get(f"q_{q.id}") or "").strip()
            if value not in ("1", "2", "3", "4", "5"):
                errors[f"q_{q.id}"] = "Vælg et svar fra 1 til 5."
            else:
                answers[q.id] = int(value)
        final = decimal_number(data.get("final_score") or "", "Endelig score", errors, "final_score")
        if final is not None and final > 100:
            errors["final_score"] = "Endelig score er højst 100."
        try:
            if errors:
                raise FormErrors(errors)
            body = ScreeningWrite(
                answers=answers,
                final_score=final,
                note=(data.get("note") or None),
                municipality=(data.get("municipality") or None),
            )
            await idea_service.screen(actor, process_id, body)
        except (FormErrors, DomainError) as exc:
            errs = exc.errors if isinstance(exc, FormErrors) else {"screening": exc.message}
            return await idea_page.page(actor, process_id, status=422, errors=errs, values=data)
        return Redirect(path=f"/ideas/{process_id}#screening", status_code=303)

    @post("/{process_id:str}/decision", status_code=303)
    async def decide(
        self, actor: ActorDep, idea_page: IdeaPageDep, process_id: ProcessIdPath, data: Form
    ) -> Template | Redirect:
        if (redirect := require_signed_in(actor, f"/ideas/{process_id}")) is not None:
            return redirect
        try:
            body = form_to_struct(
                {
                    "decision": data.get("decision") or "",
                    "building_municipality": data.get("building_municipality") or None,
                    "reason": data.get("reason") or None,
                    "original": (data.get("original") or "").strip() or None,
                },
                DecisionWrite,
            )
            await idea_page.ideas.decide(actor, process_id, body)
        except (FormErrors, DomainError) as exc:
            message = " ".join(exc.errors.values()) if isinstance(exc, FormErrors) else exc.message
            return await idea_page.page(actor, process_id, status=422, errors={"decision": message}, values=data)
        return Redirect(path=f"/ideas/{process_id}", status_code=303)
