"""Accessibility: axe-core (the npm package, run in Debian's Chromium) over the demo's pages, anonymous and as a
signed-in editor: no serious or critical violation. axe-core is installed from the npm registry into
tests/system/axe on first use (`npm ci`; `.ci/run` does it up front); without Node.js/npm or Chromium the test
skips and says why."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.system.test_browser import PID, browser, demo, sync_api  # noqa: F401  (fixtures)

AXE = Path(__file__).resolve().parent / "axe"
PAGES = [
    "/",
    "/search?q=attester",
    "/search?q=tolk&type=process",
    f"/processes/{PID}",
    "/municipalities",
    "/municipalities/376",
    "/dashboard",
    "/bots",
    "/bots/straffeattest-robot",
    "/bots/straffeattest-robot/tree",
    "/principles",
    "/ideas",
    "/login",
    "/municipalities/253",
    "/bots/straffeattest-robot/blob?path=README.md",
    "/principles/fejlhaandtering",
]  # /api/schema is Swagger UI's own page (served from our files), not one of ours: not checked here
SIGNED_IN = [
    "/processes/new",
    "/processes/betaling-af-regninger-for-laegeerklaeringer/edit",
    "/processes/betaling-af-regninger-for-laegeerklaeringer/duplicate",
    "/processes/betaling-af-regninger-for-laegeerklaeringer/retire",
    "/processes/midlertidig-adgang-for-vikarer-i-kmd-nexus/adoptions/376/remove",
    f"/processes/{PID}/benefits/376/2024/remove",
    "/bots/new",
    "/ideas/new",
    "/import",
    "/notifications",
    "/me/tokens",
]


def axe_source() -> str:
    if shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed to install axe-core; not found")
    script = AXE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=AXE, capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.skip(f"could not install axe-core (npm ci): {done.stderr.strip()[-300:]}")
    return script.read_text("utf-8")


def serious(page: Any, source: str) -> list[str]:
    page.evaluate(source)  # through the DevTools protocol: the pages' CSP (no inline script) does not apply
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_no_serious_violation_on_any_page(browser: Any, demo: dict[str, str]) -> None:  # noqa: F811
    source = axe_source()
    found: dict[str, list[str]] = {}
    for signed_in in (False, True):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
        page = context.new_page()
        page.set_default_timeout(15_000)
        if signed_in:
            page.goto(demo["url"] + "/login")
            page.locator("input[name=token]").fill(demo["token"])
            page.locator("form button[type=submit]", has_text="Log ind").first.click()
            page.wait_for_load_state("networkidle")
        for path in PAGES + (SIGNED_IN if signed_in else []):
            response = page.goto(demo["url"] + path)
            assert response is not None and response.status == 200, (path, response and response.status)
            problems = serious(page, source)
            if problems:
                found[("editor " if signed_in else "") + path] = problems
        context.close()
    assert not found, "\n".join(f"{path}: {p}" for path, problems in found.items() for p in problems)
