"""Downloads for people and programs: the catalogue as CSV and Excel, the benefits as Excel.

Exports are streamed: the CSV goes out chunk by chunk as it is read from the database through a server-side
cursor; a workbook is written row by row (openpyxl write-only) in a worker thread to a temporary file, which is
then streamed and removed. Neither is ever whole in memory, and the event loop serves other requests meanwhile.
An export holds one of the instance's export slots until its last byte is sent.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import get
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import TooManyRequestsException
from litestar.params import QueryParameter
from litestar.response import Stream

from catalogue.exports import XLSX, ExportService, benefits_xlsx, processes_csv, processes_xlsx
from catalogue.schemas import BenefitFilters
from catalogue.services import ProcessFilters, ProcessService
from core.actors import Actor
from service.controllers.base import ApiController
from service.controllers.params import BENEFIT_FILTERS, PROCESS_FILTERS
from service.deps import ActorDep, BenefitServiceDep, ExportServiceDep, IndexerDep
from service.indexing import search_process_ids

CSV = "text/csv"  # Litestar adds "; charset=utf-8"
CsvDialect = Annotated[
    Literal["excel", "plain"],
    QueryParameter(
        description="excel (default): semicolons, decimal comma, UTF-8 with byte-order mark, for a Danish Excel; "
        "plain: commas, decimal point, UTF-8, for programs"
    ),
]
FILE_CHUNK = 256 * 1024
Text = Annotated[str | None, QueryParameter(max_length=10_000, description="free text, as in GET /api/search")]


class Slot:
    """One of the instance's export slots, held from the request until the export's last byte (or the end of
    the request if no stream took it over); released once."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self.slots = slots
        self.handed_over = False
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.slots.release()


async def provide_export_slot(state: State) -> AsyncGenerator[Slot, None]:
    """One of the instance's export slots (RPABANK_EXPORT_CONCURRENCY): beyond them an export answers 429 with
    Retry-After at once instead of slowing every other request down."""
    slots: asyncio.Semaphore = state.export_slots
    if slots.locked():
        raise TooManyRequestsException(
            "Other exports are being made right now; please retry in a moment.", headers={"Retry-After": "10"}
        )
    await slots.acquire()
    slot = Slot(slots)
    try:
        yield slot
    finally:
        if not slot.handed_over:  # the request ended without a stream (an error): free the slot now
            slot.release()


ExportSlot = NamedDependency[Slot]


def streamed(slot: Slot, chunks: AsyncIterator[bytes], filename: str, media_type: str) -> Stream:
    """A download streamed from `chunks`, holding `slot` until the stream ends (or the response is done)."""
    slot.handed_over = True

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            slot.release()

    return Stream(
        body(),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        background=BackgroundTask(slot.release),
    )


async def file_chunks(make: Callable[[], Any]) -> AsyncIterator[bytes]:
    """The bytes of the temporary file `make()` writes (and returns the path of), then the file is removed."""
    path: str = await make()
    try:
        with open(path, "rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, FILE_CHUNK):
                yield chunk
    finally:
        os.unlink(path)


@dataclass(frozen=True)
class Selection:
    """What a processes export holds: the list filters, or the ids a search (`q`) found, for this actor."""

    actor: Actor
    filters: ProcessFilters
    ids: list[str] | None  # None: every process the filters choose
    names: dict[str, str]  # municipality code → name


async def provide_selection(
    export_service: ExportServiceDep,
    indexer: IndexerDep,
    actor: ActorDep,
    filters: NamedDependency[ProcessFilters],
    q: Text = None,
) -> Selection:
    """With `q`: the ids the search finds (best first, as GET /api/processes?q=); without: the filters."""
    ids = (await search_process_ids(indexer, actor, filters, q, 10_000, 0))[2] if q and q.strip() else None
    return Selection(actor, filters, ids, await export_service.names())


Selected = NamedDependency[Selection]


def download(path: str, media_type: str, summary: str, what: str) -> get:
    """The route of a download: its content type and what it holds, as the OpenAPI document shows them."""
    return get(path, summary=summary, media_type=media_type, response_description=what)


class ExportController(ApiController):
    path = "/api/export"
    tags = ["exports"]
    dependencies = {
        **PROCESS_FILTERS,
        **BENEFIT_FILTERS,
        "export_slot": Provide(provide_export_slot),
        "selection": Provide(provide_selection),
    }

    @download(
        "/processes.csv",
        CSV,
        "The processes as CSV (same filters as the process list)",
        "One process a row, Danish headers. `dialect=excel` (default): for a Danish Excel, semicolon separated,"
        " decimal comma, UTF-8 with byte-order mark. `dialect=plain`: comma separated, decimal point, UTF-8.",
    )
    async def processes_csv(
        self, state: State, export_slot: ExportSlot, selection: Selected, dialect: CsvDialect = "excel"
    ) -> Stream:
        async def chunks() -> AsyncIterator[bytes]:
            async with state.read_sessions() as session:
                rows = ProcessService(session).stream(selection.actor, selection.filters, selection.ids)
                async for chunk in processes_csv(rows, selection.names, dialect):
                    yield chunk

        return streamed(export_slot, chunks(), "processer.csv", CSV)

    @download(
        "/processes.xlsx",
        XLSX,
        "The processes and who runs them as an Excel workbook",
        "An Excel workbook: sheets Processer and Anvendelser",
    )
    async def processes_xlsx(self, state: State, export_slot: ExportSlot, selection: Selected) -> Stream:
        actor, filters, ids = selection.actor, selection.filters, selection.ids

        async def workbook() -> str:
            async with state.read_sessions() as rows, state.read_sessions() as adoption_rows:
                service = ProcessService(rows)
                chosen = service.selected_ids(actor, filters) if ids is None else ids
                adoptions = ExportService(adoption_rows).stream_adoptions(actor, chosen)
                return await processes_xlsx(service.stream(actor, filters, ids), adoptions, selection.names)

        return streamed(export_slot, file_chunks(workbook), "processer.xlsx", XLSX)

    @download(
        "/benefits.xlsx",
        XLSX,
        "Expected and realised benefits as an Excel workbook, a sheet per grouping",
        "An Excel workbook: totals, a sheet per grouping and the records",
    )
    async def benefits_xlsx(
        self,
        export_slot: ExportSlot,
        benefit_service: BenefitServiceDep,
        actor: ActorDep,
        benefit_filters: NamedDependency[BenefitFilters],
    ) -> Stream:
        summaries, records = await benefit_service.report(actor, benefit_filters)

        async def workbook() -> str:
            return await asyncio.to_thread(benefits_xlsx, summaries, records)

        return streamed(export_slot, file_chunks(workbook), "gevinster.xlsx", XLSX)
