"""Path parameters and query filters the API controllers share, declared once with their validation and
description. A set of filters reaches a handler as one struct, through its dependency (`PROCESS_FILTERS`,
`BENEFIT_FILTERS`, `BOT_FILTERS`), so the OpenAPI document lists the same query parameters wherever it is used."""

from __future__ import annotations

from typing import Annotated, NamedTuple

from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, PathParameter, QueryParameter

from catalogue.schemas import BenefitFilters
from catalogue.services import ProcessFilters
from catalogue.vocab import Domain, Phase, Status
from codebank.services import BotFilters
from core.actors import Actor
from service.deps import ActorDep

ProcessIdParam = Annotated[str, PathParameter(max_length=140, description="The process's slug")]
Code = Annotated[str, PathParameter(pattern=r"^\d{3}$", description="3-digit municipality code")]

ProcessIdPath = FromPath[ProcessIdParam]
CodePath = FromPath[Code]

IdPath = FromPath[Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="The record's id")]]  # an INTEGER column

MunicipalityQuery = Annotated[
    str | None, QueryParameter(pattern=r"^\d{3}$", description="3-digit municipality code (owner or adopter)")
]
ProcessQuery = Annotated[str | None, QueryParameter(max_length=140, description="a process's slug")]
TermQuery = Annotated[str | None, QueryParameter(max_length=100)]  # a system or a technology, as labelled


async def provide_process_filters(
    domain: FromQuery[Domain | None] = None,
    phase: FromQuery[Phase | None] = None,
    status: FromQuery[Status | None] = None,
    system: TermQuery = None,
    technology: TermQuery = None,
    municipality: MunicipalityQuery = None,
) -> ProcessFilters:
    """The process list's filters, read from the query string: the list, the exports and the search take them."""
    return ProcessFilters(
        domain=domain, phase=phase, status=status, system=system, technology=technology, municipality=municipality
    )


async def provide_benefit_filters(
    process: ProcessQuery = None,
    municipality: MunicipalityQuery = None,
    domain: FromQuery[Domain | None] = None,
    from_: Annotated[
        str | None, QueryParameter(name="from", max_length=20, description="first period, e.g. 2023 or 2023-Q2")
    ] = None,
    to: Annotated[str | None, QueryParameter(max_length=20, description="last period, e.g. 2024 or 2024-Q4")] = None,
) -> BenefitFilters:
    """The benefit figures' filters, read from the query string: the summary and its workbook take them."""
    return BenefitFilters(process=process, municipality=municipality, domain=domain, first=from_, last=to)


async def provide_bot_filters(
    process: Annotated[str | None, QueryParameter(max_length=140)] = None,
    technology: TermQuery = None,
    system: TermQuery = None,
    municipality: Annotated[str | None, QueryParameter(pattern=r"^\d{3}$")] = None,
) -> BotFilters:
    """The bot list's filters, read from the query string."""
    return BotFilters(process, technology, system, municipality)


class ProcessPath(NamedTuple):
    """Who asks about which process: the actor and the process the path names, in the order the services take
    them (`idea_service.screening(*process)`)."""

    actor: Actor
    process_id: str


def provide_process(actor: ActorDep, process_id: ProcessIdPath) -> ProcessPath:
    return ProcessPath(actor, process_id)


ProcessDep = NamedDependency[ProcessPath]


class AdoptionPath(NamedTuple):
    """Who asks about which adoption: the actor, the process and the municipality the path names, in the order
    the services take them (`benefit_service.get(*adoption, period)`)."""

    actor: Actor
    process_id: str
    code: str


def provide_adoption(actor: ActorDep, process_id: ProcessIdPath, code: CodePath) -> AdoptionPath:
    return AdoptionPath(actor, process_id, code)


AdoptionDep = NamedDependency[AdoptionPath]

PROCESS = {"process": Provide(provide_process, sync_to_thread=False)}
ADOPTION = {"adoption": Provide(provide_adoption, sync_to_thread=False)}
PROCESS_FILTERS = {"filters": Provide(provide_process_filters)}
BOT_FILTERS = {"bot_filters": Provide(provide_bot_filters)}
BENEFIT_FILTERS = {"benefit_filters": Provide(provide_benefit_filters)}
