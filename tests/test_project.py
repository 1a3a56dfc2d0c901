"""The project's promises to a new user: the README's two commands, CI running the same test command,
and a production stack description that holds together."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

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


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    return data


def _app_env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in service["environment"].items()}


def test_compose_scales_behind_a_proxy_and_migrates_once() -> None:
    services = _compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    app, migrate, proxy = services["app"], services["migrate"], services["proxy"]
    assert app["build"] == "." and (ROOT / "Dockerfile").exists()
    # the app replicas publish no port (three could not share one); the proxy does, from an official image
    assert "ports" not in app and app["expose"] == ["8000"]
    assert proxy["image"].startswith("nginx:") and proxy["ports"] == ["8000:80"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    assert "server app:8000" in conf and any(v.startswith("./deploy/nginx.conf:") for v in proxy["volumes"])
    # one-shot migration that the replicas wait for; the replicas do not migrate
    assert migrate["command"] == ["rpabank", "db", "upgrade"] and migrate["restart"] == "no"
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "--no-migrate" in app["command"]
    # health by readiness, with a start period for a first index rebuild
    assert "/api/health/ready" in " ".join(app["healthcheck"]["test"])
    assert int(app["healthcheck"]["start_period"].rstrip("s")) >= 120
    assert proxy["depends_on"]["app"]["condition"] == "service_healthy"
    declared = set(_compose()["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            name = volume.split(":")[0]
            assert name in declared or name.startswith("./")


def test_compose_has_no_default_secrets_and_keeps_the_master_key_from_the_app() -> None:
    text = (ROOT / "docker-compose.yml").read_text("utf-8")
    services = _compose()["services"]
    env = _app_env(services["app"])
    for name in ("RPABANK_DB_PASSWORD", "RPABANK_SESSION_SECRET", "RPABANK_ADMIN_TOKEN"):
        assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", env[name]), name  # required, with a message
    # no variable anywhere falls back to a value (":-" only to an empty value)
    assert re.findall(r"\$\{[A-Z_]+:-[^}]+\}", text) == []
    # the database URL is built from parts by the app, so any password works
    assert "RPABANK_DATABASE_URL" not in env and env["RPABANK_DB_HOST"] == "db"
    # only the search service sees the Meilisearch master key
    assert "MEILI_MASTER_KEY" not in " ".join(env.values())
    assert "MEILI_MASTER_KEY" in services["search"]["environment"]
    assert services["search"]["image"].startswith("getmeili/meilisearch:v1.")


def test_the_database_url_from_parts_escapes_any_password() -> None:
    from sqlalchemy.engine import make_url

    from service.settings import Settings

    password = "p@ss:w/o%rd#1 ?"
    settings = Settings.from_env(
        {"RPABANK_DB_HOST": "db", "RPABANK_DB_USER": "rpabank", "RPABANK_DB_PASSWORD": password}
    )
    assert settings.database_url is not None
    url = make_url(settings.database_url)
    assert (url.host, url.username, url.password, url.database) == ("db", "rpabank", password, "rpabank")


def test_the_image_installs_pinned_dependencies_from_the_lock_file() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    for package in ("core", "service", "catalogue", "codebank", "search"):
        assert f"COPY {package} " in dockerfile
    assert "pip install --no-cache-dir -r requirements.lock" in dockerfile
    assert "pip install --no-cache-dir --no-deps ." in dockerfile
    lock = (ROOT / "requirements.lock").read_text("utf-8")
    pins = [line for line in lock.splitlines() if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^\s]+", line) for line in pins)
    for needed in ("litestar", "sqlalchemy", "asyncpg", "uvicorn"):
        assert any(line.lower().startswith(needed + "==") for line in pins), needed
    assert 'CMD ["rpabank", "serve"' in dockerfile


def test_domain_packages_do_not_import_the_web_layer() -> None:
    for package in ("catalogue", "codebank", "search"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text("utf-8")
            assert not re.search(r"^\s*(from|import) (litestar|service)\b", source, re.M), path


def test_the_tests_mirror_the_source_tree() -> None:
    """A test file is named after the module it tests, in the mirrored folder: `tests/<package>/…/test_<module>.py`,
    or `test_<module>_<aspect>.py` where one module's tests are split by aspect. Tests of the whole running system
    (several servers, a browser, the whole API) live in `tests/system/`; this file tests the project's own files."""
    tests = ROOT / "tests"
    strays = []
    for path in sorted(tests.rglob("test_*.py")):
        relative = path.relative_to(tests)
        if relative.parts[0] in ("system", "node_modules") or relative == Path("test_project.py"):
            continue
        folder = ROOT.joinpath(*relative.parts[:-1])
        words = path.stem.removeprefix("test_").split("_")
        names = ["_".join(words[:n]) for n in range(len(words), 0, -1)]  # the module, then module_aspect splits
        if not any((folder / f"{name}.py").is_file() or (folder / name / "__init__.py").is_file() for name in names):
            strays.append(str(relative))
    assert strays == [], "test files that name no module of the source tree"
