"""Several instances on one PostgreSQL: real `rpabank serve` processes, started by the test, not test clients.

They share the database (and through it the search, the jobs and the leases) and a data folder for the git
mirrors, as the production description has it. Skipped without PostgreSQL, except in CI.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text

from core.db import create_engine
from tests.conftest import (
    MUNICIPALITIES,
    PG_DEFAULT,
    SourceRepo,
    _pg_reachable,
    free_port,
    process_body,
    register_bot_sync,
)

ADMIN = "multi-instance-admin"
SECRET = "multi-instance-webhook"
INTERVAL_MINUTES = 0.1  # the scheduled sync: every 6 s
ROOT = Path(__file__).resolve().parents[2]


async def _sql(url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            result = await conn.execute(text(sql), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


class Cluster:
    def __init__(self, url: str, data_dir: Path, ports: list[int]) -> None:
        self.url = url
        self.data_dir = data_dir
        self.bases = [f"http://127.0.0.1:{p}" for p in ports]
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RPABANK_DATABASE_URL": self.url,
            "RPABANK_DATA_DIR": str(self.data_dir),
            "RPABANK_ADMIN_TOKEN": ADMIN,
            "RPABANK_WEBHOOK_SECRET": SECRET,
            "RPABANK_ALLOW_LOCAL_REPOS": "1",
            "RPABANK_SYNC_INTERVAL": str(INTERVAL_MINUTES),
            "RPABANK_SESSION_SECRET": "multi-instance-session-secret",
        }

    def start(self) -> None:
        for i, base in enumerate(self.bases):
            log = self.data_dir.parent / f"instance-{i}.log"
            self.logs.append(log)
            port = base.rsplit(":", 1)[1]
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "service.cli", "serve", "--port", port],
                    cwd=ROOT,
                    env=self.env(),
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for base, process in zip(self.bases, self.processes, strict=True):
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"{base} stopped: {self.log_text()}")
                try:
                    if httpx.get(f"{base}/api/health", timeout=2).status_code in (200, 503):
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{base} did not come up: {self.log_text()}")
                time.sleep(0.2)

    def log_text(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self.logs)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = os.environ.get("RPABANK_TEST_DATABASE_URL", PG_DEFAULT)
    problem = asyncio.run(_pg_reachable(base))
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable ({problem}); CI must test several instances on it")
        pytest.skip(f"several instances need PostgreSQL, which is not reachable here ({problem})")
    name = f"rpabank_multi_{uuid.uuid4().hex[:8]}"
    asyncio.run(_sql(base, f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    data = tmp_path_factory.mktemp("instances") / "data"
    data.mkdir()
    cluster = Cluster(url, data, [free_port() for _ in range(3)])
    cluster.start()  # three at once, on an empty database
    try:
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.stop()
        asyncio.run(_sql(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


def _search_ids(base: str, q: str) -> list[str]:
    r = httpx.get(f"{base}/api/search", params={"q": q, "type": "process"}, timeout=10)
    assert r.status_code == 200, r.text
    return [hit["id"] for hit in r.json()["hits"]]


def test_three_instances_on_an_empty_database_come_up_with_one_schema(cluster: Cluster) -> None:
    for base in cluster.bases:
        assert httpx.get(f"{base}/api/health", timeout=5).status_code == 200, cluster.log_text()
    versions = asyncio.run(_sql(cluster.url, "SELECT version_num FROM alembic_version"))
    assert len(versions) == 1
    assert "Traceback" not in cluster.log_text()


def test_a_write_through_one_instance_is_searchable_on_every_other_at_once(cluster: Cluster) -> None:
    a, b, c = cluster.bases
    for m in MUNICIPALITIES:
        httpx.post(f"{a}/api/municipalities", json=m, headers=_auth(), timeout=10)
    body = process_body("Udbetaling af helbredstillæg til pensionister", owner_municipality="253")
    created = httpx.post(f"{a}/api/processes", json=body, headers=_auth(), timeout=10)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert pid in _search_ids(b, "helbredstillæg")
    assert pid in _search_ids(c, "helbredstillaeg")

    version = created.headers["ETag"]
    draft = httpx.patch(
        f"{a}/api/processes/{pid}",
        json={"visibility": "municipality"},
        headers={**_auth(), "If-Match": version},
        timeout=10,
    )
    assert draft.status_code == 200, draft.text
    assert pid not in _search_ids(b, "helbredstillæg")  # anonymous, on another instance, at once
    assert pid not in _search_ids(c, "helbredstillæg")

    assert httpx.delete(f"{a}/api/processes/{pid}", headers=_auth(), timeout=10).status_code == 204
    for base in cluster.bases:
        r = httpx.get(f"{base}/api/search", params={"q": "helbredstillæg"}, headers=_auth(), timeout=10)
        assert pid not in [hit["id"] for hit in r.json()["hits"]]


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_one_webhook_sent_to_two_instances_at_once_fetches_once(cluster: Cluster, tmp_path: Path) -> None:
    a, b, _ = cluster.bases
    source = SourceRepo(tmp_path / "origin" / "webhook-robot")
    source.commit({"README.md": "# Webhook-robotten\n", "src/main.py": "def start():\n    pass\n"})
    job = register_bot_sync(httpx.Client(base_url=a, timeout=60), source.url, token=ADMIN)
    assert job["status"] == "done", job
    slug = job["bot"]
    source.commit({"src/ny.py": "def ny_funktion_fra_push():\n    pass\n"}, "push")
    body = json.dumps({"ref": "refs/heads/main", "repository": {"clone_url": source.url}}).encode()
    headers = {"X-Hub-Signature-256": _sign(body), "X-GitHub-Delivery": uuid.uuid4().hex}

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return list(
                await asyncio.gather(
                    client.post(f"{a}/api/hooks/git", content=body, headers=headers),
                    client.post(f"{b}/api/hooks/git", content=body, headers=headers),
                )
            )

    answers = asyncio.run(both())
    assert [r.status_code for r in answers] == [202, 202]
    assert sorted(len(r.json()["queued"]) for r in answers) == [0, 1]  # the other saw a repeated delivery
    deadline = time.monotonic() + 60
    while True:
        jobs = asyncio.run(
            _sql(
                cluster.url,
                "SELECT status FROM jobs WHERE key = :key AND created_at > now() - interval '1 minute' "
                "AND payload::text LIKE '%' || :slug || '%'",
                key=f"sync_bot:{slug}",
                slug=slug,
            )
        )
        bot = httpx.get(f"{a}/api/bots/{slug}", timeout=10).json()
        if bot["head"] == source.git("rev-parse", "HEAD"):
            break
        assert time.monotonic() < deadline, (jobs, bot)
        time.sleep(0.3)
    assert bot["sync_error"] is None
    mirror = cluster.data_dir / "mirrors" / f"{slug}.git"
    assert subprocess.run(["git", "-C", str(mirror), "fsck", "--no-progress"], capture_output=True).returncode == 0
    # code files go through the index queue, drained right after the sync's commit: found on every instance soon
    while True:
        r = httpx.get(f"{b}/api/search", params={"q": "ny_funktion_fra_push", "type": "code"}, timeout=10)
        if r.json()["total"] == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.json()["total"] == 1


def test_the_scheduled_sync_fetches_each_bot_once_per_interval(cluster: Cluster) -> None:
    """Three instances with a 6-second interval: per interval, one sync job per bot, whoever runs it."""
    window = 30.0
    time.sleep(window)
    rows = asyncio.run(
        _sql(
            cluster.url,
            "SELECT key, count(*) FROM jobs WHERE kind = 'sync_bot' AND created_at > now() - make_interval(secs => :s) "
            "GROUP BY key",
            s=window,
        )
    )
    assert rows, "the scheduled sync queued nothing"
    intervals = window / (INTERVAL_MINUTES * 60)
    for key, count in rows:
        assert intervals - 1.5 <= count <= intervals + 1, (key, count)


def test_reindex_while_six_clients_write_leaves_the_index_equal_to_the_database(cluster: Cluster) -> None:
    a, b, c = cluster.bases
    stop = time.monotonic() + 8

    async def writer(n: int) -> int:
        made = 0
        async with httpx.AsyncClient(timeout=30) as client:
            while time.monotonic() < stop:
                base = cluster.bases[(n + made) % 3]
                body = process_body(f"Skriver {n} proces {made} reindeksering", owner_municipality="259")
                r = await client.post(f"{base}/api/processes", json=body, headers=_auth())
                assert r.status_code in (201, 503), r.text
                made += 1
        return made

    async def run() -> None:
        reindex = asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "service.cli",
            "reindex",
            cwd=ROOT,
            env=cluster.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        writers = [asyncio.create_task(writer(n)) for n in range(6)]
        await asyncio.sleep(1)
        proc = await reindex
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out.decode(errors="replace")
        await asyncio.gather(*writers)

    asyncio.run(run())
    ids = {row[0] for row in asyncio.run(_sql(cluster.url, "SELECT id FROM processes WHERE title LIKE 'Skriver %'"))}
    r = httpx.get(
        f"{b}/api/search", params={"q": "reindeksering", "type": "process", "limit": 100}, headers=_auth(), timeout=10
    )
    total = r.json()["total"]
    found: set[str] = set()
    offset = 0
    while offset < total:
        page = httpx.get(
            f"{c}/api/search",
            params={"q": "reindeksering", "type": "process", "limit": 100, "offset": offset},
            headers=_auth(),
            timeout=10,
        ).json()
        found.update(hit["id"] for hit in page["hits"])
        offset += 100
    assert found == ids
