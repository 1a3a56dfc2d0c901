"""API tokens, kept only as SHA-256 hashes.

A personal token belongs to a person: it acts as them, never with more than their role (a narrower role may be
asked for), stops when it expires, is revoked, or the person is deactivated. A bootstrap token, made by the CLI
before anyone has signed in, stands alone with the role and municipality it was made with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import ApiToken, Municipality, User
from catalogue.schemas import TokenCreate, TokenRead
from catalogue.users import user_actor
from core.actors import ANONYMOUS, Actor, narrower_role, role_rank
from core.db import utcnow
from core.errors import Forbidden, Invalid, NotFound

TOKEN_PREFIX = "rpab_"
ADMIN_TOKEN_NAME = "admin (RPABANK_ADMIN_TOKEN)"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_read(t: ApiToken, owner: str | None = None) -> TokenRead:
    read = msgspec.convert(t, TokenRead, from_attributes=True)
    read.owner, read.follows_owner = owner, t.user_id is not None and not t.narrowed
    return read


class TokenService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, role: str, municipality: str | None, name: str | None, expires_at: dt.datetime | None = None
    ) -> tuple[str, TokenRead]:
        """A bootstrap token (the CLI's): (the secret, shown once; its record)."""
        if role not in ("admin", "editor", "reader"):
            raise Invalid("role must be 'admin', 'editor' or 'reader'.", field="role")
        if role == "editor" and not municipality:
            raise Invalid("An editor token needs --municipality CODE.", field="municipality")
        if role == "admin" and municipality:
            raise Invalid("An admin token is not bound to a municipality.", field="municipality")
        if municipality and await self.session.get(Municipality, municipality) is None:
            raise Invalid(f"No municipality with code {municipality!r}.", field="municipality")
        name = (name or f"{role} {municipality or ''}").strip()
        return await self._add(
            ApiToken(name=name, role=role, municipality_code=municipality, expires_at=expires_at, narrowed=False)
        )

    async def create_for(self, actor: Actor, data: TokenCreate) -> tuple[str, TokenRead]:
        """A personal token for the caller itself, never with more than the caller's own role."""
        actor.require_authenticated()
        role = data.role or actor.role
        if role_rank(role) > role_rank(actor.role):
            raise Forbidden(f"A token cannot have more rights than you: you are {actor.role}, not {role}.")
        if data.expires_at is not None:
            if data.expires_at.tzinfo is None:
                raise Invalid("expires_at: give a time zone, e.g. 2026-12-31T23:59:00+01:00.", field="expires_at")
            if data.expires_at <= utcnow():
                raise Invalid("expires_at: the time has already passed.", field="expires_at")
        municipality = None if role == "admin" else actor.municipality
        token = ApiToken(
            name=data.name.strip(),
            role=role,
            municipality_code=municipality,
            user_id=actor.user_id,
            expires_at=data.expires_at,
            narrowed=data.role is not None and data.role != actor.role,
        )
        return await self._add(token, owner=actor.name if actor.user_id is not None else None)

    async def _add(self, record: ApiToken, owner: str | None = None) -> tuple[str, TokenRead]:
        """Stores a new token, its secret made here: (the secret, shown once; its record)."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record.token_hash = hash_token(secret)
        record.created_at = utcnow()
        self.session.add(record)
        await self.session.flush()
        return secret, token_read(record, owner)

    async def all(self, user_id: int | None = None) -> list[TokenRead]:
        """Every token (or one person's), with the name of the person each belongs to."""
        stmt = select(ApiToken, User.name).outerjoin(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
        if user_id is not None:
            stmt = stmt.where(ApiToken.user_id == user_id)
        return [token_read(t, owner) for t, owner in (await self.session.execute(stmt)).all()]

    async def mine(self, actor: Actor) -> list[TokenRead]:
        """The caller's own tokens; an admin's list holds everyone's."""
        actor.require_authenticated()
        if actor.is_admin:
            return await self.all()
        if actor.user_id is None:
            return []  # a bootstrap token has no person behind it: `rpabank token list` shows them
        return await self.all(actor.user_id)

    async def revoke(self, token_id: int, actor: Actor | None = None) -> TokenRead:
        """Revoke a token: one's own, or any as an admin (`actor` None: the CLI)."""
        record = await self.session.get(ApiToken, token_id)
        mine = (
            record is not None and actor is not None and actor.user_id is not None and record.user_id == actor.user_id
        )
        if record is None or (actor is not None and not actor.is_admin and not mine):
            raise NotFound(f"You have no token with id {token_id}.")
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            await self.session.flush()
        return token_read(record)

    async def resolve(self, secret: str | None, admin_token: str | None = None) -> Actor:
        """The actor a bearer token stands for. An unknown, revoked or expired token, or one of a deactivated
        person, raises LookupError."""
        if not secret:
            return ANONYMOUS
        if admin_token and hmac.compare_digest(secret.encode(), admin_token.encode()):
            return Actor(role="admin", name=ADMIN_TOKEN_NAME, auth="admin-token")
        record = await self.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
        return await self.actor_of(record)

    async def resolve_id(self, token_id: int) -> Actor:
        """The actor of a token known by id (a page session signed in with a bootstrap token keeps only its id)."""
        return await self.actor_of(await self.session.get(ApiToken, token_id))

    async def actor_of(self, record: ApiToken | None) -> Actor:
        if record is None or record.revoked_at is not None:
            raise LookupError("unknown or revoked token")
        if record.expires_at is not None and record.expires_at <= utcnow():
            raise LookupError("expired token")
        if record.user_id is not None:
            user = await self.session.get(User, record.user_id)
            if user is None or not user.active:
                raise LookupError("the token's owner is deactivated")
            person = user_actor(user, "token")
            role = narrower_role(record.role, person.role) if record.narrowed else person.role
            return Actor(
                role=role,
                name=person.name,
                municipality=person.municipality,
                user_id=user.id,
                email=user.email,
                auth="token",
                token_id=record.id,
            )
        label = record.name if record.role == "admin" else f"{record.name} ({record.municipality_code})"
        return Actor(
            role=record.role, name=label, municipality=record.municipality_code, auth="token", token_id=record.id
        )
