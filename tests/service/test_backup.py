"""service.backup: a backup taken while writers run restores into the same catalogue (embedded default)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from service.cli import main
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "backup-test-admin"


def _env(data: Path) -> dict[str, str]:
    return {"RPABANK_DATA_DIR": str(data), "RPABANK_ADMIN_TOKEN": ADMIN}


def _export(data: Path, out: Path) -> bytes:
    assert main(["export", str(out)], _env(data)) == 0
    return out.read_bytes()


def test_a_backup_taken_while_writers_run_restores_to_the_catalogue_it_copied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live"
    assert main(["demo", "--no-serve"], {**_env(live), "RPABANK_ALLOW_LOCAL_REPOS": "1"}) == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**_env(live), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RPABANK_ALLOW_LOCAL_REPOS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    written: list[int] = []
    created = threading.Semaphore(0)
    failures: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

        def writer() -> None:
            n = 0
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    body = {
                        "title": f"Backup-skribent proces {n}",
                        "summary": "Skrives under backup.",
                        "domain": "it",
                        "owner_municipality": "253",
                    }
                    r = client.post(f"{base}/api/processes", json=body, headers={"Authorization": f"Bearer {ADMIN}"})
                    if r.status_code == 201:
                        n += 1
                        created.release()
                    elif r.status_code != 503:
                        failures.append(r.text)
            written.append(n)

        threads = [threading.Thread(target=writer) for _ in range(3)]
        for t in threads:
            t.start()
        for _ in range(5):  # some writes are in before the backup starts
            assert created.acquire(timeout=30), failures
        target = tmp_path / "backup"
        assert main(["backup", str(target)], _env(live)) == 0  # while the writers write
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=20)

    manifest = json.loads((target / "backup.json").read_text("utf-8"))
    assert failures == []
    assert sum(written) > 0
    # the export of the backup as it was taken (a copy, so the backup itself is untouched) …
    copy = tmp_path / "backup-copy"
    subprocess.run(["cp", "-a", str(target), str(copy)], check=True)
    at_backup = _export(copy, tmp_path / "at-backup.json")
    # … equals the export of the catalogue restored from it
    restored = tmp_path / "restored"
    assert main(["restore", str(target)], {**_env(restored), "RPABANK_ALLOW_LOCAL_REPOS": "1"}) == 0
    assert _export(restored, tmp_path / "restored.json") == at_backup
    processes = json.loads(at_backup)["processes"]
    assert len(processes) == manifest["counts"]["processes"]
    backup_titles = [p for p in processes if p["title"].startswith("Backup-skribent")]
    assert 5 <= len(backup_titles) <= sum(written)
    # the git mirrors came along and are whole; the search was rebuilt
    mirrors = sorted((restored / "mirrors").glob("*.git"))
    assert mirrors
    for mirror in mirrors:
        assert subprocess.run(["git", "-C", str(mirror), "fsck", "--no-progress"], capture_output=True).returncode == 0
    assert (restored / "search").exists()
    capsys.readouterr()


def test_restore_refuses_a_folder_with_data_and_backup_an_unfinished_target(tmp_path: Path) -> None:
    live = tmp_path / "live"
    assert main(["db", "upgrade"], _env(live)) == 0
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert main(["backup", str(tmp_path / "full")], _env(live)) == 2
    assert main(["backup", str(tmp_path / "b")], _env(live)) == 0
    assert main(["restore", str(tmp_path / "b")], _env(live)) == 2  # the live folder has data
    assert main(["restore", str(tmp_path / "nothing")], _env(tmp_path / "new")) == 2
