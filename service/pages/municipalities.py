"""Municipality pages: the network's members, and per municipality what it runs, what it owns, its benefits,
its runs (success rate, months where hand-typed and run figures disagree, with the choice) and missing figures."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, PathParameter
from litestar.response import Redirect, Template

from catalogue.services import ProcessFilters
from core.actors import Actor
from core.errors import Conflict, DomainError, Forbidden, Invalid, NotAuthenticated, NotFound
from service.controllers.params import ProcessIdPath
from service.deps import ActorDep, DbDep, MunicipalityServiceDep
from service.pages.benefits import benefits_for_municipality
from service.pages.common import page_context
from service.pages.processes import PageServicesDep, ProcessPageServices, provide_process_page_services
from service.pages.social import SOCIAL_DEPENDENCY

Code = Annotated[str, PathParameter(max_length=10)]
Month = Annotated[str, PathParameter(pattern=r"^\d{4}-\d{2}$")]
RUN_MONTHS_SHOWN = 6


class MunicipalityPages(Controller):
    dependencies = {
        "page_services": Provide(provide_process_page_services, sync_to_thread=False),
        **SOCIAL_DEPENDENCY,
    }

    @get("/municipalities", name="municipalities")
    async def municipalities(self, municipality_service: MunicipalityServiceDep, actor: ActorDep) -> Template:
        municipalities = await municipality_service.all()
        return Template(
            template_name="municipalities.html",
            context=page_context(actor, nav="municipalities", municipalities=municipalities),
        )

    @get("/municipalities/{code:str}", name="municipality")
    async def municipality(self, page_services: PageServicesDep, actor: ActorDep, code: FromPath[Code]) -> Template:
        return await municipality_page(page_services, actor, code)

    @post("/municipalities/{code:str}/runs/{process_id:str}/{month:str}", status_code=303)
    async def choose_figures(
        self,
        page_services: PageServicesDep,
        db: DbDep,
        actor: ActorDep,
        code: FromPath[Code],
        process_id: ProcessIdPath,
        month: FromPath[Month],
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Redirect | Template:
        """For a month with runs and a record typed by hand: which figures count (as PUT …/runs/months/…/choice)."""
        use = str(data.get("use") or "")
        try:
            await page_services.runs.choose(actor, process_id, code, month, use)
        except NotFound:
            raise
        except DomainError as exc:
            await db.rollback()
            message = CHOICE_ERRORS.get(type(exc), CHOICE_ERRORS[Conflict])[use == "runs"]
            return await municipality_page(page_services, actor, code, choice_error=(process_id, month, message))
        return Redirect(path=f"/municipalities/{code}?valgt={month}#koersler", status_code=303)


# What a refused choice says on the page, for "keep the hand-typed figures" and for "use the runs".
CHOICE_ERRORS: dict[type[DomainError], tuple[str, str]] = {
    NotAuthenticated: ("Log ind som redaktør for at vælge.",) * 2,
    Forbidden: ("Du kan kun vælge tal for din egen kommune.",) * 2,
    Invalid: ("Vælg enten kørslerne eller de indtastede tal.",) * 2,
    Conflict: (
        "Der er ingen indtastede tal for måneden at beholde; indberet dem på processens side.",
        "Et kvartal eller år indtastet i hånden dækker måneden; ret eller fjern det først på processens side.",
    ),
}


async def municipality_page(
    services: ProcessPageServices, actor: Actor, code: str, choice_error: tuple[str, str, str] | None = None
) -> Template:
    if not (len(code) == 3 and code.isdigit()):
        raise NotFound(f"No municipality with code {code!r}.")
    municipality = await services.municipalities.get(code)
    adoptions = await services.adoptions.for_municipality(actor, code)
    _, related = await services.processes.find(actor, ProcessFilters(municipality=code), limit=500)
    own = [p for p in related if p.owner_municipality == code]
    running = [a for a in adoptions if a.status == "operation"]
    runs = []
    for a in adoptions:
        overview = await services.runs.overview(actor, a.process, code)
        if overview.months:
            runs.append((a, overview, overview.months[-RUN_MONTHS_SHOWN:]))
    return Template(
        template_name="municipality.html",
        status_code=422 if choice_error else 200,
        context=page_context(
            actor,
            nav="municipalities",
            municipality=municipality,
            adoptions=adoptions,
            own=own,
            running=running,
            expected_hours=sum(a.expected_hours_per_year or 0 for a in running),
            benefits=await benefits_for_municipality(services.benefits, actor, code),
            runs=runs,
            may_choose=actor.can_write_for(code),
            choice_error=choice_error,
            missing=await services.runs.missing(actor, municipality=code),
            **await services.social.context(actor, "municipality", code),
        ),
    )
