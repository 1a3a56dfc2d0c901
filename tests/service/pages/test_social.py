"""The pages: the "Følg" button, the bell, commenting, uploading a document and the notifications page."""

from __future__ import annotations

import re

from tests.conftest import Api
from tests.service.controllers.test_social_documents import make_pdf
from tests.service.pages.conftest import PID, csrf_of, sign_in


def unread(html: str) -> int:
    match = re.search(r'data-unread="(\d+)"', html)
    assert match, "the bell is on the page"
    return int(match.group(1))


async def test_follow_button_bell_and_notifications_page(site: Api) -> None:
    await site.person("rita", "reader", "376")
    await site.person("ed", "editor", "253")
    assert (await sign_in(site, "rita")).status_code == 303
    page = (await site.client.get(f"/processes/{PID}")).text
    assert ">Følg</button>" in page and unread(page) == 0
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        "/follow", data={"kind": "process", "id": PID, "_csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/processes/{PID}"
    assert "Følger ✓" in (await site.client.get(f"/processes/{PID}")).text

    etag = (await site.get(f"/api/processes/{PID}")).headers["etag"]
    r = await site.patch(f"/api/processes/{PID}", {"summary": "Nyt resumé."}, who="ed", headers={"If-Match": etag})
    assert r.status_code == 200
    page = (await site.client.get("/notifications")).text
    assert unread(page) == 1 and "ændret (summary)" in page
    token = await csrf_of(site, "/notifications")
    r = await site.client.post("/notifications/read", data={"_csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert unread((await site.client.get("/notifications")).text) == 0

    for path in ("/municipalities/253", "/bots"):
        assert (await site.client.get(path)).status_code == 200
    assert ">Følg</button>" in (await site.client.get("/municipalities/253")).text


async def test_comment_through_the_page_with_markdown_and_a_danish_error(site: Api) -> None:
    await site.person("rita", "reader", "376")
    await sign_in(site, "rita")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/comments/process/{PID}",
        data={"body": "Virker den med **MitID**?", "_csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "#kommentar-" in r.headers["location"]
    page = (await site.client.get(f"/processes/{PID}")).text
    assert "<strong>MitID</strong>" in page and "Rita" in page and "Guldborgsund" in page
    r = await site.client.post(f"/comments/process/{PID}", data={"body": "", "_csrf_token": token})
    assert r.status_code == 422
    assert "skriv mellem 1 og 10.000 tegn" in r.text and 'aria-invalid="true"' in r.text


async def test_upload_a_document_through_the_page(site: Api) -> None:
    await site.person("ed", "editor", "253")
    await sign_in(site, "ed")
    token = await csrf_of(site, f"/processes/{PID}")
    r = await site.client.post(
        f"/processes/{PID}/documents",
        data={"title": "Procesdesign", "kind": "process_design", "visibility": "network", "_csrf_token": token},
        files={"file": ("pdd.pdf", make_pdf("Procesdesign for attester"), "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = (await site.client.get(f"/processes/{PID}")).text
    assert "Procesdesign" in page and "pdd.pdf" in page
    r = await site.client.post(
        f"/processes/{PID}/documents",
        data={"title": "Virus", "kind": "other", "visibility": "network", "_csrf_token": token},
        files={"file": ("virus.pdf", b"MZ\x90\x00" + bytes(200), "application/pdf")},
    )
    assert r.status_code == 415
    assert "Filtypen kan ikke bruges" in r.text and 'id="derr-file"' in r.text


async def test_signed_out_follow_leads_to_login(site: Api) -> None:
    page = (await site.client.get(f"/processes/{PID}")).text
    assert f'href="/login?next=/processes/{PID}"' in page or "/login?next=" in page
    assert "data-unread" not in page
