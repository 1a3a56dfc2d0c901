"""Between the event loop and a worker thread: blocking code (a workbook writer, a search backend's rebuild) that
consumes an async stream of chunks read from the database, one chunk at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def blocking_iter(chunks: AsyncIterator[Sequence[T]], loop: asyncio.AbstractEventLoop) -> Iterator[T]:
    """The items of an async stream of chunks, for blocking code in a worker thread: each chunk is fetched on
    `loop` (where the database session lives) while the thread waits, so only one chunk is held at a time."""

    async def next_chunk() -> Sequence[T]:
        return await anext(chunks)

    while True:
        try:
            chunk = asyncio.run_coroutine_threadsafe(next_chunk(), loop).result()
        except StopAsyncIteration:
            return
        yield from chunk
