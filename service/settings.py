"""Settings, read from the environment once and passed in explicitly (never a global)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from search.backends import SearchBackend, open_backend


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("rpabank-data"))
    database_url: str | None = None
    admin_token: str | None = None
    meili_url: str | None = None
    meili_key: str | None = None
    meili_index: str = "rpabank"
    index_retry_seconds: float = 10.0

    @property
    def effective_database_url(self) -> str:
        """`RPABANK_DATABASE_URL`, or SQLite in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rpabank.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def open_search(self) -> SearchBackend:
        return open_backend(self.data_dir, self.meili_url, self.meili_key, self.meili_index)

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("RPABANK_DATA_DIR") or "rpabank-data"),
            database_url=env.get("RPABANK_DATABASE_URL") or None,
            admin_token=env.get("RPABANK_ADMIN_TOKEN") or None,
            meili_url=env.get("RPABANK_MEILI_URL") or None,
            meili_key=env.get("RPABANK_MEILI_KEY") or None,
            meili_index=env.get("RPABANK_MEILI_INDEX") or "rpabank",
        )
