"""Logs and request ids (service.logs, service.observability): stderr, text or JSON, the request id on each line."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from search.documents import SearchQuery, SearchResult
from service.app import create_app
from service.indexing import Indexer
from service.logs import JsonFormatter, RequestIdFilter, StderrHandler, request_id
from service.observability import valid_request_id
from service.settings import Settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_json_lines_carry_the_request_id_and_the_traceback() -> None:
    record = logging.LogRecord("rpabank.test", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
    try:
        raise ValueError("broken")
    except ValueError:
        record.exc_info = sys.exc_info()
    token = request_id.set("req-1")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed here"
    assert entry["level"] == "ERROR" and entry["logger"] == "rpabank.test"
    assert entry["request_id"] == "req-1"
    assert entry["exc_type"] == "ValueError"
    assert "ValueError: broken" in entry["traceback"]


def test_request_ids_are_validated() -> None:
    assert valid_request_id("abc-123 / x")
    assert not valid_request_id("")
    assert not valid_request_id("   ")
    assert not valid_request_id("x" * 201)
    assert valid_request_id("x" * 200)
    assert not valid_request_id("tab\there")
    assert not valid_request_id("æøå")


def test_logging_is_configured_once_however_many_apps(tmp_path: Path) -> None:
    for fmt in ("text", "json", "json"):
        create_app(Settings(data_dir=tmp_path, log_format=fmt))
    ours = [h for h in logging.getLogger().handlers if isinstance(h, StderrHandler)]
    assert len(ours) == 1
    assert isinstance(ours[0].formatter, JsonFormatter)
    for name in ("rpabank", "uvicorn", "litestar"):  # (uvicorn sets its children's levels itself when it runs)
        assert logging.getLogger(name).level == logging.INFO


def test_log_settings_come_from_the_environment() -> None:
    settings = Settings.from_env({"RPABANK_LOG_LEVEL": "debug", "RPABANK_LOG_FORMAT": "JSON"})
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")
    assert Settings.from_env({}).log_level == "INFO" and Settings.from_env({}).log_format == "text"
    env = settings.to_env()
    assert env["RPABANK_LOG_LEVEL"] == "DEBUG" and env["RPABANK_LOG_FORMAT"] == "json"
    with pytest.raises(ValueError, match="RPABANK_LOG_FORMAT"):
        Settings.from_env({"RPABANK_LOG_FORMAT": "xml"})
    with pytest.raises(ValueError, match="RPABANK_LOG_LEVEL"):
        Settings.from_env({"RPABANK_LOG_LEVEL": "loud"})


async def test_the_request_id_is_echoed_or_generated(client: AsyncTestClient[Any]) -> None:
    r = await client.get("/api/health/live", headers={"X-Request-ID": "client-chosen-42"})
    assert r.headers["x-request-id"] == "client-chosen-42"
    r = await client.get("/api/health/live")
    generated = r.headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert (await client.get("/api/health/live")).headers["x-request-id"] != generated
    r = await client.get("/api/health/live", headers={"X-Request-ID": "x" * 201})
    assert len(r.headers["x-request-id"]) == 32  # too long: replaced
    # answers made before routing have one too, and pages as well as the API
    r = await client.get("/api/no-such-thing", headers={"X-Request-ID": "lost"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "lost"
    r = await client.get("/", headers={"X-Request-ID": "page"})
    assert r.headers["x-request-id"] == "page"
    assert r.headers.get_list("x-request-id") == ["page"]


@pytest.mark.parametrize("path", ["/api/search?q=robot", "/search?q=robot"])
async def test_an_unexpected_error_is_logged_with_its_traceback_and_request_id(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    async def broken(self: Indexer, query: SearchQuery) -> SearchResult:
        raise RuntimeError("the search engine fell over")

    app = create_app(dataclasses.replace(settings, log_format="json"))
    async with AsyncTestClient(app=app) as client:
        monkeypatch.setattr(Indexer, "search", broken)
        capsys.readouterr()
        r = await client.get(path, headers={"X-Request-ID": "req-500"})
        assert r.status_code == 500
        assert r.headers["x-request-id"] == "req-500"
        assert "fell over" not in r.text  # the client never sees it
    lines = _json_lines(capsys.readouterr().err)
    errors = [e for e in lines if e["level"] == "ERROR" and e.get("request_id") == "req-500"]
    assert errors, lines
    assert "unhandled error on GET" in errors[0]["message"]
    assert "RuntimeError: the search engine fell over" in errors[0]["traceback"]
    assert "Traceback (most recent call last)" in errors[0]["traceback"]


def start_serve(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    """A real `rpabank serve` on SQLite in `tmp_path`, its stderr to a file."""
    port = free_port()
    unwanted = ("RPABANK_DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "RPABANK_LOG_FORMAT", "RPABANK_LOG_LEVEL")
    inherited = {k: v for k, v in os.environ.items() if k not in unwanted}
    stderr = tmp_path / "stderr.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env={**inherited, "RPABANK_DATA_DIR": str(tmp_path / "data"), **env},
        stdout=subprocess.DEVNULL,
        stderr=stderr.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if process.poll() is not None:
            raise AssertionError(f"rpabank serve stopped: {stderr.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return process, base, stderr
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"rpabank serve did not come up: {stderr.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_serve_writes_json_log_lines_with_request_ids_to_stderr(tmp_path: Path) -> None:
    process, base, stderr = start_serve(tmp_path, RPABANK_LOG_FORMAT="json")
    try:
        r = httpx.get(f"{base}/api/health/live", headers={"X-Request-ID": "from-the-test"})
        assert r.headers["x-request-id"] == "from-the-test"
        generated = httpx.get(f"{base}/api/processes?q=robot").headers["x-request-id"]
        assert httpx.get(f"{base}/api/nothing-here").status_code == 404
    finally:
        stop(process)
    text = stderr.read_text()
    lines = text.splitlines()
    assert lines
    entries = [json.loads(line) for line in lines]  # every line is JSON
    by_id = {e.get("request_id"): e for e in entries if e["logger"] == "uvicorn.access"}
    assert "/api/health/live" in by_id["from-the-test"]["message"]
    assert "/api/processes" in by_id[generated]["message"]
    assert any("Started server process" in e["message"] for e in entries if e["logger"].startswith("uvicorn"))
