"""Telling people: who hears of a change (followers, and editors of the municipalities that run it), their
notifications, the e-mail job that sends them, and the outbound webhooks that integrations subscribe to.

A domain calls :func:`notify` and :func:`dispatch` inside the transaction of the change: the notifications, the
e-mail job and the webhook deliveries are written with it, or not at all. Sending happens later, in a background
job (service.jobs), never in the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Follow, Notification, NotificationPreference, User, Webhook, WebhookAttempt
from core.actors import Actor
from core.db import utcnow
from core.errors import Invalid
from core.jobs import enqueue

FOLLOW_KINDS = ("process", "bot", "municipality")
EMAIL_MODES = ("off", "immediate", "daily")
DEFAULT_EMAIL = "immediate"
EMAIL_JOB = "email"  # key email:<user id>: sends the person's unsent notifications
WEBHOOK_JOB = "webhook"  # key webhook:<attempt id>
WEBHOOK_EVENTS = ("process.changed", "process.adopted", "bot.version", "comment.created", "document.added")

# Danish labels of the notification kinds (the pages, the feed and the e-mails use them)
KIND_LABELS = {
    "process_changed": "Proces ændret",
    "adopted": "Ny anvendelse",
    "bot_version": "Ny version",
    "comment": "Ny kommentar",
    "document": "Nyt dokument",
    "benefits_missing": "Gevinsttal mangler",
}


def require_person(actor: Actor) -> int:
    """The person behind the caller: follows, notifications and comments belong to people."""
    actor.require_authenticated()
    if actor.user_id is None:
        raise Invalid(
            "Following, notifications and comments belong to a person, and this token has none behind it "
            "(a bootstrap token). Sign in, or use a personal token.",
            field="token",
        )
    return actor.user_id


@dataclass(frozen=True)
class Event:
    """Something that happened, for the people who follow `targets` (and editors of `auto_codes`)."""

    kind: str  # a key of KIND_LABELS
    title: str
    url: str
    targets: Sequence[tuple[str, str]]  # (follow kind, id) pairs whose followers hear of it
    body: str = ""
    # municipalities whose editors follow `auto_target` without asking (their own adoptions)
    auto_codes: Sequence[str] = ()
    auto_target: tuple[str, str] | None = None
    private_to: str | None = None  # only people of this municipality (and admins) may hear of it
    exclude_user: int | None = None  # who caused it
    key: str | None = None  # at most one notification per person with this key
    webhook: tuple[str, dict[str, Any]] | None = None  # (event name, payload) for outbound webhooks
    webhook_codes: Sequence[str] = field(default=())  # municipalities whose webhooks hear of it


async def recipients(session: AsyncSession, event: Event) -> list[User]:
    """The active people who should hear of `event`: explicit followers of its targets, and editors of its
    `auto_codes` who have not unfollowed `auto_target`; never its author; private events only inside."""
    ids: set[int] = set()
    if event.targets:
        rows = await session.scalars(
            select(Follow.user_id).where(  # one (kind, target) test each: SQLite reads no index for a row-value IN
                or_(*(and_(Follow.kind == kind, Follow.target == target) for kind, target in event.targets)),
                Follow.muted.is_(False),
            )
        )
        ids.update(rows.all())
    if event.auto_codes and event.auto_target:
        kind, target = event.auto_target
        muted = select(Follow.user_id).where(Follow.kind == kind, Follow.target == target, Follow.muted.is_(True))
        rows = await session.scalars(
            select(User.id).where(
                User.role == "editor", User.municipality_code.in_(list(event.auto_codes)), User.id.not_in(muted)
            )
        )
        ids.update(rows.all())
    ids.discard(event.exclude_user or -1)
    if not ids:
        return []
    stmt = select(User).where(User.id.in_(ids), User.active.is_(True)).order_by(User.id)
    if event.private_to:
        stmt = stmt.where(or_(User.role == "admin", User.municipality_code == event.private_to))
    return list((await session.scalars(stmt)).all())


async def email_modes(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    rows = await session.execute(
        select(NotificationPreference.user_id, NotificationPreference.email).where(
            NotificationPreference.user_id.in_(list(user_ids))
        )
    )
    return {uid: mode for uid, mode in rows.all()}


async def notify(session: AsyncSession, event: Event) -> int:
    """Write the notifications of `event` (and queue their e-mails and webhook deliveries). The count."""
    people = await recipients(session, event)
    if event.key and people:
        have = await session.scalars(
            select(Notification.user_id).where(
                Notification.key == event.key, Notification.user_id.in_([p.id for p in people])
            )
        )
        done = set(have.all())
        people = [p for p in people if p.id not in done]
    modes = await email_modes(session, (p.id for p in people))
    now = utcnow()
    for person in people:
        session.add(
            Notification(
                user_id=person.id,
                kind=event.kind,
                title=event.title[:300],
                body=event.body,
                url=event.url,
                key=event.key,
                created_at=now,
            )
        )
        if person.email and modes.get(person.id, DEFAULT_EMAIL) == "immediate":
            await enqueue(session, EMAIL_JOB, f"{EMAIL_JOB}:{person.id}", {"user_id": person.id})
    await session.flush()
    if event.webhook:
        await dispatch(session, *event.webhook, codes=event.webhook_codes, private_to=event.private_to)
    return len(people)


async def dispatch(
    session: AsyncSession, name: str, payload: dict[str, Any], *, codes: Sequence[str] = (), private_to: str | None
) -> int:
    """Queue a delivery of event `name` to every webhook that subscribed to it: the network's (an admin's) and
    those of municipalities in `codes`; a private event only to the network's and its own municipality's."""
    hooks = (await session.scalars(select(Webhook).order_by(Webhook.id))).all()
    count = 0
    for hook in hooks:
        if name not in hook.events and "*" not in hook.events:
            continue
        if hook.municipality_code is not None:
            if private_to is not None and hook.municipality_code != private_to:
                continue
            if private_to is None and hook.municipality_code not in codes:
                continue
        attempt = WebhookAttempt(
            webhook_id=hook.id,
            event=name,
            payload={"event": name, "at": utcnow().isoformat(), **payload},
            status="pending",
            attempts=0,
        )
        session.add(attempt)
        await session.flush()
        await enqueue(session, WEBHOOK_JOB, f"{WEBHOOK_JOB}:{attempt.id}", {"attempt": attempt.id})
        count += 1
    return count


def process_event_codes(owner: str, adopters: Iterable[str]) -> list[str]:
    """The municipalities a process's events concern: its owner and those that run it."""
    return list(dict.fromkeys([owner, *adopters]))


def unsent_for(user_id: int) -> Any:
    """The condition for a person's notifications that have not been e-mailed yet."""
    return and_(Notification.user_id == user_id, Notification.emailed_at.is_(None))
