"""Code principles from their repository, the Markdown renderer, `rpabank codebank sync` and the demo bank."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import TestClient

from codebank.markdown import render, split_front_matter
from service.app import create_app
from service.cli import main
from service.demo import demo_settings
from service.settings import Settings
from tests.conftest import SourceRepo


def env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "RPABANK_DATA_DIR": str(settings.data_dir),
        "RPABANK_DATABASE_URL": settings.effective_database_url,
        "RPABANK_ALLOW_LOCAL_REPOS": "1",
        **extra,
    }


def test_markdown_is_rendered_safely() -> None:
    html = render(
        "# Overskrift\n\n<b onclick=x>fed</b> [a](javascript:alert(1)) [b](JaVaScRiPt:x) "
        "[c](data:text/html,x) [d](https://ok.dk)\n\n```python\nprint('hej')\n```\n\n| a | b |\n|---|---|\n"
        "| 1 | 2 |\n"
    )
    assert '<h1 id="overskrift">' in html and "&lt;b onclick=x&gt;" in html
    assert "javascript" not in html.lower().replace("[a](javascript:alert(1))", "").replace("[b](javascript:x)", "")
    assert 'href="https://ok.dk"' in html and "<table>" in html and 'class="highlight"' in html


def test_front_matter_is_parsed_safely() -> None:
    meta, body, error = split_front_matter("---\nid: x\ntags: [a]\n---\n# T\n")
    assert meta == {"id": "x", "tags": ["a"]} and body == "# T\n" and error is None
    meta, _, error = split_front_matter("---\n!!python/object/apply:os.system ['touch /tmp/x']\n---\n")
    assert meta == {} and error
    assert split_front_matter("no front matter") == ({}, "no front matter", None)


def test_principles_sync_keeps_the_last_valid_version(settings: Settings, tmp_path: Path) -> None:
    repo = SourceRepo(tmp_path / "principper")
    repo.commit(
        {
            "kø.md": "---\nid: koe\ntitle: Kø-håndtering\ncategory: Drift\ntags: [kø]\n---\n# Kø\nBrug køer.\n",
            "logning.md": "---\nid: logning\ntitle: Logning uden CPR\n---\nLog aldrig CPR-numre.\n",
            "README.md": "# Principper\n",
        }
    )
    variables = env(settings, RPABANK_PRINCIPLES_URL=repo.url)
    assert main(["codebank", "sync"], variables) == 0
    with TestClient(create_app(Settings.from_env(variables))) as client:
        listed = client.get("/api/principles").json()
        assert [p["id"] for p in listed] == ["koe", "logning"] or {p["id"] for p in listed} == {"koe", "logning"}
        koe = client.get("/api/principles/koe").json()
        assert koe["title"] == "Kø-håndtering" and "<h1" in koe["html"] and koe["source"].startswith("---")
        assert client.get("/api/search?q=køer&type=principle").json()["hits"][0]["id"] == "koe"
    repo.commit({"kø.md": "---\nid: koe\ntitle: [brudt\n---\nNy tekst\n"}, "broken")
    assert main(["codebank", "sync"], variables) == 0
    with TestClient(create_app(Settings.from_env(variables))) as client:
        koe = client.get("/api/principles/koe").json()
        assert koe["title"] == "Kø-håndtering" and "Brug køer" in koe["html"]  # the last valid version
        assert "not valid YAML" in koe["error"]
        assert client.get("/api/principles/findes-ikke").status_code == 404


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
