"""Downloads for people and programs: the catalogue as CSV and Excel, the benefits as Excel."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.benefits import BenefitFilters
from catalogue.exports import XLSX, ExportService, benefits_xlsx, processes_csv, processes_xlsx
from catalogue.schemas import ProcessRead
from catalogue.services import ProcessFilters, ProcessService
from catalogue.vocab import Domain
from core.actors import Actor
from service.controllers.benefits import benefits
from service.controllers.processes import PROCESS_FILTERS
from service.indexing import search_process_ids

ALL = 1_000_000
Text = Annotated[str | None, QueryParameter(max_length=10_000)]


def download(content: bytes, filename: str, media_type: str) -> Response[bytes]:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


async def matching_processes(
    state: State, db: AsyncSession, actor: Actor, filters: ProcessFilters, q: str | None
) -> list[ProcessRead]:
    """Every process the list filters (and `q`, through the search) select, as GET /api/processes would."""
    if q and q.strip():
        _, ids = await search_process_ids(state.indexer, actor, filters, q, 10_000, 0)
        return await ProcessService(db).get_many(actor, ids)
    _, items = await ProcessService(db).find(actor, filters, limit=ALL)
    return items


class ExportController(Controller):
    path = "/api/export"
    tags = ["exports"]
    dependencies = PROCESS_FILTERS

    @get("/processes.csv", summary="The processes as CSV (same filters as the process list)")
    async def processes_csv(
        self,
        state: State,
        db: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        filters: NamedDependency[ProcessFilters],
        q: Text = None,
    ) -> Response[bytes]:
        items = await matching_processes(state, db, actor, filters, q)
        names = await ExportService(db).names()
        return download(processes_csv(items, names), "processer.csv", "text/csv; charset=utf-8")

    @get("/processes.xlsx", summary="The processes and who runs them as an Excel workbook")
    async def processes_xlsx(
        self,
        state: State,
        db: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        filters: NamedDependency[ProcessFilters],
        q: Text = None,
    ) -> Response[bytes]:
        items = await matching_processes(state, db, actor, filters, q)
        exports = ExportService(db)
        adoptions = await exports.adoptions_of(actor, [p.id for p in items])
        return download(processes_xlsx(items, adoptions, await exports.names()), "processer.xlsx", XLSX)

    @get("/benefits.xlsx", summary="Expected and realised benefits as an Excel workbook, a sheet per grouping")
    async def benefits_xlsx(
        self,
        state: State,
        db: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        process: Annotated[str | None, QueryParameter(max_length=140)] = None,
        municipality: Annotated[str | None, QueryParameter(pattern=r"^\d{3}$")] = None,
        domain: FromQuery[Domain | None] = None,
        from_: Annotated[str | None, QueryParameter(name="from", max_length=20)] = None,
        to: Annotated[str | None, QueryParameter(max_length=20)] = None,
    ) -> Response[bytes]:
        filters = BenefitFilters(process=process, municipality=municipality, domain=domain, first=from_, last=to)
        summaries, records = await benefits(state, db).report(actor, filters)
        return download(benefits_xlsx(summaries, records), "gevinster.xlsx", XLSX)
