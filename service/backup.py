"""Backup and restore of the embedded default: everything a data folder needs, taken while the server runs.

`backup(settings, target)` writes into an empty folder:

- `rpabank.sqlite3`: a consistent copy of the database made with SQLite's online backup API (writers go on
  meanwhile; the copy is one moment of the database, with its tokens, bots, principles and index queue);
- `mirrors/`, `principles.git` and the other folders of the data folder (the demo's origin repositories, for
  example): git repositories are copied with `git clone --mirror` from the live mirror, which copies only
  complete objects and refs, so a fetch running at the same moment cannot leave a torn copy; other files are
  copied as they are;
- `backup.json`: when, from which schema revision, how many rows of what, and the settings that matter to the
  data (never a secret: tokens are in the database as hashes, the admin token and secrets stay in the
  environment).

The search index is not copied: it is derived data and `restore` leaves it to be rebuilt (the app rebuilds an
empty index at start; `rpabank reindex` does it at once). With PostgreSQL, back up the database with
`pg_dump` and the data volume (mirrors) instead; see the README.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from core.errors import Invalid
from service.settings import Settings

DATABASE = "rpabank.sqlite3"
MANIFEST = "backup.json"
SKIPPED = {"search", DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}.migrate.lock", "index-drain.lock"}
COUNTED = ("municipalities", "processes", "adoptions", "benefit_records", "api_tokens", "bots", "principles")


def _database_path(settings: Settings) -> Path:
    if not settings.is_sqlite:
        raise Invalid(
            "rpabank backup copies the embedded SQLite data folder; with PostgreSQL use pg_dump and back up the "
            "data volume (see the README's production section)."
        )
    return settings.data_dir / DATABASE


def _empty_folder(path: Path, what: str) -> None:
    if path.exists() and any(path.iterdir()):
        raise Invalid(f"{what} {path} is not empty; give an empty or new folder.")
    path.mkdir(parents=True, exist_ok=True)


def _copy_tree(source: Path, target: Path) -> None:
    """Copy a data-folder entry; git repositories (bare mirrors) by cloning, so the copy is never torn."""
    if source.is_dir() and (source / "HEAD").exists() and (source / "objects").is_dir():
        subprocess.run(
            ["git", "clone", "--quiet", "--mirror", "--no-hardlinks", str(source), str(target)],
            check=True,
            capture_output=True,
        )
        # the copy's origin is the live mirror: give it back the mirror's own origin
        origin = subprocess.run(
            ["git", "-C", str(source), "config", "--get", "remote.origin.url"], capture_output=True, text=True
        ).stdout.strip()
        if origin:
            subprocess.run(["git", "-C", str(target), "remote", "set-url", "origin", origin], check=True)
        return
    if source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        for child in sorted(source.iterdir()):
            if not child.name.startswith(".staging-") and not child.name.startswith(".old-"):
                _copy_tree(child, target / child.name)
        return
    if source.is_file() and not source.is_symlink():
        shutil.copy2(source, target)


def backup(settings: Settings, target: Path) -> dict[str, Any]:
    """Write a backup of the data folder of `settings` into the empty folder `target`; returns its manifest."""
    database = _database_path(settings)
    if not database.exists():
        raise Invalid(f"There is no database to back up in {settings.data_dir}.")
    _empty_folder(target, "The backup folder")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(target / DATABASE)
    try:
        with copy:
            source.backup(copy)  # one consistent moment, while writers go on
        counts = {table: copy.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in COUNTED}
        revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        copy.close()
        source.close()
    for entry in sorted(settings.data_dir.iterdir()):
        if entry.name not in SKIPPED and not entry.name.startswith("."):
            _copy_tree(entry, target / entry.name)
    manifest = {
        "format": 1,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "schema_revision": revision,
        "counts": counts,
        "settings": {
            "hourly_cost_dkk": str(settings.hourly_cost_dkk),
            "annual_hours": str(settings.annual_hours),
            "allow_local_repos": settings.allow_local_repos,
            "principles_url": settings.principles_url,
            "sync_interval_minutes": settings.sync_interval_minutes,
        },
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return manifest


def restore(settings: Settings, source: Path) -> dict[str, Any]:
    """Bring a backup back into the empty data folder of `settings`; returns the backup's manifest."""
    _database_path(settings)
    manifest_path = source / MANIFEST
    if not manifest_path.exists() or not (source / DATABASE).exists():
        raise Invalid(f"{source} is not an RPA-banken backup (it has no {MANIFEST} and {DATABASE}).")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text("utf-8"))
    _empty_folder(settings.data_dir, "The data folder")
    for entry in sorted(source.iterdir()):
        if entry.name != MANIFEST:
            _copy_tree(entry, settings.data_dir / entry.name)
    return manifest
