"""Request-scoped dependencies: one database session per request (committed on success, rolled back
on error) and the actor behind the bearer token."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.tokens import TokenService
from core.actors import Actor
from core.errors import NotAuthenticated

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
            if session.info.get("index_dirty"):
                await state.indexer.drain()  # failures stay queued and show on /api/health


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
        raise NotAuthenticated("The token is unknown or has been revoked.") from None


def requires_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for writes: answer 401 before reading the body when no bearer token is sent."""
    if bearer_token(connection) is None:
        raise NotAuthorizedException(
            "This needs a token: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="rpabank"'},
        )
