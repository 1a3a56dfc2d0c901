"""People: who signs in, their municipality and role, and the actor a signed-in person stands for.

A person is found by the provider's issuer and subject (stable across renames); a first sign-in creates them,
later sign-ins update name and e-mail (and the role, while the provider's groups decide it). An admin may set
role, municipality and active by hand; deactivating ends the person's sessions and tokens at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import msgspec
from msgspec import UnsetType
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import ApiToken, Municipality, PageSession, User
from catalogue.schemas import UserRead, UserUpdate
from core.actors import Actor
from core.db import utcnow
from core.errors import Invalid, NotFound


@dataclass(frozen=True, slots=True)
class Identity:
    """What a sign-in says about a person."""

    issuer: str
    subject: str
    name: str
    email: str | None
    municipality: str | None  # None: it could not be told from the claims
    role: str  # from the provider's groups: "admin", "editor" or "reader"


class NoMunicipality(Exception):
    """A person signed in, but nothing tells which municipality they belong to (and no admin has said)."""

    def __init__(self, user: User) -> None:
        super().__init__(user.email or user.name)
        self.user = user


def user_read(u: User) -> UserRead:
    return msgspec.convert(u, UserRead, from_attributes=True)


def user_actor(u: User, auth: str) -> Actor:
    return Actor(role=u.role, name=u.name, municipality=u.municipality_code, user_id=u.id, email=u.email, auth=auth)


class UserService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sign_in(self, identity: Identity) -> User:
        """The person behind a verified sign-in, created or updated. Raises NoMunicipality (after recording the
        person, so that an admin can give them a municipality) when neither the claims nor an admin say which
        municipality they belong to; admins need none."""
        user = await self.session.scalar(
            select(User).where(User.issuer == identity.issuer, User.subject == identity.subject)
        )
        now = utcnow()
        if user is None:
            user = User(issuer=identity.issuer, subject=identity.subject, role=identity.role, role_source="groups")
            user.session_epoch, user.active, user.created_at = 0, True, now
            self.session.add(user)
        user.name, user.email = identity.name, identity.email
        if user.role_source == "groups":
            user.role = identity.role
        if identity.municipality and await self.session.get(Municipality, identity.municipality) is not None:
            user.municipality_code = identity.municipality
        user.last_login_at = now
        await self.session.flush()
        if user.municipality_code is None and user.role != "admin":
            raise NoMunicipality(user)
        return user

    async def actor(self, user_id: int, epoch: int, auth: str = "session") -> Actor | None:
        """The signed-in person of a session, or None when they were deactivated or their sessions ended."""
        user = await self.session.get(User, user_id)
        if user is None or not user.active or user.session_epoch != epoch:
            return None
        return user_actor(user, auth)

    async def all(self, actor: Actor) -> list[UserRead]:
        actor.require_admin("list people")
        users = await self.session.scalars(select(User).order_by(User.name, User.id))
        return [user_read(u) for u in users]

    async def get(self, actor: Actor, user_id: int) -> User:
        actor.require_admin("change people")
        user = await self.session.get(User, user_id)
        if user is None:
            raise NotFound(f"No person with id {user_id}.")
        return user

    async def update(self, actor: Actor, user_id: int, data: UserUpdate) -> UserRead:
        user = await self.get(actor, user_id)
        if isinstance(data.role, str) and data.role != user.role:
            user.role, user.role_source = data.role, "admin"
        if not isinstance(data.municipality, UnsetType):
            if data.municipality and await self.session.get(Municipality, data.municipality) is None:
                raise Invalid(f"No municipality with code {data.municipality!r}.", field="municipality")
            user.municipality_code = data.municipality
        if isinstance(data.active, bool) and data.active != user.active:
            if actor.user_id == user.id and not data.active:
                raise Invalid("You cannot deactivate yourself.", field="active")
            user.active = data.active
            if not data.active:  # every session and token of theirs ends now
                user.session_epoch += 1
                await self.session.execute(
                    update(PageSession)
                    .where(PageSession.user_id == user.id, PageSession.ended_at.is_(None))
                    .values(ended_at=utcnow())
                )
                await self.session.execute(
                    update(ApiToken)
                    .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                    .values(revoked_at=utcnow())
                )
        await self.session.flush()
        return user_read(user)


# ---------------------------------------------------------------- signed-in browsers


def _session_key(sid: str) -> str:
    return hashlib.sha256(sid.encode("ascii")).hexdigest()


async def start_session(session: AsyncSession, user_id: int | None) -> str:
    """A new signed-in browser: the random id its cookie carries (only its hash is kept)."""
    sid = secrets.token_urlsafe(32)
    session.add(PageSession(id=_session_key(sid), user_id=user_id, created_at=utcnow()))
    await session.flush()
    return sid


async def session_alive(session: AsyncSession, sid: object) -> bool:
    if not isinstance(sid, str) or not sid:
        return False
    row = await session.get(PageSession, _session_key(sid))
    return row is not None and row.ended_at is None


async def end_session(session: AsyncSession, sid: object) -> None:
    """Sign a browser out: its cookie, even a copy of it, no longer signs anyone in."""
    if isinstance(sid, str) and sid:
        row = await session.get(PageSession, _session_key(sid))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
            await session.flush()
