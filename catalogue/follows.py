"""Following and notifications: a person follows a process, a bot or a municipality, hears of what happens
to it (catalogue.notify writes the notifications), reads them, chooses how e-mail comes, and may read them as a
feed. An editor follows their municipality's own adoptions without asking (and may unfollow one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.formulas import parse_period
from catalogue.models import Adoption, BenefitRecord, Follow, Notification, NotificationPreference, Process, User
from catalogue.notify import DEFAULT_EMAIL, EMAIL_MODES, FOLLOW_KINDS, Event, notify, require_person
from catalogue.schemas import FollowRead, NotificationList, NotificationPrefs, NotificationRead
from catalogue.services import MunicipalityService, ProcessService
from core.actors import Actor
from core.db import utcnow
from core.errors import Invalid, NotFound

NOTIFICATION_PAGE = 100


def notification_read(n: Notification) -> NotificationRead:
    return NotificationRead(
        id=n.id, kind=n.kind, title=n.title, url=n.url, created_at=n.created_at, read=n.read_at is not None
    )


def hash_feed_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FollowService:
    """Follows of processes and municipalities; the code bank's subclass knows bots too."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def target_title(self, actor: Actor, kind: str, target: str) -> str:
        """The title of what is followed; NotFound when the caller cannot see it."""
        if kind == "process":
            return (await ProcessService(self.session).get_model(actor, target)).title
        if kind == "municipality":
            return (await MunicipalityService(self.session).get_model(target)).name
        if kind not in FOLLOW_KINDS:
            raise Invalid(f"kind must be one of {', '.join(FOLLOW_KINDS)}.", field="kind")
        raise NotFound(f"No {kind} {target!r}.", field="id")

    async def _row(self, user_id: int, kind: str, target: str) -> Follow | None:
        return await self.session.get(Follow, (user_id, kind, target))

    async def follow(self, actor: Actor, kind: str, target: str) -> FollowRead:
        user_id = require_person(actor)
        title = await self.target_title(actor, kind, target)
        row = await self._row(user_id, kind, target)
        if row is None:
            row = Follow(user_id=user_id, kind=kind, target=target, muted=False, created_at=utcnow())
            self.session.add(row)
        row.muted = False
        await self.session.flush()
        return FollowRead(kind=kind, id=target, title=title, automatic=False)

    async def unfollow(self, actor: Actor, kind: str, target: str) -> None:
        """Stop following; for an automatic follow (one's municipality's adoption) a mute is kept."""
        user_id = require_person(actor)
        await self.target_title(actor, kind, target)
        row = await self._row(user_id, kind, target)
        if kind == "process" and await self._adopted_by_own(actor, target):
            if row is None:
                row = Follow(user_id=user_id, kind=kind, target=target, created_at=utcnow())
                self.session.add(row)
            row.muted = True
        elif row is not None:
            await self.session.delete(row)
        await self.session.flush()

    async def _adopted_by_own(self, actor: Actor, process_id: str) -> bool:
        if actor.role != "editor" or not actor.municipality:
            return False
        found = await self.session.scalar(
            select(Adoption.process_id).where(
                Adoption.process_id == process_id, Adoption.municipality_code == actor.municipality
            )
        )
        return found is not None

    async def following(self, actor: Actor, kind: str, target: str) -> bool:
        """Whether the caller hears of this (the "Følg" button's state)."""
        if actor.user_id is None:
            return False
        row = await self._row(actor.user_id, kind, target)
        if row is not None:
            return not row.muted
        return kind == "process" and await self._adopted_by_own(actor, target)

    async def mine(self, actor: Actor) -> list[FollowRead]:
        """What the caller follows: explicit follows, and (editors) their municipality's adoptions."""
        user_id = require_person(actor)
        rows = (
            await self.session.scalars(select(Follow).where(Follow.user_id == user_id).order_by(Follow.created_at))
        ).all()
        muted = {(r.kind, r.target) for r in rows if r.muted}
        out: list[FollowRead] = []
        for r in rows:
            if r.muted:
                continue
            try:
                title = await self.target_title(actor, r.kind, r.target)
            except NotFound:
                continue  # no longer visible to the caller, or gone
            out.append(FollowRead(kind=r.kind, id=r.target, title=title, automatic=False))
        if actor.role == "editor" and actor.municipality:
            explicit = {(f.kind, f.id) for f in out}
            auto = await self.session.execute(
                select(Process.id, Process.title)
                .join(Adoption, Adoption.process_id == Process.id)
                .where(Adoption.municipality_code == actor.municipality)
                .order_by(Process.title)
            )
            for pid, title in auto.all():
                if ("process", pid) not in explicit and ("process", pid) not in muted:
                    out.append(FollowRead(kind="process", id=pid, title=title, automatic=True))
        return out


class NotificationService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def unread(self, actor: Actor) -> int:
        if actor.user_id is None:
            return 0
        count = await self.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        )
        return int(count or 0)

    async def latest(self, actor: Actor, limit: int = NOTIFICATION_PAGE) -> NotificationList:
        user_id = require_person(actor)
        rows = (
            await self.session.scalars(
                select(Notification)
                .where(Notification.user_id == user_id)
                .order_by(Notification.created_at.desc(), Notification.id.desc())
                .limit(limit)
            )
        ).all()
        return NotificationList(unread=await self.unread(actor), items=[notification_read(n) for n in rows])

    async def mark_read(self, actor: Actor, ids: list[int] | None) -> NotificationList:
        """Mark the caller's notifications `ids` (all, when None) read; others' ids are ignored."""
        user_id = require_person(actor)
        stmt = (
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
        if ids is not None:
            stmt = stmt.where(Notification.id.in_(ids))
        await self.session.execute(stmt)
        return await self.latest(actor)

    async def _prefs(self, user_id: int) -> NotificationPreference:
        row = await self.session.get(NotificationPreference, user_id)
        if row is None:
            row = NotificationPreference(user_id=user_id, email=DEFAULT_EMAIL)
            self.session.add(row)
        return row

    async def preferences(self, actor: Actor) -> NotificationPrefs:
        user_id = require_person(actor)
        row = await self.session.get(NotificationPreference, user_id)
        return NotificationPrefs(email=row.email if row else DEFAULT_EMAIL, feed=bool(row and row.feed_token_hash))

    async def set_preferences(self, actor: Actor, email: str) -> NotificationPrefs:
        user_id = require_person(actor)
        if email not in EMAIL_MODES:
            raise Invalid(f"email must be one of {', '.join(EMAIL_MODES)}.", field="email")
        row = await self._prefs(user_id)
        row.email = email
        await self.session.flush()
        return await self.preferences(actor)

    async def new_feed_token(self, actor: Actor) -> str:
        """A new secret for the caller's Atom feed (the old one stops working). Shown once."""
        user_id = require_person(actor)
        token = "feed_" + secrets.token_urlsafe(24)
        row = await self._prefs(user_id)
        row.feed_token_hash = hash_feed_token(token)
        await self.session.flush()
        return token

    async def feed(self, token: str) -> tuple[User, list[NotificationRead]]:
        """The person and newest notifications of a feed token; NotFound for an unknown one."""
        row = await self.session.scalar(
            select(NotificationPreference).where(NotificationPreference.feed_token_hash == hash_feed_token(token))
        )
        user = await self.session.get(User, row.user_id) if row else None
        if user is None or not user.active:
            raise NotFound("No such feed.")
        items = (
            await self.session.scalars(
                select(Notification)
                .where(Notification.user_id == user.id)
                .order_by(Notification.created_at.desc(), Notification.id.desc())
                .limit(NOTIFICATION_PAGE)
            )
        ).all()
        return user, [notification_read(n) for n in items]

    async def check_missing_benefits(self, today: dt.date) -> int:
        """Tell a municipality's editors when last month's benefit figures are missing for an adoption in
        operation (once per adoption and month). The number of notifications written."""
        first = today.replace(day=1)
        month_end = first - dt.timedelta(days=1)
        last_month = month_end.strftime("%Y-%m")
        adoptions = (
            await self.session.execute(
                select(Adoption, Process)
                .join(Process, Process.id == Adoption.process_id)
                .where(Adoption.status == "operation")
                .order_by(Adoption.municipality_code, Process.title)
            )
        ).all()
        written = 0
        for adoption, process in adoptions:
            if adoption.live_on and adoption.live_on > month_end:
                continue
            periods = (
                await self.session.scalars(
                    select(BenefitRecord.period).where(
                        BenefitRecord.process_id == adoption.process_id,
                        BenefitRecord.municipality_code == adoption.municipality_code,
                    )
                )
            ).all()
            if any(_covers(p, month_end) for p in periods):
                continue
            written += await notify(
                self.session,
                Event(
                    kind="benefits_missing",
                    title=f"Gevinsttal for {last_month} mangler: {process.title}",
                    url=f"/processes/{process.id}",
                    targets=[],
                    auto_codes=[adoption.municipality_code],
                    auto_target=("benefits", process.id),
                    private_to=adoption.municipality_code,
                    key=f"benefits_missing:{process.id}:{adoption.municipality_code}:{last_month}",
                ),
            )
        return written


def _covers(period: str, day: dt.date) -> bool:
    """Whether a stored period (a year, a quarter or a month) includes the month of `day`."""
    p = parse_period(period)
    return p.year == day.year and p.first_month <= day.month < p.first_month + p.months
