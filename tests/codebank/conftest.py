"""Code bank fixtures: real git repositories made in the test, some of them hostile."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from service.settings import Settings

WEBHOOK_SECRET = "webhook-test-secret"


@pytest.fixture
def settings(settings: Settings) -> Settings:  # type: ignore[override]
    """The usual test settings, with local repositories allowed and a webhook secret."""
    return dataclasses.replace(settings, allow_local_repos=True, webhook_secret=WEBHOOK_SECRET)


class SourceRepo:
    """A working repository the tests commit to, standing in for a Git host."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, input: bytes | None = None) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "Test",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "t@example.org",
        }
        out = subprocess.run(
            ["git", "-C", str(self.path), *args], env=env, input=input, capture_output=True, check=True
        )
        return out.stdout.decode("utf-8", "replace").strip()

    def write(self, files: dict[str | bytes, str | bytes]) -> None:
        for name, content in files.items():
            target = self.path / (os.fsdecode(name) if isinstance(name, bytes) else name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())

    def commit(self, files: dict[str | bytes, str | bytes], message: str = "change", tag: str | None = None) -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        if tag:
            self.git("tag", tag)
        return self.git("rev-parse", "HEAD")

    @property
    def url(self) -> str:
        return str(self.path.resolve())


@pytest.fixture
def source(tmp_path: Path) -> SourceRepo:
    repo = SourceRepo(tmp_path / "origin" / "hent-attester")
    repo.commit(
        {
            "README.md": "# Attest-robotten\n\nHenter straffeattester fra politiet.\n",
            "rpabank.yaml": "name: Attest-robotten\nsummary: Henter attester.\nprocesses: "
            "[indhentning-af-boerne-og-straffeattester]\nprinciples: [koe-haandtering]\n",
            "src/robot.py": "def hent_straffeattest_fra_politiet(sag_id):\n    return sag_id\n",
            "src/edoc.py": "class EDocClient:\n    def opret_sag(self):\n        pass\n",
            "requirements.txt": "httpx\n",
        },
        "first",
        tag="v1.0.0",
    )
    return repo
