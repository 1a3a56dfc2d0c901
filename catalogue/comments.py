"""Comments on processes (and, through the code bank's subclass, bots): written by people, readers too; Markdown
rendered by the one safe renderer; answers one level deep. Its author or an admin changes or removes one.
Writing a comment follows what it is about, so the writer hears of answers.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from catalogue.models import Comment, Follow, Municipality, Process
from catalogue.notify import Event, notify, process_event_codes, require_person
from catalogue.schemas import CommentCreate, CommentRead, CommentUpdate
from catalogue.services import ProcessService
from core.actors import Actor
from core.db import utcnow
from core.errors import Forbidden, Invalid, NotFound
from core.reads import read_from

COMMENT_KINDS = ("process", "bot")


class Target:
    """What a comment is about, as the comment needs it: title, page, who hears, who may see."""

    def __init__(
        self, kind: str, id: str, title: str, url: str, codes: Sequence[str] = (), private_to: str | None = None
    ) -> None:
        self.kind, self.id, self.title, self.url = kind, id, title, url
        self.codes, self.private_to = list(codes), private_to


class CommentService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def render(self, body: str) -> str:
        """The body as HTML. The code bank's subclass renders Markdown with the one safe renderer."""
        return "<p>" + html.escape(body) + "</p>"

    async def target(self, actor: Actor, kind: str, target_id: str) -> Target:
        """The target the caller may see; NotFound otherwise."""
        if kind == "process":
            p: Process = await ProcessService(self.session).get_model(actor, target_id)
            return Target(
                "process",
                p.id,
                p.title,
                f"/processes/{p.id}",
                process_event_codes(p.owner_municipality, (a.municipality_code for a in p.adoptions)),
                p.owner_municipality if p.visibility != "network" else None,
            )
        raise NotFound(f"No {kind} {target_id!r}.", field="id")

    async def _reads(self, rows: Sequence[Comment]) -> list[CommentRead]:
        codes = {c.municipality_code for c in rows if c.municipality_code}
        stmt = select(Municipality.code, Municipality.name).where(Municipality.code.in_(codes))
        names: dict[str, str] = {code: name for code, name in (await self.session.execute(stmt)).all()}
        return [
            read_from(
                CommentRead,
                c,
                parent=c.parent_id,
                author=c.author_name,
                municipality=c.municipality_code,
                municipality_name=names.get(c.municipality_code or ""),
                html=self.render(c.body),
                answers=[],
            )
            for c in rows
        ]

    async def for_target(self, actor: Actor, kind: str, target_id: str) -> list[CommentRead]:
        """The comments, oldest first, each with its answers."""
        await self.target(actor, kind, target_id)
        rows = (
            await self.session.scalars(
                select(Comment)
                .where(Comment.target_kind == kind, Comment.target_id == target_id)
                .order_by(Comment.created_at, Comment.id)
            )
        ).all()
        reads = await self._reads(rows)
        top = [r for r in reads if r.parent is None]
        by_id = {r.id: r for r in top}
        for r in reads:
            if r.parent is not None and r.parent in by_id:
                by_id[r.parent].answers.append(r)
        return top

    async def create(self, actor: Actor, kind: str, target_id: str, data: CommentCreate) -> CommentRead:
        user_id = require_person(actor)
        target = await self.target(actor, kind, target_id)
        if data.parent is not None:
            parent = await self.session.get(Comment, data.parent)
            if parent is None or (parent.target_kind, parent.target_id) != (kind, target_id):
                raise Invalid(f"parent: no comment {data.parent} here.", field="parent")
            if parent.parent_id is not None:
                raise Invalid("parent: answers go one level deep; answer the first comment.", field="parent")
        comment = Comment(
            target_kind=kind,
            target_id=target_id,
            parent_id=data.parent,
            user_id=user_id,
            author_name=actor.name,
            municipality_code=actor.municipality,
            body=data.body.strip() or data.body,
            created_at=utcnow(),
        )
        self.session.add(comment)
        await self.session.flush()
        await notify(
            self.session,
            Event(
                kind="comment",
                title=f"{actor.name} kommenterede {target.title}",
                body=comment.body,
                url=f"{target.url}#kommentar-{comment.id}",
                targets=[(kind, target_id)],
                auto_codes=target.codes,
                auto_target=(kind, target_id),
                private_to=target.private_to,
                exclude_user=user_id,
                webhook=("comment.created", {kind: target_id, "comment": comment.id, "author": actor.name}),
                webhook_codes=target.codes,
            ),
        )
        if await self.session.get(Follow, (user_id, kind, target_id)) is None:
            self.session.add(Follow(user_id=user_id, kind=kind, target=target_id, muted=False, created_at=utcnow()))
            await self.session.flush()
        return (await self._reads([comment]))[0]

    async def _own(self, actor: Actor, comment_id: int) -> Comment:
        user_id = require_person(actor) if not actor.is_admin else actor.user_id
        comment = await self.session.get(Comment, comment_id)
        if comment is None:
            raise NotFound(f"No comment {comment_id}.", field="id")
        await self.target(actor, comment.target_kind, comment.target_id)  # hidden target: 404
        if not actor.is_admin and comment.user_id != user_id:
            raise Forbidden("Only its author or an admin may change or remove a comment.")
        return comment

    async def update(self, actor: Actor, comment_id: int, data: CommentUpdate) -> CommentRead:
        comment = await self._own(actor, comment_id)
        comment.body = data.body.strip() or data.body
        comment.edited_at = utcnow()
        await self.session.flush()
        return (await self._reads([comment]))[0]

    async def delete(self, actor: Actor, comment_id: int) -> None:
        comment = await self._own(actor, comment_id)
        await self.session.delete(comment)  # its answers go with it (ON DELETE CASCADE)
        await self.session.flush()
