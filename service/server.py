"""Serving the app with uvicorn: in the command's own process (one worker), or under a lean supervisor of N.

Every accepted connection gets TCP_NODELAY (`NoDelayHTTP`). asyncio sets it by itself only on sockets made with
protocol IPPROTO_TCP; the listening socket uvicorn makes for several workers is `socket.socket(AF_INET)`
(protocol 0), so its connections kept Nagle's algorithm: a response written in two parts (headers, then body)
waited for the client's delayed ACK, about 40 ms on every small answer.

With several workers `rpabank serve` migrates the database, then replaces itself (exec, same process id) by
`python -m service.server`, the supervisor: it imports uvicorn and `service.logs`, not the app, so it does not
keep a copy of the app's modules beside its workers (113 → 27 MB resident). Each worker is a fresh interpreter
(uvicorn spawns them) that builds the app with `service.app:app_from_env`; the settings reach it through the
environment, and the workers' metrics are summed through a shared folder (`multiprocess_dir`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from uvicorn.protocols.http.h11_impl import H11Protocol

from service.logs import LOG_FORMATS, configure_logging

APP_FACTORY = "service.app:app_from_env"
# By import path, not the class: a worker imports this module under its own name (for the supervisor it is
# `__main__`), and so finds the same class.
HTTP_PROTOCOL = "service.server:NoDelayHTTP"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class NoDelayHTTP(H11Protocol):
    """uvicorn's HTTP/1.1 protocol (h11) with Nagle's algorithm off on every TCP connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # the connection may be gone already; h11 then sees that
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def uvicorn_options(host: str, port: int, log_level: str) -> dict[str, Any]:
    """What uvicorn is told, with one worker and with several."""
    return {
        "host": host,
        "port": port,
        "http": HTTP_PROTOCOL,
        "log_level": log_level.lower(),
        "log_config": None,  # the app's logging (service.logs) carries uvicorn's lines too
        "proxy_headers": True,
        "h11_max_incomplete_event_size": 256 * 1024,  # h11's 16 KiB would refuse a long search URL
    }


@contextlib.contextmanager
def multiprocess_dir() -> Iterator[str]:
    """`PROMETHEUS_MULTIPROC_DIR` for worker processes started inside: the one set, or a temporary folder
    (removed afterwards). Must be entered before the workers start: they read it when they import."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="rpabank-prometheus-")
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield folder
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def supervisor_command(host: str, port: int, workers: int, log_level: str, log_format: str) -> list[str]:
    """The supervisor imports from where this command did: `python -m service.cli` looked in the working folder
    first, the `rpabank` script does not, and then neither does the supervisor (`-P`; its workers import as it)."""
    from_working_folder = bool(sys.path) and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd()
    return [
        sys.executable,
        *([] if from_working_folder else ["-P"]),
        "-m",
        "service.server",
        f"--host={host}",
        f"--port={port}",
        f"--workers={workers}",
        f"--log-level={log_level}",
        f"--log-format={log_format}",
    ]


def become_supervisor(host: str, port: int, workers: int, log_level: str, log_format: str) -> NoReturn:
    """Replace this process by the supervisor of `workers` workers (the settings are in the environment)."""
    command = supervisor_command(host, port, workers, log_level, log_format)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)


def main(argv: Sequence[str] | None = None) -> int:
    """The supervisor: binds the socket, starts the workers, restarts one that dies, stops them on SIGTERM."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m service.server", description=main.__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default="text")
    args = parser.parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    with multiprocess_dir():
        uvicorn.run(
            APP_FACTORY, factory=True, workers=args.workers, **uvicorn_options(args.host, args.port, args.log_level)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
