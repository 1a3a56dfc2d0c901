"""Sending: notification e-mails received by a real SMTP server on loopback (aiosmtpd), signed webhook deliveries
received (and refused, then retried) by a real HTTP receiver on loopback, the news of a new bot version, the
missing-benefits check and the Atom feed."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.etree import ElementTree

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from core.db import create_engine
from service.settings import Settings
from tests.conftest import Api, SourceRepo, code_bank_settings, process_body

SMTP_PORT = 8652
HOOK_PORT = 8653


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


class Receiver:
    """A webhook receiver: answers `failures` times 500, then 200; keeps what it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.failures = 0


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = 500 if state.failures > 0 else 200
            state.failures -= 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", HOOK_PORT), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:  # type: ignore[override]
    return dataclasses.replace(
        code_bank_settings(settings),
        smtp_url=f"smtp://127.0.0.1:{SMTP_PORT}",
        smtp_from="rpabanken@example.dk",
        webhook_allow_private=True,
        base_url="https://rpabanken.example.dk",
    )


async def until(check: Callable[[], Any], seconds: float = 15.0) -> Any:
    """Wait for the background job runner to have done something (polls; fails after `seconds`)."""
    for _ in range(int(seconds / 0.05)):
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("the background job did not do it in time")


async def sql(api: Api, statement: str, **params: Any) -> list[Any]:
    engine = create_engine(api.client.app.state.settings.effective_database_url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def _process(api: Api) -> str:
    r = await api.post("/api/processes", process_body(), who="editor_253")
    assert r.status_code == 201
    return str(r.json()["id"])


async def _change(api: Api, pid: str, who: str, **fields: Any) -> None:
    etag = (await api.get(f"/api/processes/{pid}")).headers["etag"]
    assert (await api.patch(f"/api/processes/{pid}", fields, who=who, headers={"If-Match": etag})).status_code == 200


async def test_immediate_mail_reaches_the_smtp_server(api: Api, mailbox: Mailbox) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376", email="rita@guldborgsund.dk")
    await api.person("ed", "editor", "253")
    await api.put(f"/api/follows/process/{pid}", who="rita")
    await _change(api, pid, "ed", summary="Robotten henter nu også børneattester.")
    await until(lambda: mailbox.messages)
    mail = mailbox.messages[0]
    assert mail["To"] == "Rita <rita@guldborgsund.dk>" and mail["From"] == "rpabanken@example.dk"
    assert "ændret (summary)" in mail["Subject"]
    body = mail.get_content()  # type: ignore[attr-defined]
    assert f"https://rpabanken.example.dk/processes/{pid}" in body
    assert len(mailbox.messages) == 1  # the editor who changed it gets nothing


async def test_daily_digest_collects_and_off_sends_nothing(api: Api, mailbox: Mailbox) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376", email="rita@guldborgsund.dk")
    await api.person("olga", "reader", "376", email="olga@guldborgsund.dk")
    await api.person("ed", "editor", "253")
    assert (await api.put("/api/notifications/settings", {"email": "daily"}, who="rita")).status_code == 200
    assert (await api.put("/api/notifications/settings", {"email": "off"}, who="olga")).status_code == 200
    assert (await api.put("/api/notifications/settings", {"email": "weekly"}, who="olga")).status_code == 422
    for who in ("rita", "olga"):
        await api.put(f"/api/follows/process/{pid}", who=who)
    await _change(api, pid, "ed", summary="En.")
    await _change(api, pid, "ed", summary="To.")
    assert mailbox.messages == []
    await sql(
        api,
        "INSERT INTO jobs (kind, key, payload, status, attempts, run_after, created_at) "
        "VALUES ('email_digest', 'email_digest', '{}', 'queued', 0, :now, :now)",
        now=dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1),
    )
    await until(lambda: mailbox.messages)
    assert [m["To"] for m in mailbox.messages] == ["Rita <rita@guldborgsund.dk>"]
    assert "2 nye notifikationer (dagens samling)" in mailbox.messages[0]["Subject"]


async def test_webhook_signed_refused_then_retried(api: Api, receiver: Receiver) -> None:
    pid = await _process(api)
    secret = "a-long-shared-secret-0123"
    r = await api.post(
        "/api/webhooks",
        {"url": f"http://127.0.0.1:{HOOK_PORT}/hook", "secret": secret, "events": ["process.changed"]},
        who="editor_253",
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["municipality"] == "253"
    receiver.failures = 1
    await api.person("ed", "editor", "253")
    await _change(api, pid, "ed", summary="Ændret for webhooken.")

    async def log() -> list[dict[str, Any]]:
        return list((await api.get(f"/api/webhooks/{hook['id']}/deliveries", who="editor_253")).json())

    await until(lambda: receiver.requests)
    first = await until_async(log, lambda rows: rows and rows[0]["attempts"] == 1 and rows[0])
    assert first["status"] == "pending" and first["response_status"] == 500
    # the job waits (backoff); make it due now
    await sql(
        api,
        "UPDATE jobs SET run_after = :now WHERE kind = 'webhook'",
        now=dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1),
    )
    done = await until_async(log, lambda rows: rows and rows[0]["status"] == "delivered" and rows[0])
    assert done["attempts"] == 2 and done["response_status"] == 200
    assert len(receiver.requests) == 2
    headers, body = receiver.requests[-1]
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-rpabank-signature"] == expected
    assert headers["x-rpabank-event"] == "process.changed"
    payload = json.loads(body)
    assert payload["event"] == "process.changed" and payload["process"] == pid and payload["fields"] == ["summary"]


async def until_async(fetch: Callable[[], Any], check: Callable[[Any], Any], seconds: float = 20.0) -> Any:
    for _ in range(int(seconds / 0.1)):
        value = check(await fetch())
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("the background job did not do it in time")


async def test_webhook_rights_and_private_addresses(api: Api, settings: Settings) -> None:
    body = {"url": "http://127.0.0.1:9/x", "secret": "a-long-shared-secret-0123", "events": ["*"]}
    await api.person("rita", "reader", "253")
    assert (await api.post("/api/webhooks", body, who="rita")).status_code == 403
    assert (await api.post("/api/webhooks", {**body, "municipality": "376"}, who="editor_253")).status_code == 403
    assert (await api.post("/api/webhooks", {**body, "events": ["nothing"]}, who="editor_253")).status_code == 422
    hook = (await api.post("/api/webhooks", body, who="editor_253")).json()
    assert (await api.get(f"/api/webhooks/{hook['id']}/deliveries", who="editor_376")).status_code == 404
    assert (await api.get(f"/api/webhooks/{hook['id']}/deliveries", who="admin")).status_code == 200
    api.client.app.state.settings = dataclasses.replace(settings, webhook_allow_private=False)
    for url in ("http://127.0.0.1:8080/x", "http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest"):
        r = await api.post("/api/webhooks", {**body, "url": url}, who="admin")
        assert r.status_code == 422, url
        assert r.json()["field"] == "url"
    for url in ("http://[", "https://[::1/x", "https://example.org:99999/x", "http://example.org:port/x"):
        r = await api.post("/api/webhooks", {**body, "url": url}, who="admin")  # (the fuzz test found a 500)
        assert r.status_code == 422, url
        assert r.json()["field"] == "url" and "is not a valid address" in r.json()["message"]


async def test_a_new_bot_version_is_news_for_followers_and_runners(api: Api, source: SourceRepo) -> None:
    await _process(api)
    assert (await api.register_bot({"url": source.url}, who="editor_253")).status_code == 200
    await api.person("rita", "reader", "376")
    await api.person("ed376", "editor", "376")
    r = await api.put(
        "/api/processes/indhentning-af-boerne-og-straffeattester/adoptions/376",
        {"status": "operation", "bot": {"repo": "hent-attester", "ref": "v1.0.0"}},
        who="ed376",
    )
    assert r.status_code == 201, r.text
    assert (await api.put("/api/follows/bot/hent-attester", who="rita")).status_code == 200
    source.commit({"src/robot.py": "def ny():\n    return 2\n"}, "v2", tag="v2.0.0")
    assert (await api.sync_bot("hent-attester", who="editor_253")).status_code == 200
    for who in ("rita", "ed376"):
        items = (await api.get("/api/notifications", who=who)).json()["items"]
        assert [(i["kind"], i["title"]) for i in items] == [("bot_version", "Attest-robotten: ny version v2.0.0")]
    page = (await api.get("/bots/hent-attester")).text
    assert "en nyere version findes" in page


async def test_missing_benefits_are_told_once(api: Api) -> None:
    pid = await _process(api)
    await api.person("ed", "editor", "253")
    await api.person("ed376", "editor", "376")
    r = await api.put(f"/api/processes/{pid}/adoptions/253", {"status": "operation"}, who="ed")
    assert r.status_code == 201
    r = await api.put(f"/api/processes/{pid}/adoptions/253/benefits/2026-09", {"cases_handled": 10}, who="ed")
    assert r.status_code == 201
    for _ in range(2):
        await sql(api, "DELETE FROM jobs WHERE kind = 'benefits_check'")
        await sql(
            api,
            "INSERT INTO jobs (kind, key, payload, status, attempts, run_after, created_at) "
            "VALUES ('benefits_check', 'benefits_check', :p, 'queued', 0, :now, :now)",
            p=json.dumps({"today": "2026-11-03"}),
            now=dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1),
        )
        await until_async(
            lambda: sql(api, "SELECT status FROM jobs WHERE kind = 'benefits_check'"),
            lambda rows: rows and rows[0][0] == "done",
        )
    items = (await api.get("/api/notifications", who="ed")).json()["items"]
    assert [i["title"] for i in items] == [f"Gevinsttal for 2026-10 mangler: {process_body()['title']}"]
    assert (await api.get("/api/notifications", who="ed376")).json()["items"] == []


async def test_atom_feed(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376")
    await api.person("ed", "editor", "253")
    await api.put(f"/api/follows/process/{pid}", who="rita")
    await _change(api, pid, "ed", summary="Ændret til feedet.")
    r = await api.post("/api/notifications/feed", who="rita")
    assert r.status_code == 201
    url = r.json()["url"]
    feed = await api.get(url)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(feed.content)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 1
    assert entries[0].find("a:link", ns).get("href") == f"https://rpabanken.example.dk/processes/{pid}"  # type: ignore[union-attr]
    assert (await api.get("/feeds/feed_unknown.atom")).status_code == 404
    # a new address ends the old one
    assert (await api.post("/api/notifications/feed", who="rita")).status_code == 201
    assert (await api.get(url)).status_code == 404
