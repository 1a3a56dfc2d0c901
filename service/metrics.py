"""Prometheus metrics (served on `GET /metrics` by `service.controllers.metrics`).

Counted as things happen: HTTP requests and their latency by route template (never the raw path) and status,
search latency by backend, code bank sync outcomes. Read at scrape time: the index queue, the job queue by
status, the build info.

Several worker processes: with `PROMETHEUS_MULTIPROC_DIR` set (before the process starts), prometheus-client
keeps the counts in files in that folder and a scrape of any worker reports the sum over all of them.
`rpabank serve --workers N` makes a temporary folder for this when the variable is unset
(`service.server.multiprocess_dir`).
A folder given by hand must be empty when the service starts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.jobs import Job
from search.documents import SearchQuery, SearchResult
from service import __version__
from service.indexing import Indexer
from service.server import MULTIPROC_ENV

log = logging.getLogger("rpabank.metrics")

EXCLUDED_PATHS = frozenset({"/metrics"})  # scrapes are not requests worth counting
UNMATCHED = "(unmatched)"  # requests no route took (404, 405): one label, whatever the path
JOB_STATUSES = ("queued", "running", "done", "failed")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "rpabank_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "rpabank_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status code",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
SEARCH_LATENCY = Histogram(
    "rpabank_search_duration_seconds",
    "Time a search backend took to answer a query, by backend",
    ["backend"],
    buckets=LATENCY_BUCKETS,
)
SEARCH_ERRORS = Counter("rpabank_search_errors", "Searches the backend failed to answer, by backend", ["backend"])
SYNCS = Counter(
    "rpabank_codebank_syncs",
    "Code bank sync jobs run, by target (bot, principles) and outcome (success, failure)",
    ["target", "outcome"],
)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


# ---------------------------------------------------------------- counted as things happen


def observe_request(method: str, route: str | None, path: str, status: int, seconds: float) -> None:
    if path in EXCLUDED_PATHS:
        return
    labels = {"method": method, "route": route or UNMATCHED, "status": str(status)}
    HTTP_REQUESTS.labels(**labels).inc()
    HTTP_LATENCY.labels(**labels).observe(seconds)


def backend_name(backend: Any) -> str:
    name = getattr(backend, "name", None)
    return name if isinstance(name, str) else type(backend).__name__


class TimedIndexer(Indexer):
    """The indexer, with each search timed by backend."""

    async def search(self, query: SearchQuery) -> SearchResult:
        backend = backend_name(self.backend)
        started = time.perf_counter()
        try:
            return await super().search(query)
        except Exception:
            SEARCH_ERRORS.labels(backend=backend).inc()
            raise
        finally:
            SEARCH_LATENCY.labels(backend=backend).observe(time.perf_counter() - started)


def count_sync(target: str, error: str | None) -> None:
    """One code bank sync job ended: `error` is None when it succeeded."""
    SYNCS.labels(target=target, outcome="failure" if error else "success").inc()


# ---------------------------------------------------------------- read at scrape time


def _gauge(name: str, documentation: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


def _age_seconds(oldest: str | None) -> float:
    if not oldest:
        return 0.0
    when = dt.datetime.fromisoformat(oldest)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (dt.datetime.now(dt.UTC) - when).total_seconds())


async def scrape_time_metrics(indexer: Indexer, sessions: async_sessionmaker[AsyncSession]) -> list[Metric]:
    """What is read from the database when scraped. A part that cannot be read is left out (and logged);
    `rpabank_metrics_read_ok` says which."""
    families: list[Metric] = [_gauge("rpabank_build_info", "The running version", 1, {"version": __version__})]
    read_ok = GaugeMetricFamily("rpabank_metrics_read_ok", "1 when this part was read at scrape time", labels=["part"])
    families.append(read_ok)
    try:
        pending = await indexer.pending()
    except Exception as exc:
        log.warning("metrics: the index queue could not be read: %s", exc)
        read_ok.add_metric(["index_queue"], 0)
    else:
        read_ok.add_metric(["index_queue"], 1)
        families.append(_gauge("rpabank_index_queue_depth", "Changes waiting to be indexed", pending["pending"]))
        families.append(
            _gauge("rpabank_index_queue_failing", "Queued changes whose indexing has failed", pending["failing"])
        )
        families.append(
            _gauge(
                "rpabank_index_queue_oldest_age_seconds",
                "Age of the oldest change waiting to be indexed (0 when none)",
                _age_seconds(pending["oldest_pending"]),
            )
        )
    try:
        async with sessions() as session:
            rows = (await session.execute(select(Job.status, func.count(Job.id)).group_by(Job.status))).all()
    except Exception as exc:
        log.warning("metrics: the job queue could not be read: %s", exc)
        read_ok.add_metric(["jobs"], 0)
    else:
        read_ok.add_metric(["jobs"], 1)
        counts = dict.fromkeys(JOB_STATUSES, 0) | {str(status): int(n) for status, n in rows}
        jobs = GaugeMetricFamily("rpabank_jobs", "Background jobs in the jobs table, by status", labels=["status"])
        for status, n in sorted(counts.items()):
            jobs.add_metric([status], n)
        families.append(jobs)
    return families


class _Fixed(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def exposition(scrape_time: Iterable[Metric]) -> bytes:
    """The Prometheus text format: this process's (or, multiprocess, all workers') metrics and `scrape_time`."""
    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    snapshot = CollectorRegistry()
    snapshot.register(_Fixed(scrape_time))
    return counted + generate_latest(snapshot)


async def render(indexer: Indexer, sessions: async_sessionmaker[AsyncSession]) -> bytes:
    families = await scrape_time_metrics(indexer, sessions)
    return await asyncio.to_thread(exposition, families)
