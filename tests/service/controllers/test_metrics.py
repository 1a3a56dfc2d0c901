"""`GET /metrics`: the Prometheus text format, with the app's metric families and labels."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from core.db import create_engine, session_factories
from core.jobs import Job
from service import __version__
from service.indexing import Indexer
from service.jobs import SYNC_BOT, JobRunner, enqueue_bot_sync
from service.metrics import REGISTRY
from service.settings import Settings
from tests.conftest import Api, process_body
from tests.service.test_observability import start_serve, stop


def families(text: str) -> dict[str, list[Sample]]:
    return {f.name: list(f.samples) for f in text_string_to_metric_families(text)}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(found)


async def scrape(api: Api) -> dict[str, list[Sample]]:
    r = await api.client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return families(r.text)


async def test_metrics_have_the_families_and_labels_after_requests(api: Api) -> None:
    before = await scrape(api)
    r = await api.post("/api/processes", process_body(), who="editor_253")
    assert r.status_code == 201, r.text
    process_id = r.json()["id"]
    for _ in range(3):
        assert (await api.get(f"/api/processes/{process_id}")).status_code == 200
    assert (await api.get("/api/processes/no-such-process")).status_code == 404
    assert (await api.get("/api/no-such-thing")).status_code == 404
    assert (await api.get("/api/search?q=attester")).status_code == 200
    after = await scrape(api)

    requests = after["rpabank_http_requests"]
    route = "/api/processes/{process_id}"  # the matched route's template
    total = "rpabank_http_requests_total"
    grew = value(requests, total, route=route, status="200") - value(
        before.get("rpabank_http_requests", []), total, route=route, status="200"
    )
    assert grew == 3
    assert value(requests, total, method="GET", route=route, status="404") >= 1
    assert value(requests, total, method="POST", route="/api/processes", status="201") >= 1
    assert value(requests, total, route="(unmatched)", status="404") >= 1
    routes = {s.labels["route"] for s in requests}
    assert f"/api/processes/{process_id}" not in routes  # templates, never raw paths
    assert "/metrics" not in routes  # scrapes are not counted

    latency = after["rpabank_http_request_duration_seconds"]
    buckets = [s for s in latency if s.name.endswith("_bucket") and s.labels["route"] == route]
    assert buckets and {"method", "route", "status", "le"} <= set(buckets[0].labels)
    assert value(latency, "rpabank_http_request_duration_seconds_count", route=route, status="200") >= 3

    search = after["rpabank_search_duration_seconds"]
    backends = {s.labels["backend"] for s in search if s.name.endswith("_count")}
    assert backends and value(search, "rpabank_search_duration_seconds_count") >= 1

    queue = after["rpabank_index_queue_depth"]
    assert queue[0].value >= 0
    assert after["rpabank_index_queue_oldest_age_seconds"][0].value >= 0
    assert "rpabank_index_queue_failing" in after
    assert {s.labels["status"] for s in after["rpabank_jobs"]} == {"queued", "running", "done", "failed"}
    assert after["rpabank_build_info"][0].labels == {"version": __version__}
    assert all(s.value == 1 for s in after["rpabank_metrics_read_ok"])


async def test_the_job_queue_is_read_at_scrape_time(api: Api) -> None:
    engine = create_engine(api.client.app.state.settings.effective_database_url)
    try:
        async with session_factories(engine)[1]() as session:
            session.add(Job(kind="nothing", key="nothing:1", payload={}, status="failed", attempts=5))
            await session.commit()
    finally:
        await engine.dispose()
    after = await scrape(api)
    assert value(after["rpabank_jobs"], "rpabank_jobs", status="failed") == 1


def _syncs(outcome: str) -> float:
    return REGISTRY.get_sample_value("rpabank_codebank_syncs_total", {"target": "bot", "outcome": outcome}) or 0.0


async def test_code_bank_sync_outcomes_are_counted_and_failures_logged(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(settings.effective_database_url)
    reads, writes = session_factories(engine)
    backend = settings.open_search()
    try:
        runner = JobRunner(writes, settings.codebank(), Indexer(backend, reads, writes))
        outcomes = iter([{"slug": "b", "sync_error": None}, {"slug": "c", "sync_error": "git: unreachable"}])

        async def pretend(payload: dict[str, Any]) -> dict[str, Any]:
            return next(outcomes)

        successes, failures = _syncs("success"), _syncs("failure")
        async with writes() as session:
            await enqueue_bot_sync(session, "no-such-bot")  # the real handler: the bot is unknown
            await session.commit()
        with caplog.at_level(logging.WARNING, logger="rpabank.jobs"):
            assert await runner.run_once()
        assert _syncs("failure") == failures + 1
        assert any("sync_bot" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)

        runner.handlers[SYNC_BOT] = pretend
        for slug in ("b", "c"):
            async with writes() as session:
                await enqueue_bot_sync(session, slug)
                await session.commit()
            assert await runner.run_once()
        assert _syncs("success") == successes + 1
        assert _syncs("failure") == failures + 2  # a sync that recorded an error is a failure too
    finally:
        backend.close()
        await engine.dispose()


def test_serve_with_workers_sums_the_metrics_of_all_workers(tmp_path: Path) -> None:
    """`rpabank serve --workers 2` sets up a multiprocess folder itself: every scrape, from whichever worker,
    counts the requests of both; the folder is removed when the server stops."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    process, base, _ = start_serve(tmp_path, "--workers", "2", TMPDIR=str(temp))
    try:
        assert [p.name for p in temp.iterdir() if p.name.startswith("rpabank-prometheus-")]
        for _ in range(12):  # a new connection each: the workers share them
            assert httpx.get(f"{base}/api/health/live").status_code == 200
        for _ in range(4):
            text = httpx.get(f"{base}/metrics").text
            samples = families(text)["rpabank_http_requests"]
            assert value(samples, "rpabank_http_requests_total", route="/api/health/live", status="200") == 12
        pids = {s.labels.get("pid") for s in families(text)["rpabank_http_requests"]}
        assert pids == {None}  # summed, not one series per process
    finally:
        stop(process)
    assert not [p for p in temp.iterdir() if p.name.startswith("rpabank-prometheus-")]
