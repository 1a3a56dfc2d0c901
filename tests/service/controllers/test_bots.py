"""Bots through the API, on real repositories — hostile ones included."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from service.settings import Settings
from tests.conftest import WEBHOOK_SECRET, Api, SourceRepo, code_bank_settings, process_body

PID = "indhentning-af-boerne-og-straffeattester"


@pytest.fixture
def settings(settings: Settings) -> Settings:  # type: ignore[override]
    """The usual test settings, with local repositories allowed and a webhook secret."""
    return code_bank_settings(settings)


@pytest.fixture
async def bot(api: Api, source: SourceRepo) -> dict[str, Any]:
    assert (await api.post("/api/processes", process_body(), who="editor_253")).status_code == 201
    r = await api.register_bot({"url": source.url}, who="editor_253")
    assert r.status_code == 200, r.text
    return r.json()


async def search(api: Api, q: str, **params: str) -> dict[str, Any]:
    extra = "".join(f"&{k}={quote(v)}" for k, v in params.items())
    r = await api.get(f"/api/search?q={quote(q)}{extra}")
    assert r.status_code == 200
    return r.json()


async def test_register_mirrors_and_reads_metadata(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    assert bot["slug"] == "hent-attester"
    assert bot["name"] == "Attest-robotten"  # from the manifest
    assert bot["default_branch"] == "main" and bot["tags"] == ["v1.0.0"]
    assert bot["head"] == source.git("rev-parse", "HEAD")
    assert bot["processes"] == [PID] and bot["principles"] == ["koe-haandtering"]
    assert "Python" in bot["technologies"] and bot["languages"]["Python"] == 2
    assert bot["manifest_errors"] == [] and bot["owner_municipality"] == "253"
    assert (await api.get("/api/bots")).json()[0]["slug"] == "hent-attester"
    assert [b["slug"] for b in (await api.get(f"/api/bots?process={PID}")).json()] == ["hent-attester"]
    assert (await api.get("/api/bots?technology=C%23")).json() == []
    assert (await api.post("/api/bots", {"url": source.url}, who="editor_253")).status_code == 409


async def test_refs_tree_blob_readme(api: Api, bot: dict[str, Any]) -> None:
    refs = (await api.get("/api/bots/hent-attester/refs")).json()
    assert {(r["name"], r["kind"]) for r in refs} == {("main", "branch"), ("v1.0.0", "tag")}
    assert all(r["date"] for r in refs)
    tree = (await api.get("/api/bots/hent-attester/tree?ref=v1.0.0")).json()
    assert [e["name"] for e in tree["entries"]][:1] == ["src"]
    sub = (await api.get("/api/bots/hent-attester/tree?path=src")).json()
    assert {e["name"] for e in sub["entries"]} == {"robot.py", "edoc.py"}
    blob = (await api.get("/api/bots/hent-attester/blob?path=src/robot.py&ref=v1.0.0")).json()
    assert blob["kind"] == "text" and blob["language"] == "Python"
    assert "hent_straffeattest_fra_politiet" in blob["text"] and "<span" in blob["html"]
    readme = (await api.get("/api/bots/hent-attester/readme")).json()
    assert '<h1 id="attest-robotten">Attest-robotten</h1>' in readme["html"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/bots/hent-attester/blob?path=../outside", 422),
        ("/api/bots/hent-attester/blob?path=/etc/passwd", 422),
        ("/api/bots/hent-attester/tree?ref=--upload-pack=x", 422),
        ("/api/bots/hent-attester/tree?ref=main..v1", 422),
        ("/api/bots/hent-attester/tree?ref=ukendt", 404),
        ("/api/bots/hent-attester/blob?path=findes/ikke.py", 404),
        ("/api/bots/hent-attester/tree?path=src/robot.py", 404),
        ("/api/bots/findes-ikke", 404),
        ("/api/bots/hent-attester/blob?path=src", 422),
    ],
)
async def test_bad_refs_and_paths_are_4xx(api: Api, bot: dict[str, Any], url: str, status: int) -> None:
    r = await api.get(url)
    assert r.status_code == status, r.text
    assert r.json()["message"]


@pytest.mark.parametrize(
    "url", ["ext::sh -c 'touch /tmp/x'", "-oProxyCommand=x", "http://x.dk/r.git", "https://u:p@x.dk/r.git", "fd::3"]
)
async def test_hostile_urls_are_refused(api: Api, url: str) -> None:
    r = await api.post("/api/bots", {"url": url}, who="editor_253")
    assert r.status_code == 422 and r.json()["field"] == "url"
    assert (await api.get("/api/bots")).json() == []


async def test_registering_needs_a_token_and_deleting_an_admin(
    api: Api, bot: dict[str, Any], source: SourceRepo
) -> None:
    assert (await api.post("/api/bots", {"url": source.url}, who=None)).status_code == 401
    assert (await api.delete("/api/bots/hent-attester", who="editor_253")).status_code == 403
    assert (await api.post("/api/bots/hent-attester/sync", who=None)).status_code == 401
    assert (await api.delete("/api/bots/hent-attester")).status_code == 204
    assert (await api.get("/api/bots/hent-attester")).status_code == 404
    assert (await search(api, "hent_straffeattest", type="code"))["total"] == 0  # its code left the index


async def test_symlinks_submodules_binaries_and_large_files(
    api: Api, bot: dict[str, Any], source: SourceRepo, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("TOPHEMMELIGT-INDHOLD")
    (source.path / "link").symlink_to(outside)
    other = source.git("rev-parse", "HEAD")
    source.commit(
        {
            "big.bin": b"\0" + b"x" * (5 * 1024 * 1024),
            "logo.png": b"\x89PNG\r\n\x1a\n\0\0\0",
            "large.txt": "kæmpestorfil " * 500_000,
        },
        "hostile files",
    )
    source.git("update-index", "--add", "--cacheinfo", f"160000,{other},vendor/lib")  # a submodule
    source.git("commit", "-q", "-m", "submodule")
    assert (await api.sync_bot("hent-attester", who="editor_253")).status_code == 200

    entries = {e["name"]: e for e in (await api.get("/api/bots/hent-attester/tree")).json()["entries"]}
    assert entries["link"]["kind"] == "symlink" and entries["link"]["target"] == str(outside)
    link = (await api.get("/api/bots/hent-attester/blob?path=link")).json()
    assert link["kind"] == "symlink" and link["text"] is None  # never followed
    vendor = (await api.get("/api/bots/hent-attester/tree?path=vendor")).json()["entries"]
    assert vendor[0]["kind"] == "submodule" and vendor[0]["commit"] == other
    big = (await api.get("/api/bots/hent-attester/blob?path=big.bin")).json()
    assert big["kind"] == "too_large" and big["size"] > 5_000_000 and big["text"] is None
    assert (await api.get("/api/bots/hent-attester/blob?path=logo.png")).json()["kind"] == "binary"
    assert (await api.get("/api/bots/hent-attester/blob?path=large.txt")).json()["kind"] == "too_large"
    assert (await search(api, "kæmpestorfil"))["total"] == 0  # too large to index
    assert (await search(api, "TOPHEMMELIGT"))["total"] == 0


async def test_non_utf8_names_and_contents(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    source.commit({b"latin1-\xe6\xf8\xe5.txt": b"gr\xf8d med fl\xf8de", "ok.py": "x = 'blåbær'\n"}, "latin-1")
    r = await api.sync_bot("hent-attester", who="editor_253")
    assert r.status_code == 200 and r.json()["sync_error"] is None
    names = [e["name"] for e in (await api.get("/api/bots/hent-attester/tree")).json()["entries"]]
    assert any(n.startswith("latin1-") for n in names)
    assert (await api.get("/api/bots/hent-attester/blob?path=ok.py")).json()["text"] == "x = 'blåbær'\n"


async def test_hooks_in_a_repository_never_run(api: Api, source: SourceRepo, tmp_path: Path) -> None:
    marker = tmp_path / "hook-ran"
    for hook in ("post-checkout", "post-merge", "reference-transaction", "post-receive", "pre-push"):
        path = source.path / ".git" / "hooks" / hook
        path.write_text(f"#!/bin/sh\ntouch {marker}\n")
        path.chmod(0o755)
    source.commit({".githooks/post-checkout": f"#!/bin/sh\ntouch {marker}\n"}, "hooks", tag=None)
    marker.unlink(missing_ok=True)  # our own commit ran the origin's hooks; the bank must not
    assert (await api.post("/api/processes", process_body(), who="editor_253")).status_code == 201
    assert (await api.register_bot({"url": source.url}, who="editor_253")).status_code == 200
    assert (await api.sync_bot("hent-attester", who="editor_253")).status_code == 200
    await api.get("/api/bots/hent-attester/tree")
    assert not marker.exists()
    mirror = Path(api.client.app.state.settings.data_dir) / "mirrors" / "hent-attester.git"
    assert mirror.exists() and not (mirror / "hooks").exists() and not (mirror / "src").exists()  # bare


async def test_readme_html_is_safe(api: Api, source: SourceRepo) -> None:
    source.commit(
        {
            "README.md": "# Robot\n\n<script>alert('x')</script>\n\n[klik](javascript:alert(1)) "
            "[data](data:text/html;base64,PHNjcmlwdD4=) <img src=x onerror=alert(1)>\n"
        }
    )
    assert (await api.post("/api/processes", process_body(), who="editor_253")).status_code == 201
    assert (await api.register_bot({"url": source.url}, who="editor_253")).status_code == 200
    html = (await api.get("/api/bots/hent-attester/readme")).json()["html"]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html.replace("[klik](javascript:alert(1))", "") or 'href="javascript' not in html
    assert 'href="javascript' not in html and 'href="data:' not in html and "<img" not in html


async def test_a_broken_manifest_keeps_the_last_valid_one(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    source.commit({"rpabank.yaml": "name: [ikke lukket\n"}, "broken manifest")
    synced = (await api.sync_bot("hent-attester", who="editor_253")).json()
    assert synced["name"] == "Attest-robotten" and synced["processes"] == [PID]
    assert synced["manifest_errors"] and "not valid YAML" in synced["manifest_errors"][0]
    source.commit({"rpabank.yaml": "name: Ny\nprocesses: [findes-ikke]\nfarve: blå\n"}, "unknown key")
    synced = (await api.sync_bot("hent-attester", who="editor_253")).json()
    assert "farve" in synced["manifest_errors"][0] and synced["name"] == "Attest-robotten"
    source.commit({"rpabank.yaml": "name: Ny robot\nprocesses: [findes-ikke]\n"}, "unknown process")
    synced = (await api.sync_bot("hent-attester", who="editor_253")).json()
    assert synced["name"] == "Ny robot" and "findes-ikke" in synced["manifest_errors"][0]


async def test_sync_reindexes_changed_files_and_follows_force_pushes(
    api: Api, bot: dict[str, Any], source: SourceRepo
) -> None:
    assert (await search(api, "opret_sag"))["hits"][0]["path"] == "src/edoc.py"
    source.commit({"src/ny.py": "def beregn_refusion_for_sygedagpenge():\n    pass\n"}, "new file")
    source.git("rm", "-q", "src/edoc.py")
    source.git("commit", "-q", "-m", "remove edoc")
    await api.sync_bot("hent-attester", who="editor_253")
    hit = (await search(api, "beregn_refusion"))["hits"][0]
    assert (hit["path"], hit["line"]) == ("src/ny.py", 1)
    assert (await search(api, "opret_sag"))["total"] == 0  # the deleted file left the index

    source.git("reset", "-q", "--hard", "v1.0.0")  # rewrite history …
    source.commit({"src/omskrevet.py": "def helt_ny_historik():\n    pass\n"}, "rewritten")
    r = await api.sync_bot("hent-attester", who="editor_253")  # … and force-push it
    assert r.json()["head"] == source.git("rev-parse", "HEAD") and r.json()["sync_error"] is None
    assert (await search(api, "helt_ny_historik"))["total"] == 1
    assert (await search(api, "beregn_refusion"))["total"] == 0


async def test_only_changed_files_are_queued(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    from sqlalchemy import select

    from core.db import create_engine, session_factories
    from core.indexing import IndexQueue

    backend = api.client.app.state.indexer.backend
    real_upsert = backend.upsert
    seen: list[str] = []

    def spy(docs: Any) -> None:
        docs = list(docs)
        seen.extend(d.id for d in docs if d.type == "code")
        real_upsert(docs)

    backend.upsert = spy
    try:
        source.commit({"src/robot.py": "def hent_straffeattest_fra_politiet(sag_id):\n    return 2\n"}, "one file")
        await api.sync_bot("hent-attester", who="editor_253")
    finally:
        backend.upsert = real_upsert
    assert seen == ["hent-attester:src/robot.py"]
    engine = create_engine(api.client.app.state.settings.effective_database_url)
    try:
        async with session_factories(engine)[0]() as session:
            assert (await session.scalars(select(IndexQueue))).all() == []
    finally:
        await engine.dispose()


async def test_code_search_finds_identifiers(api: Api, bot: dict[str, Any]) -> None:
    hit = (await search(api, "hent_straffeattest", type="code"))["hits"][0]
    assert hit["path"] == "src/robot.py" and hit["line"] == 1
    assert "<mark>hent_straffeattest_fra_politiet</mark>" in hit["snippet"]
    assert hit["url"].endswith("#L1")
    for query in ("eDocClient", "EDocClient", "edocclient", "straffeattest_fra", "politiet"):
        assert any(
            h["path"] == "src/" + ("robot.py" if "attest" in query or "politi" in query else "edoc.py")
            for h in (await search(api, query, type="code"))["hits"]
        ), query
    bots = (await search(api, "attest", type="bot"))["hits"]
    assert [h["id"] for h in bots] == ["hent-attester"]


async def test_adoptions_pin_a_bot_version(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    r = await api.put(
        f"/api/processes/{PID}/adoptions/376",
        {"status": "operation", "bot": {"repo": "hent-attester", "ref": "v9.9.9"}},
        who="editor_376",
    )
    assert r.status_code == 422 and r.json()["field"] == "bot.ref"
    r = await api.put(
        f"/api/processes/{PID}/adoptions/376",
        {"status": "operation", "bot": {"repo": source.url, "ref": "v1.0.0"}},
        who="editor_376",
    )
    assert r.status_code == 201 and r.json()["bot"]["slug"] == "hent-attester"
    runs = (await api.get("/api/bots/hent-attester")).json()["runs"]
    assert runs == [
        {
            "municipality": "376",
            "municipality_name": "Guldborgsund",
            "process": PID,
            "ref": "v1.0.0",
            "status": "operation",
        }
    ]
    assert (await search(api, "", type="bot", municipality="376"))["total"] == 1
    r = await api.put(
        f"/api/processes/{PID}/adoptions/253",
        {"status": "planned", "bot": {"repo": "https://git.andet.dk/robot.git", "ref": "v1"}},
        who="editor_253",
    )
    assert r.status_code == 201 and r.json()["bot"]["slug"] is None  # not registered: kept as text


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def settle_jobs(api: Api) -> None:
    """Wait until the app's job runner (woken by the request that queued the jobs) has finished them. The app
    lives on the test client's own event loop: the jobs table is read through an engine of ours."""
    from sqlalchemy import func, select

    from core.db import create_engine, session_factories
    from core.jobs import Job

    engine = create_engine(api.client.app.state.settings.effective_database_url)
    try:
        reads, _ = session_factories(engine)
        for _ in range(600):
            async with reads() as session:
                busy = await session.scalar(select(func.count()).where(Job.status.in_(["queued", "running"])))
            if not busy:
                return
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise AssertionError("the jobs did not finish within 30 s")


async def test_webhook_pushes(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    source.commit({"src/push.py": "def fra_webhook():\n    pass\n"}, "pushed")
    body = json.dumps({"ref": "refs/heads/main", "repository": {"clone_url": source.url}}).encode()
    unsigned = await api.client.post("/api/hooks/git", content=body)
    assert unsigned.status_code == 401
    wrong = await api.client.post("/api/hooks/git", content=body, headers={"X-Hub-Signature-256": sign(body, "x")})
    assert wrong.status_code == 401
    assert (await search(api, "fra_webhook"))["total"] == 0
    headers = {"X-Hub-Signature-256": sign(body), "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
    ok = await api.client.post("/api/hooks/git", content=body, headers=headers)
    assert ok.status_code == 202  # at once: the sync is a job that outlives the request
    assert ok.json() == {"queued": ["hent-attester"], "repeated": False}
    await settle_jobs(api)
    assert (await search(api, "fra_webhook"))["total"] == 1
    again = await api.client.post("/api/hooks/git", content=body, headers=headers)  # the same delivery, replayed
    assert again.status_code == 202
    assert again.json() == {"queued": [], "repeated": True}
    gitlab = json.dumps({"project": {"git_http_url": source.url + ".git"}}).encode()
    r = await api.client.post("/api/hooks/git", content=gitlab, headers={"X-Gitlab-Token": WEBHOOK_SECRET})
    assert r.status_code == 202
    assert r.json()["queued"] == ["hent-attester"]
    r = await api.client.post("/api/hooks/git", content=gitlab, headers={"X-Gitlab-Token": "forkert"})
    assert r.status_code == 401


async def test_local_paths_need_the_setting(api: Api, source: SourceRepo) -> None:

    api.client.app.state.settings = dataclasses.replace(api.client.app.state.settings, allow_local_repos=False)
    r = await api.post("/api/bots", {"url": source.url}, who="editor_253")
    assert r.status_code == 422 and "RPABANK_ALLOW_LOCAL_REPOS" in r.json()["message"]


async def test_scheduled_sync_fetches_every_bot(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    from core.db import create_engine, session_factories
    from service.scheduler import sync_all

    head = source.commit({"src/planlagt.py": "def planlagt_synkronisering():\n    pass\n"}, "scheduled")
    settings = api.client.app.state.settings
    engine = create_engine(settings.effective_database_url)
    try:
        assert await sync_all(settings.codebank(), session_factories(engine)[1]) == ["hent-attester"]
    finally:
        await engine.dispose()
    assert (await api.get("/api/bots/hent-attester")).json()["head"] == head


async def test_drafts_do_not_leak_through_the_code_bank(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    draft = process_body("Hemmelig kladde om lønrobotten", owner_municipality="376", visibility="municipality")
    did = (await api.post("/api/processes", draft, who="editor_376")).json()["id"]
    # the bot's owner (253) cannot link another municipality's draft through its manifest
    source.commit({"rpabank.yaml": f"name: Attest-robotten\nprocesses: [{PID}, {did}]\n"}, "link a draft")
    synced = (await api.sync_bot("hent-attester", who="editor_253")).json()
    assert synced["processes"] == [PID]
    assert any(did in e for e in synced["manifest_errors"])
    # an admin links it; Køge runs the bot for its own draft
    assert (await api.patch("/api/bots/hent-attester", {"processes": [PID, did]}, who="admin")).status_code == 200
    r = await api.put(
        f"/api/processes/{did}/adoptions/376", {"status": "operation", "bot": {"repo": source.url}}, who="editor_376"
    )
    assert r.status_code == 201
    anonymous = (await api.get("/api/bots/hent-attester")).json()
    assert did not in anonymous["processes"] and all(run["process"] != did for run in anonymous["runs"])
    own = (await api.get("/api/bots/hent-attester", who="editor_376")).json()
    assert did in own["processes"] and [run["process"] for run in own["runs"]] == [did]
    assert (await api.get(f"/api/bots?process={did}")).json() == (await api.get("/api/bots?process=findes-ikke")).json()
    assert (await api.get(f"/api/bots?process={did}")).json() == []
    assert (await api.get("/api/bots?municipality=376")).json() == []
    assert [b["slug"] for b in (await api.get("/api/bots?municipality=376", who="editor_376")).json()] == [
        "hent-attester"
    ]
    hits = (await search(api, "hemmelig kladde lønrobotten", type="bot"))["hits"]
    assert hits == []
    page = (await api.client.get("/bots/hent-attester")).text
    assert "Hemmelig kladde" not in page and f'href="/processes/{did}"' not in page
    # the manifest's own text names the id, but says the same as for an id that does not exist
    assert f"no process with id {did!r} in the catalogue." in " ".join(synced["manifest_errors"])


async def test_a_bot_an_admin_registered_is_changed_by_admins_only(api: Api, source: SourceRepo) -> None:
    r = await api.register_bot({"url": source.url}, who="admin")
    assert r.status_code == 200 and r.json()["owner_municipality"] is None
    slug = r.json()["slug"]
    refused = await api.patch(f"/api/bots/{slug}", {"processes": []}, who="editor_376")
    assert refused.status_code == 403
    assert (await api.patch(f"/api/bots/{slug}", {"processes": []}, who="admin")).status_code == 200


async def test_a_registration_is_followed_through_its_job(api: Api, source: SourceRepo) -> None:
    assert (await api.post("/api/processes", process_body(), who="editor_253")).status_code == 201
    r = await api.post("/api/bots", {"url": source.url, "processes": [PID]}, who="editor_253")
    assert r.status_code == 202 and r.headers["Location"] == r.json()["job"]["url"]
    assert r.json()["job"]["kind"] == "register_bot" and r.json()["job"]["bot"] == "hent-attester"
    # the slug and the repository are taken at once: a second registration is a conflict, not a second clone
    assert (await api.post("/api/bots", {"url": source.url + "/"}, who="editor_376")).status_code == 409
    job = await api.wait_job(r.json()["job"], who="editor_253")
    assert job["status"] == "done" and job["error"] is None and job["finished_at"]
    bot = (await api.get("/api/bots/hent-attester")).json()
    assert bot["state"] == "ready" and bot["head"] == source.git("rev-parse", "HEAD")
    assert (await api.get(r.json()["job"]["url"], who=None)).status_code == 401  # jobs are for signed-in clients


async def test_a_sync_answers_202_with_the_queued_job(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    head = source.commit({"src/ny.py": "def ny_funktion():\n    pass\n"}, "ny")
    r = await api.post("/api/bots/hent-attester/sync", who="editor_253")
    assert r.status_code == 202 and r.json()["job"]["kind"] == "sync_bot"
    assert (await api.wait_job(r.json()["job"], who="editor_253"))["status"] == "done"
    assert (await api.get("/api/bots/hent-attester")).json()["head"] == head
    await api.person("rita", "reader", "253")
    assert (await api.post("/api/bots/hent-attester/sync", who="rita")).status_code == 403
    assert (await api.post("/api/bots/hent-attester/sync", who="editor_376")).status_code == 403  # not its owner


async def test_only_code_bank_jobs_can_be_followed(api: Api) -> None:
    assert (await api.get("/api/jobs/999999", who="editor_253")).status_code == 404


async def test_a_clone_error_does_not_show_the_servers_folders(api: Api, tmp_path: Path) -> None:
    not_a_repo = tmp_path / "ikke-et-repo"
    not_a_repo.mkdir()
    r = await api.post("/api/bots", {"url": str(not_a_repo)}, who="editor_253")
    job = await api.wait_job(r.json()["job"], who="editor_253")
    assert job["status"] == "failed"
    assert str(Path.cwd()) not in job["error"] and str(api.client.app.state.settings.data_dir) not in job["error"]


async def test_files_with_the_same_content_are_each_found(api: Api, bot: dict[str, Any], source: SourceRepo) -> None:
    same = "def faelles_journaliseringshjaelper(sag):\n    return sag\n"
    source.commit({"src/a/hjaelper.py": same, "src/b/kopi.py": same}, "the same file twice")
    assert (await api.sync_bot("hent-attester", who="editor_253")).status_code == 200
    found = await search(api, "faelles_journaliseringshjaelper", type="code")
    paths = sorted(h["path"] for h in found["hits"])
    assert paths == ["src/a/hjaelper.py", "src/b/kopi.py"]


async def test_vendored_generated_and_minified_files_are_not_searched(
    api: Api, bot: dict[str, Any], source: SourceRepo
) -> None:
    """A repository with a library copied in, a lock file and a bundle: code search finds the bot's own code only;
    the other files are still shown among the bot's files. A file that becomes a bundle leaves the index."""
    bundle = "!function(e){" + ";".join(f"var hent_kvittering_{i}=e.b{i}||{{}}" for i in range(300)) + "}(this);"
    source.commit(
        {
            "src/kvittering.py": "def hent_kvittering(sag):\n    return sag\n",
            "node_modules/kvittering-lib/index.js": "function hent_kvittering() { return 1 }\n",
            "package-lock.json": '{"name": "hent_kvittering", "lockfileVersion": 3}\n',
            "static/app.min.js": "function hent_kvittering(){return 1}\n",
            "static/bundle.js": bundle,
        }
    )
    assert (await api.sync_bot("hent-attester")).status_code == 200
    hits = (await search(api, "hent_kvittering", type="code"))["hits"]
    assert [h["path"] for h in hits] == ["src/kvittering.py"]
    blob = (await api.get("/api/bots/hent-attester/blob?path=node_modules/kvittering-lib/index.js")).json()
    assert "hent_kvittering" in blob["text"]

    source.commit({"src/kvittering.py": bundle.replace("hent_kvittering", "hent_kvittering_ny")})
    assert (await api.sync_bot("hent-attester")).status_code == 200
    assert (await search(api, "hent_kvittering", type="code"))["hits"] == []
