"""Request-scoped dependencies: one database session per request (committed on success, rolled back
on error), the actor behind the bearer token, and every domain service as a typed dependency.

Handlers name what they need (`process_service: NamedDependency[ProcessService]`); `DEPENDENCIES` is the one
table that says how each is made.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from litestar import Request
from litestar._kwargs.cleanup import DependencyCleanupGroup
from litestar._kwargs.dependencies import resolve_dependency
from litestar._kwargs.kwargs_model import KwargsModel
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.documents import DocumentService
from catalogue.exports import ExportService
from catalogue.follows import NotificationService
from catalogue.ideas import IdeaService
from catalogue.reuse import ReuseService
from catalogue.runs import RunService
from catalogue.services import AdoptionService, BenefitService, MunicipalityService, ProcessService
from catalogue.tokens import TokenService
from catalogue.users import UserService
from catalogue.webhooks import WebhookService
from codebank.services import BotService, CodebankConfig, PrincipleService
from codebank.social import CommentService, FollowService
from core.actors import Actor
from core.errors import NotAuthenticated
from service.indexing import Indexer
from service.settings import Settings

log = logging.getLogger("rpabank")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_db(state: State, request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    factory = state.read_sessions if request.method in READ_METHODS else state.write_sessions
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await state.indexer.index_before_commit(session)  # a backend in the database: same transaction
            await session.commit()
            await after_the_commit(state, session)


async def after_the_commit(state: State, session: AsyncSession) -> None:
    """Work that follows a committed write. It never fails the request: an error here (the index drain finding
    the database busy, say) would answer 503 "retry" for a write that is already in, and a retry would write it
    twice. What fails is logged; the index queue keeps its entries and the background drain retries them."""
    try:
        if session.info.pop("jobs_enqueued", False):
            state.jobs.poke()  # the job runs after this answer, in whichever instance claims it
        if session.info.get("index_dirty"):
            await state.indexer.drain()  # failures stay queued and show on /api/health
    except Exception:
        log.exception("work after a committed write failed; it stays queued and is retried")


async def _resolve_dependencies(
    self: KwargsModel, connection: ASGIConnection[Any, Any, Any, Any], kwargs: dict[str, Any]
) -> DependencyCleanupGroup:
    """Litestar's dependency resolution, with one fix: when a dependency fails (a bad token, a parameter that does
    not parse) after a generator dependency has started, that generator is closed with the error at once. Without
    it the request's session (on SQLite holding the write lock since BEGIN IMMEDIATE) or an export slot stays
    taken until the garbage collector finds it, and every other write waits and answers 503."""
    cleanup_group = DependencyCleanupGroup()
    try:
        for batch in self.dependency_batches:
            for dependency in sorted(batch, key=lambda d: d.key):  # one at a time: no half-finished siblings
                await resolve_dependency(dependency, connection, kwargs, cleanup_group)
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the generators re-raise `exc`: it is raised below anyway
            await cleanup_group.close(exc)
        raise
    return cleanup_group


KwargsModel.resolve_dependencies = _resolve_dependencies  # type: ignore[method-assign]


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def provide_actor(state: State, request: Request[Any, Any, Any], db: NamedDependency[AsyncSession]) -> Actor:
    try:
        return await TokenService(db).resolve(bearer_token(request), state.settings.admin_token)
    except LookupError:
        raise NotAuthenticated("The token is unknown, expired or revoked, or its owner is deactivated.") from None


def requires_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for writes: answer 401 before reading the body when no bearer token is sent."""
    if bearer_token(connection) is None:
        raise NotAuthorizedException(
            "This needs a token: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="rpabank"'},
        )


def writes_need_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard of the API's controllers: a write (any method but GET, HEAD and OPTIONS) needs a token, so that no
    write handler can go without one."""
    if isinstance(connection, Request) and connection.method not in READ_METHODS:
        requires_token(connection, handler)


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_indexer(state: State) -> Indexer:
    indexer: Indexer = state.indexer
    return indexer


def provide_codebank(settings: NamedDependency[Settings]) -> CodebankConfig:
    return settings.codebank()


def _with_session(service: Callable[[AsyncSession], object]) -> Provide:
    """A service made from the request's session alone."""

    def provide(db: NamedDependency[AsyncSession]) -> object:
        return service(db)

    return Provide(provide, sync_to_thread=False)


def _with_codebank(service: Callable[[AsyncSession, CodebankConfig], object]) -> Provide:
    """A code bank service: the request's session and the code bank's configuration."""

    def provide(db: NamedDependency[AsyncSession], codebank: NamedDependency[CodebankConfig]) -> object:
        return service(db, codebank)

    return Provide(provide, sync_to_thread=False)


def provide_benefit_service(db: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> BenefitService:
    return BenefitService(db, settings.benefits)


def provide_run_service(db: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> RunService:
    return RunService(db, settings.benefits)


def provide_webhook_service(db: NamedDependency[AsyncSession], settings: NamedDependency[Settings]) -> WebhookService:
    return WebhookService(db, settings.webhook_allow_private)


# The services made from the request's session alone.
SESSION_SERVICES: dict[str, Callable[[AsyncSession], object]] = {
    "process_service": ProcessService,
    "adoption_service": AdoptionService,
    "municipality_service": MunicipalityService,
    "token_service": TokenService,
    "user_service": UserService,
    "idea_service": IdeaService,
    "export_service": ExportService,
    "reuse_service": ReuseService,
    "follow_service": FollowService,
    "notification_service": NotificationService,
    "comment_service": CommentService,
    "document_service": DocumentService,
}

DEPENDENCIES = {
    "db": Provide(provide_db),
    "actor": Provide(provide_actor),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "indexer": Provide(provide_indexer, sync_to_thread=False),
    "codebank": Provide(provide_codebank, sync_to_thread=False),
    **{name: _with_session(service) for name, service in SESSION_SERVICES.items()},
    "benefit_service": Provide(provide_benefit_service, sync_to_thread=False),
    "run_service": Provide(provide_run_service, sync_to_thread=False),
    "webhook_service": Provide(provide_webhook_service, sync_to_thread=False),
    "bot_service": _with_codebank(BotService),
    "principle_service": _with_codebank(PrincipleService),
}

# The types handlers name their dependencies by (`process_service: ProcessServiceDep`).
DbDep = NamedDependency[AsyncSession]
ActorDep = NamedDependency[Actor]
SettingsDep = NamedDependency[Settings]
IndexerDep = NamedDependency[Indexer]
CodebankDep = NamedDependency[CodebankConfig]
ProcessServiceDep = NamedDependency[ProcessService]
AdoptionServiceDep = NamedDependency[AdoptionService]
MunicipalityServiceDep = NamedDependency[MunicipalityService]
TokenServiceDep = NamedDependency[TokenService]
UserServiceDep = NamedDependency[UserService]
IdeaServiceDep = NamedDependency[IdeaService]
ExportServiceDep = NamedDependency[ExportService]
ReuseServiceDep = NamedDependency[ReuseService]
BenefitServiceDep = NamedDependency[BenefitService]
RunServiceDep = NamedDependency[RunService]
BotServiceDep = NamedDependency[BotService]
PrincipleServiceDep = NamedDependency[PrincipleService]
FollowServiceDep = NamedDependency[FollowService]
NotificationServiceDep = NamedDependency[NotificationService]
CommentServiceDep = NamedDependency[CommentService]
DocumentServiceDep = NamedDependency[DocumentService]
WebhookServiceDep = NamedDependency[WebhookService]
