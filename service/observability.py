"""Logs and request ids: every line of the app (loggers `rpabank.*`, `uvicorn.*`, `litestar.*`) goes to stderr,
as plain text or as JSON lines (`RPABANK_LOG_FORMAT=json`), at `RPABANK_LOG_LEVEL` (INFO by default).

Each HTTP request has an id: the client's `X-Request-ID` when it is sensible (printable ASCII, at most 200
characters), otherwise a new one. It is echoed in the response's `X-Request-ID` header and is on every line
logged while the request is handled (a context variable, read by a filter on the handler).

The request wrapper also times every request for the metrics (`service.metrics`); it wraps the whole app, so
that answers made before routing (404, 405) have an id and are counted too.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
import time
import uuid
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics import observe_request
from service.settings import LOG_FORMATS

REQUEST_ID_HEADER = b"x-request-id"
MAX_REQUEST_ID = 200
APP_LOGGERS = ("rpabank", "uvicorn", "litestar")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("rpabank_request_id", default=None)


# ---------------------------------------------------------------- logging


class RequestIdFilter(logging.Filter):
    """Puts the id of the request being handled (or None) on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request_id, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            entry["request_id"] = rid
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(rid)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.rid = getattr(record, "request_id", None) or "-"
        return super().format(record)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line is logged (a test runner may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Send the app's log lines to stderr. Idempotent: our one handler on the root logger is replaced, never
    added twice, however many apps a process makes. The root logger's own level is left alone (other libraries
    still log their warnings); the app's loggers get `level`."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, StderrHandler):
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    for name in APP_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())


# ---------------------------------------------------------------- request ids and request metrics


def valid_request_id(value: str) -> bool:
    return 0 < len(value) <= MAX_REQUEST_ID and all(" " <= c <= "~" for c in value) and bool(value.strip())


def incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name.lower() == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1").strip()
            if valid_request_id(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestContext:
    """ASGI wrapper around the whole app: sets the request id, echoes it, and times the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(scope)
        path = scope["path"]  # before routing: a mount (the static files) shortens it
        token = request_id.set(rid)
        status = 500  # when the app fails without answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers") or () if k.lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, rid.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
            elapsed = time.perf_counter() - started
            observe_request(str(scope.get("method") or "GET"), scope.get("path_template"), path, status, elapsed)


def instrument(app: Litestar) -> Litestar:
    """Wrap the app's ASGI handler (after routing errors are turned into answers, so 404s are seen too)."""
    app.asgi_handler = RequestContext(app.asgi_handler)
    return app
