"""codebank.demo: the demo bank loaded by `rpabank demo` — its bots, principles and code search — and synced again."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.cli import main
from service.demo import demo_settings
from service.settings import Settings


def env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "RPABANK_DATA_DIR": str(settings.data_dir),
        "RPABANK_DATABASE_URL": settings.effective_database_url,
        "RPABANK_ALLOW_LOCAL_REPOS": "1",
        **extra,
    }


def test_demo_bank(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-serve"], env(settings)) == 0
    assert "3 bots" in capsys.readouterr().out
    with TestClient(create_app(demo_settings(settings))) as client:
        bots = {b["slug"]: b for b in client.get("/api/bots").json()}
        assert set(bots) == {"straffeattest-robot", "tolkeregninger-flow", "edoc-api-klient"}
        assert "Power Automate" in bots["tolkeregninger-flow"]["technologies"]
        assert "C#" in bots["edoc-api-klient"]["technologies"]
        assert bots["straffeattest-robot"]["tags"] == ["v1.0.0", "v1.1.0"]
        assert bots["straffeattest-robot"]["runs"]  # municipalities run pinned versions
        principles = client.get("/api/principles").json()
        assert len(principles) >= 8 and all(p["error"] is None for p in principles)
        assert "straffeattest-robot" in next(p for p in principles if p["id"] == "koe-haandtering")["bots"]
        hit = client.get("/api/search?q=hent_straffeattest&type=code").json()["hits"][0]
        assert hit["path"].endswith("politi.py")
        assert client.get("/api/search?q=queue&type=principle").json()["hits"][0]["id"] == "koe-haandtering"
    assert main(["codebank", "sync", "straffeattest-robot"], env(settings)) == 0
    assert "straffeattest-robot: at" in capsys.readouterr().out
