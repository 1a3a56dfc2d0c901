"""service.pages.bots: the code bank's pages on the demo bank — bots, the file browser, highlighted code with
line anchors, and the principles."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import SourceRepo, register_bot_sync
from tests.service.pages.conftest import BOT, PID, POLITI, text_of


def test_bot_list(demo_bank: TestClient[Any]) -> None:
    r = demo_bank.get("/bots")
    assert r.status_code == 200
    for slug in (BOT, "tolkeregninger-flow", "edoc-api-klient"):
        assert f'href="/bots/{slug}"' in r.text
    text = text_of(r.text)
    assert "Power Automate" in text and "C#" in text and "Indhentning af børne- og straffeattester" in text
    assert 'href="/bots" aria-current="page"' in r.text  # the menu item


def test_bot_page_shows_readme_facts_versions_and_runs(demo_bank: TestClient[Any]) -> None:
    r = demo_bank.get(f"/bots/{BOT}")
    assert r.status_code == 200
    page = r.text
    assert '<h1 id="straffeattest-robotten">Straffeattest-robotten</h1>' in page  # the README, rendered
    assert "<table>" in page and 'class="highlight"' in page  # its table and highlighted code block
    text = text_of(page)
    for fact in ("Python", "MPL-2.0", "Politiets attestløsning", "KMD Opus"):
        assert fact in text
    assert 'href="/bots/straffeattest-robot/tree?ref=v1.0.0"' in page and ">v1.1.0<" in page  # versions
    versions = page[page.index('id="versioner"') : page.index('id="drift"')]
    assert versions.index("v1.1.0") < versions.index("v1.0.0")  # newest first
    runs = page[page.index('id="drift"') :]
    assert 'href="/municipalities/253">Greve</a>' in runs and "I drift" in runs  # who runs which version
    assert f'href="/processes/{PID}"' in page  # the process it implements
    assert 'href="/principles/koe-haandtering"' in page  # a principle it follows
    assert 'href="/bots/straffeattest-robot/tree?path=src"' in page  # the root folder, browsable
    assert "Fejl i" not in text and "mislykkedes" not in text  # no errors to show


def test_tree_lists_src_with_breadcrumbs_and_versions(demo_bank: TestClient[Any]) -> None:
    root = demo_bank.get(f"/bots/{BOT}/tree")
    assert root.status_code == 200 and "src/" in root.text
    r = demo_bank.get(f"/bots/{BOT}/tree", params={"path": "src/straffeattest_robot", "ref": "v1.0.0"})
    assert r.status_code == 200
    assert f'href="/bots/{BOT}/blob?ref=v1.0.0&amp;path=src%2Fstraffeattest_robot%2Fpoliti.py"' in r.text
    assert f'href="/bots/{BOT}/tree?ref=v1.0.0&amp;path=src"' in r.text  # breadcrumb
    assert '<option value="v1.0.0" selected>' in r.text and 'value="main"' in r.text  # the ref selector


def test_blob_is_highlighted_with_line_anchors(demo_bank: TestClient[Any]) -> None:
    r = demo_bank.get(f"/bots/{BOT}/blob", params={"path": POLITI})
    assert r.status_code == 200
    assert 'id="L1"' in r.text and 'href="#L1"' in r.text and 'id="L12"' in r.text
    assert '<span class="k">def</span>' in r.text and "hent_straffeattest_fra_politiet" in r.text
    assert "Python" in r.text
    assert len(re.findall(r'<tr id="L\d+"', r.text)) >= 12
    older = demo_bank.get(f"/bots/{BOT}/blob", params={"path": POLITI, "ref": "v1.0.0"})
    assert older.status_code == 200 and "forsoeg" not in older.text and "forsoeg" in r.text  # per version


def test_symlinks_are_never_followed_submodules_show_their_commit(demo_bank: TestClient[Any]) -> None:
    tree = demo_bank.get("/bots/genveje/tree")
    assert tree.status_code == 200
    text = text_of(tree.text)
    assert re.search(r"link → \S*hemmelig\.txt", text)
    assert "/bots/genveje/blob?path=link" not in tree.text  # no link to follow
    assert "TOPHEMMELIGT" not in tree.text
    vendor = demo_bank.get("/bots/genveje/tree", params={"path": "vendor"})
    assert "Submodul" in vendor.text and re.search(r'<code title="[0-9a-f]{40}">[0-9a-f]{10}</code>', vendor.text)
    link = demo_bank.get("/bots/genveje/blob", params={"path": "link"})
    assert link.status_code == 200 and "symbolsk henvisning" in link.text and "TOPHEMMELIGT" not in link.text
    assert "hemmelig.txt" in link.text
    sub = demo_bank.get("/bots/genveje/blob", params={"path": "vendor/lib"})
    assert sub.status_code == 200 and "submodul" in sub.text
    assert "binær" in demo_bank.get("/bots/genveje/blob", params={"path": "logo.png"}).text


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/bots/findes-ikke", 404, "Siden findes ikke"),
        ("/bots/findes-ikke/tree", 404, "Siden findes ikke"),
        (f"/bots/{BOT}/tree?ref=v9.9.9", 404, "Versionen findes ikke"),
        (f"/bots/{BOT}/blob?path=findes/ikke.py", 404, "Filen eller mappen findes ikke"),
        (f"/bots/{BOT}/tree?path=findes-ikke", 404, "Filen eller mappen findes ikke"),
        (f"/bots/{BOT}/tree?ref=--upload-pack%3Dx", 422, "gyldigt versionsnavn"),
        (f"/bots/{BOT}/tree?ref=main..v1.0.0", 422, "gyldigt versionsnavn"),
        (f"/bots/{BOT}/blob?path=../udenfor", 422, "Stien kan ikke bruges"),
        (f"/bots/{BOT}/blob?path=/etc/passwd", 404, "Filen eller mappen findes ikke"),  # read from the root
        ("/principles/findes-ikke", 404, "Siden findes ikke"),
    ],
)
def test_unknown_or_bad_addresses_are_friendly_pages(
    demo_bank: TestClient[Any], url: str, status: int, says: str
) -> None:
    r = demo_bank.get(url)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert says in html.unescape(r.text) and "Traceback" not in r.text and 'lang="da"' in r.text


def test_folders_and_files_swap_to_the_right_view(demo_bank: TestClient[Any]) -> None:
    r = demo_bank.get(f"/bots/{BOT}/blob", params={"path": "src"}, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == f"/bots/{BOT}/tree?path=src"
    r = demo_bank.get(f"/bots/{BOT}/tree", params={"path": "README.md"}, follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == f"/bots/{BOT}/blob?path=README.md"


def test_principles_grouped_with_tags_and_bots(demo_bank: TestClient[Any]) -> None:
    r = demo_bank.get("/principles")
    assert r.status_code == 200
    assert 'href="/principles/koe-haandtering"' in r.text
    assert re.search(r"<h2[^>]*>Drift</h2>", r.text)  # a category heading
    koe = r.text[r.text.index('href="/principles/koe-haandtering"') :]
    koe = koe[: koe.index("</li>\n")]
    assert f'href="/bots/{BOT}">Straffeattest-robotten</a>' in koe
    assert 'class="pill"' in koe  # its tags
    assert 'href="/principles" aria-current="page"' in r.text  # the menu shows principles now


def test_principle_page(demo_bank: TestClient[Any]) -> None:
    r = demo_bank.get("/principles/koe-haandtering")
    assert r.status_code == 200
    assert "<h1" in r.text and "arbejdskø" in r.text  # the rendered Markdown
    assert f'href="/bots/{BOT}"' in r.text and "Drift" in r.text
    assert "notice-error" not in r.text


def test_escaping_in_the_file_view(tmp_path: Path, settings: Settings) -> None:
    """Code is shown as code: markup in a file (and in its name) is escaped, on every database."""
    settings = dataclasses.replace(settings, allow_local_repos=True)
    repo = SourceRepo(tmp_path / "origin" / "skummel")
    repo.commit(
        {
            "README.md": "# Skummel\n\n<script>alert(1)</script>\n",
            "side<b>.html": "<script>alert('x')</script>\n<p onclick=\"x()\">hej</p>\n",
        },
        "first",
    )
    with TestClient(create_app(settings)) as client:
        assert register_bot_sync(client, repo.url)["status"] == "done"
        bot = client.get("/bots/skummel")
        assert bot.status_code == 200 and "<script>alert" not in bot.text and "&lt;script&gt;" in bot.text
        tree = client.get("/bots/skummel/tree")
        assert "side&lt;b&gt;.html" in tree.text and "side<b>" not in tree.text
        blob = client.get("/bots/skummel/blob", params={"path": "side<b>.html"})
        assert blob.status_code == 200
        assert "<script>alert" not in blob.text and "&lt;" in blob.text and 'id="L2"' in blob.text
