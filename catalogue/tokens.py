"""API tokens: created by the CLI, kept only as SHA-256 hashes, listed and revoked by id."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import ApiToken, Municipality
from catalogue.schemas import TokenRead
from core.actors import ANONYMOUS, Actor
from core.db import utcnow
from core.errors import Invalid, NotFound

TOKEN_PREFIX = "rpab_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_read(t: ApiToken) -> TokenRead:
    return TokenRead(
        id=t.id,
        name=t.name,
        role="admin" if t.role == "admin" else "editor",
        municipality=t.municipality_code,
        created_at=t.created_at,
        revoked_at=t.revoked_at,
    )


class TokenService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, role: str, municipality: str | None, name: str | None) -> tuple[str, TokenRead]:
        """A new token: (the secret, shown once; its record)."""
        if role not in ("admin", "editor"):
            raise Invalid("role must be 'admin' or 'editor'.", field="role")
        if role == "editor" and not municipality:
            raise Invalid("An editor token needs --municipality CODE.", field="municipality")
        if role == "admin" and municipality:
            raise Invalid("An admin token is not bound to a municipality.", field="municipality")
        if municipality and await self.session.get(Municipality, municipality) is None:
            raise Invalid(f"No municipality with code {municipality!r}.", field="municipality")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = ApiToken(
            name=(name or f"{role} {municipality or ''}").strip(),
            role=role,
            municipality_code=municipality,
            token_hash=hash_token(secret),
        )
        self.session.add(record)
        await self.session.flush()
        return secret, token_read(record)

    async def all(self) -> list[TokenRead]:
        return [token_read(t) for t in (await self.session.scalars(select(ApiToken).order_by(ApiToken.id))).all()]

    async def revoke(self, token_id: int) -> TokenRead:
        record = await self.session.get(ApiToken, token_id)
        if record is None:
            raise NotFound(f"No token with id {token_id}.")
        if record.revoked_at is None:
            record.revoked_at = utcnow()
            await self.session.flush()
        return token_read(record)

    async def resolve(self, secret: str | None, admin_token: str | None = None) -> Actor:
        """The actor a bearer token stands for. An unknown or revoked token raises LookupError."""
        if not secret:
            return ANONYMOUS
        if admin_token and hmac.compare_digest(secret.encode(), admin_token.encode()):
            return Actor(role="admin", name="admin (RPABANK_ADMIN_TOKEN)")
        record = await self.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
        if record is None or record.revoked_at is not None:
            raise LookupError("unknown or revoked token")
        label = record.name if record.role == "admin" else f"{record.name} ({record.municipality_code})"
        return Actor(role=record.role, name=label, municipality=record.municipality_code)
