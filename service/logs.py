"""Log lines: every line of the app (loggers `rpabank.*`, `uvicorn.*`, `litestar.*`) goes to stderr, as plain
text or as JSON lines (`RPABANK_LOG_FORMAT=json`), at `RPABANK_LOG_LEVEL` (INFO by default), with the id of the
request being handled (set by `service.observability`).

Only the standard library: the supervisor of several workers (`service.server`) logs through it too, without
loading the app.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from typing import Any

LOG_FORMATS = ("text", "json")
APP_LOGGERS = ("rpabank", "uvicorn", "litestar")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("rpabank_request_id", default=None)


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
