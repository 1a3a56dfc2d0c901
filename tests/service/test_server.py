"""Serving (service.server): Nagle's algorithm is off on every connection, with one worker and with several; the
supervisor of several workers is lean and every worker answers; a served app settles its start-up heap."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import http.client
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from litestar.testing import AsyncTestClient

from service.app import app_from_env, create_app
from service.cli import serve
from service.server import HTTP_PROTOCOL, supervisor_command
from service.settings import Settings
from tests.service.test_observability import start_serve, stop

SYS_PIDFD_GETFD = 438  # the same number on every architecture (Linux 5.6)


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hej"})


async def _nodelay_of_accepted(http: str, *, workers_socket: bool) -> list[int]:
    """TCP_NODELAY of the connections a uvicorn server accepted: on the socket uvicorn binds for several
    workers (`Config.bind_socket`, handed to each worker), or on the one it makes itself for one."""
    config = uvicorn.Config(hello, host="127.0.0.1", port=0, http=http, lifespan="off", log_config=None)
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)  # what `Server.serve` sets before `startup` (lifespan "off")
    sockets = [config.bind_socket()] if workers_socket else None
    await server.startup(sockets=sockets)
    try:
        listening = sockets[0] if sockets else server.servers[0].sockets[0]
        reader, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        writer.write(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        await writer.drain()
        assert (await reader.readuntil(b"hej")).startswith(b"HTTP/1.1 200")
        connections: Any = server.server_state.connections
        options = [
            c.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for c in connections
        ]
        writer.close()
        await writer.wait_closed()
        return options
    finally:
        await server.shutdown(sockets=sockets)


@pytest.mark.parametrize("workers_socket", [True, False], ids=["several workers", "one worker"])
async def test_connections_have_nagle_off(workers_socket: bool) -> None:
    options = await _nodelay_of_accepted(HTTP_PROTOCOL, workers_socket=workers_socket)
    assert len(options) == 1 and options[0] != 0


async def test_without_it_the_workers_socket_leaves_nagle_on() -> None:
    """Why NoDelayHTTP exists: uvicorn's socket for several workers has protocol 0, and asyncio sets TCP_NODELAY
    only on sockets of protocol IPPROTO_TCP. (Should uvicorn ever set it, this fails and the class can go.)"""
    assert await _nodelay_of_accepted("h11", workers_socket=True) == [0]


# ---------------------------------------------------------------- a real `rpabank serve --workers 2`


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return out


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _server_side(port: int, client_port: int) -> int:
    """The socket inode of the server's end of the connection from `client_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            if int(local.rsplit(":", 1)[1], 16) == port and int(remote.rsplit(":", 1)[1], 16) == client_port:
                return inode
    raise AssertionError(f"no server end of the connection from port {client_port}")


def _holder(pids: list[int], inode: int) -> tuple[int, int]:
    """(pid, fd) of the process among `pids` that holds the socket `inode`."""
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid, int(fd.name)
            except OSError:
                continue
    raise AssertionError(f"no worker holds socket {inode}")


def _get(conn: http.client.HTTPConnection, path: str) -> float:
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    assert response.status == 200, response.read()
    response.read()
    return (time.perf_counter() - started) * 1000


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen[bytes], int, list[int]]]:
    """A real `rpabank serve --workers 2` on an empty SQLite catalogue: (process, port, worker pids)."""
    process, base, _ = start_serve(tmp_path_factory.mktemp("workers"), "--workers", "2")
    try:
        deadline = time.monotonic() + 60
        while len(workers := [p for p in _children(process.pid) if "spawn_main" in _cmdline(p)]) < 2:
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        yield process, int(base.rsplit(":", 1)[1]), workers
    finally:
        stop(process)


def test_the_supervisor_is_lean_and_every_worker_answers(
    two_workers: tuple[subprocess.Popen[bytes], int, list[int]],
) -> None:
    process, port, workers = two_workers
    assert "-m service.server" in _cmdline(process.pid)  # `rpabank serve` became the supervisor (same pid)
    mapped = Path(f"/proc/{process.pid}/maps").read_text()  # the compiled parts of SQLAlchemy and msgspec (Litestar)
    assert "sqlalchemy" not in mapped and "msgspec" not in mapped
    assert all("sqlalchemy" in Path(f"/proc/{w}/maps").read_text() for w in workers)  # ...which the workers load
    seen: dict[int, int] = {}
    for _ in range(200):  # new connections until both workers have taken some: the kernel picks who accepts
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        _get(conn, "/api/health/live")
        pid, _fd = _holder(workers, _server_side(port, conn.sock.getsockname()[1]))
        seen[pid] = seen.get(pid, 0) + 1
        conn.close()
        if len(seen) == 2:
            break
    assert set(seen) == set(workers), seen


def test_every_worker_turns_nagle_off_on_its_connections(
    two_workers: tuple[subprocess.Popen[bytes], int, list[int]],
) -> None:
    """Read the option on the worker's own end of each connection (a copy of its descriptor, pidfd_getfd)."""
    _process, port, workers = two_workers
    libc = ctypes.CDLL(None, use_errno=True)
    checked: set[int] = set()
    for _ in range(200):
        with contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=30)) as conn:
            _get(conn, "/api/health/live")
            pid, fd = _holder(workers, _server_side(port, conn.sock.getsockname()[1]))
            pidfd = os.pidfd_open(pid)
            try:
                copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
                if copy < 0:
                    pytest.skip(f"cannot copy a worker's socket here (pidfd_getfd: {os.strerror(ctypes.get_errno())})")
            finally:
                os.close(pidfd)
            with socket.socket(fileno=copy) as theirs:
                assert theirs.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0, f"worker {pid}"
            checked.add(pid)
        if checked == set(workers):
            break
    assert checked == set(workers)


def test_small_answers_are_not_held_back_by_delayed_acks(
    two_workers: tuple[subprocess.Popen[bytes], int, list[int]],
) -> None:
    """A small answer is written in two parts (headers, body). With Nagle on, the body waited for the client's
    delayed ACK of the headers: 40 ms or more on each request of a kept-alive connection."""
    _process, port, _workers = two_workers
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        _get(conn, "/api/health/live")
        took = [_get(conn, "/api/health/live") for _ in range(20)]
    finally:
        conn.close()
    assert statistics.median(took) < 30, took


@pytest.mark.parametrize(
    ("first", "safe"), [(os.getcwd(), False), ("", False), ("/usr/lib/rpabank/bin", True)], ids=["-m", "-c", "script"]
)
def test_the_supervisor_imports_from_where_the_command_did(
    monkeypatch: pytest.MonkeyPatch, first: str, safe: bool
) -> None:
    """`rpabank` (a script) does not import from the working folder, so its supervisor must not either: a
    `search.py` or `core/` where the command is run would otherwise replace the app's own."""
    monkeypatch.setattr(sys, "path", [first, *sys.path[1:]])
    command = supervisor_command("127.0.0.1", 8000, 2, "INFO", "text")
    assert command[0] == sys.executable
    assert ("-P" in command) == safe
    assert command[command.index("-m") + 1 :] == [
        "service.server",
        "--host=127.0.0.1",
        "--port=8000",
        "--workers=2",
        "--log-level=INFO",
        "--log-format=text",
    ]


async def test_a_served_app_settles_its_start_up_heap(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`rpabank serve`, and each of its workers, makes the app long-lived: once it has started, what is alive is
    frozen out of the garbage collector's walks (`settle_heap`). An app made for one test is not (it is dropped
    with the test, and frozen objects are never collected)."""
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    serve(settings, "127.0.0.1", 8000)
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    try:
        for app in (served[0], app_from_env()):
            gc.unfreeze()
            async with AsyncTestClient(app=app):
                assert gc.get_freeze_count() > 1000
        gc.unfreeze()
        async with AsyncTestClient(app=create_app(settings, migrate=False)):
            assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()  # (this process runs other tests)
