"""Availability: git work never holds up a request. Registering a bot from a host that stays silent, or a
repository with more files than allowed, answers 202 at once; the background job gives up early and leaves
nothing behind, and other clients' writes go on meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import Settings
from tests.conftest import Api, SourceRepo, code_bank_settings, process_body

PID = "indhentning-af-boerne-og-straffeattester"


@pytest.fixture
def settings(settings: Settings) -> Settings:  # type: ignore[override]
    """Local repositories allowed, at most 2,000 files a repository, 3 s to reach a host."""
    return dataclasses.replace(code_bank_settings(settings), max_repo_files=2_000, git_connect_timeout=3)


@pytest.fixture
def silent_host() -> Iterator[str]:
    """A host that accepts connections and never says a word (git alone would wait minutes for it)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.getsockname()[1]}/kommune/robot.git"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def many_files(path: Path, files: int) -> SourceRepo:
    """A repository whose head lists `files` paths, all of one small blob (cheap to make, like a git bomb)."""
    repo = SourceRepo(path)
    blob = repo.git("hash-object", "-w", "--stdin", input=b"x = 1\n")
    index = "".join(f"100644 {blob}\tfiler/{i // 1000}/fil_{i}.py\n" for i in range(files))
    repo.git("update-index", "--add", "--index-info", input=index.encode())
    repo.git("commit", "-q", "-m", "mange filer")
    return repo


async def _timed_patches(api: Api, rounds: int) -> list[float]:
    """PATCH one process `rounds` times (as another editor at work would), each answer's time in seconds."""
    url = f"/api/processes/{PID}"
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        etag = (await api.get(url)).headers["ETag"]
        r = await api.patch(url, {"summary": f"Opdateret {i}"}, who="editor_253", headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        times.append(time.perf_counter() - started)
        await asyncio.sleep(0.1)
    return times


async def test_writes_go_on_while_a_silent_host_and_a_huge_repository_are_registered(
    api: Api, silent_host: str, tmp_path: Path
) -> None:
    settings = api.client.app.state.settings
    huge = many_files(tmp_path / "huge", 5_000)
    assert (await api.post("/api/processes", process_body(), who="editor_253")).status_code == 201
    silent = await api.post("/api/bots", {"url": silent_host}, who="editor_253")
    bomb = await api.post("/api/bots", {"url": huge.url}, who="editor_376")
    assert silent.status_code == 202 and bomb.status_code == 202  # answered at once: the git work is a job
    assert silent.json()["bot"]["state"] == "registering"
    writes = asyncio.create_task(_timed_patches(api, 20))  # meanwhile another editor works
    silent_job = await api.wait_job(silent.json()["job"], who="editor_253")
    bomb_job = await api.wait_job(bomb.json()["job"], who="editor_376")
    times = await writes
    # the silent host holds its probe for 3 s: a write that waited for git work would take that long (a busy
    # machine stretches a write to a few tenths of a second, so the bound sits between the two)
    assert max(times) < 2.0, times
    assert silent_job["status"] == "failed" and "did not answer within 3 s" in silent_job["error"]
    assert bomb_job["status"] == "failed" and "more than 2,000 files" in bomb_job["error"]
    # a registration that failed leaves nothing: no bot, no mirror, no staging folder
    for answer in (silent, bomb):
        assert (await api.get(f"/api/bots/{answer.json()['bot']['slug']}")).status_code == 404
    assert [p.name for p in settings.codebank().mirrors.glob("*")] == []
