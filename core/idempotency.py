"""Idempotency keys: a client that retries a POST with the same `Idempotency-Key` gets the first answer again
instead of a second write. A key is kept for a day, per caller (the hash of its credentials) and address.

The first request records the key as pending, in its own transaction, before it runs: a second request with the
same key meanwhile answers 409 (still running), whichever instance it reaches. The answer is stored when it is
not a server error; after a 5xx the key is forgotten, so the retry runs again (a 5xx means nothing was written).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, LargeBinary, String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow

KEEP = dt.timedelta(days=1)


class IdempotentRequest(Base):
    __tablename__ = "idempotent_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hash of caller, address and key
    body_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)  # None while the first request runs
    content_type: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


async def begin(session: AsyncSession, request_id: str, body_hash: str) -> IdempotentRequest | None:
    """Record a new key as pending (True: this request runs it). The answered or pending request it names,
    when the key was seen within a day."""
    await session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < utcnow() - KEEP))
    seen = await session.get(IdempotentRequest, request_id)
    if seen is not None:
        return seen
    try:
        async with session.begin_nested():
            session.add(IdempotentRequest(id=request_id, body_hash=body_hash, created_at=utcnow()))
    except IntegrityError:
        return await session.get(IdempotentRequest, request_id)
    return None


async def finish(session: AsyncSession, request_id: str, status: int, content_type: str | None, body: bytes) -> None:
    """Keep the answer (or forget the key after a server error, so that a retry runs)."""
    row = await session.get(IdempotentRequest, request_id)
    if row is None:
        return
    if status >= 500:
        await session.delete(row)
    else:
        row.status, row.content_type, row.body = status, content_type, body
    await session.flush()
