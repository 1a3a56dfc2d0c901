"""The project's promises to a new user: the README's two commands, CI running the same test command,
and a production stack description that holds together."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block, "the README must start with a shell block"
    assert text.index("```sh") < text.index("\n## "), "the commands come before any section"
    return [line for line in first_block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_exactly_two_commands() -> None:
    demo, tests = readme_commands()
    assert "rpabank demo" in demo and "pip install" in demo
    assert "pytest" in tests and "[test]" in tests


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert tests in ci.splitlines()


def test_compose_describes_postgres_meilisearch_and_the_app() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["search"]["image"].startswith("getmeili/meilisearch:")
    app = services["app"]
    assert app["build"] == "." and (ROOT / "Dockerfile").exists()
    env = app["environment"]
    assert env["RPABANK_DATABASE_URL"].startswith("postgresql")
    assert "@db:" in env["RPABANK_DATABASE_URL"]
    assert env["RPABANK_MEILI_URL"] == "http://search:7700"
    assert "RPABANK_MEILI_KEY" in env and "RPABANK_ADMIN_TOKEN" in env
    assert set(app["depends_on"]) == {"db", "search"}
    declared = set(compose["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in declared
    assert any(v.endswith(":/data") for v in app["volumes"])
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    for package in ("core", "service", "catalogue", "codebank", "search"):
        assert f"COPY {package} " in dockerfile
    assert 'CMD ["rpabank", "serve"' in dockerfile


def test_domain_packages_do_not_import_the_web_layer() -> None:
    for package in ("catalogue", "codebank", "search"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text("utf-8")
            assert not re.search(r"^\s*(from|import) (litestar|service)\b", source, re.M), path
