"""The page "Importér": upload, the preview with errors at their cells, then "Importér n rækker"."""

from __future__ import annotations

import re

from tests.conftest import Api
from tests.service.controllers.test_imports import GENERIC, xlsx
from tests.service.pages.conftest import csrf_of, sign_in

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def preview(api: Api, content: bytes, kind: str = "processes") -> tuple[int, str]:
    token = await csrf_of(api, "/import")
    r = await api.client.post(
        "/import", data={"kind": kind, "_csrf_token": token, "mapping": ""}, files={"file": ("ark.xlsx", content, XLSX)}
    )
    return r.status_code, r.text


async def test_preview_then_import_writes_the_rows(api: Api) -> None:
    await sign_in(api, "editor_253")
    status, page = await preview(api, xlsx(GENERIC))
    assert status == 200
    assert "2 oprettes" in page and "Importér 2 rækker" in page
    assert (await api.get("/api/processes")).json()["total"] == 0
    upload = re.search(r'name="upload" value="([^"]+)"', page)
    assert upload
    token = await csrf_of(api, "/import")
    r = await api.client.post(
        "/import/apply", data={"upload": upload.group(1), "kind": "processes", "mapping": "", "_csrf_token": token}
    )
    assert r.status_code == 200 and "2 oprettet" in r.text
    assert (await api.get("/api/processes")).json()["total"] == 2
    # the upload is gone once imported
    r = await api.client.post(
        "/import/apply", data={"upload": upload.group(1), "kind": "processes", "mapping": "", "_csrf_token": token}
    )
    assert r.status_code == 422 and "ikke gemt længere" in r.text


async def test_errors_show_at_their_cells_and_nothing_can_be_imported(api: Api) -> None:
    await sign_in(api, "editor_253")
    bad = [row[:] for row in GENERIC]
    bad[2][4] = "mange"
    status, page = await preview(api, xlsx(bad))
    assert status == 200
    assert 'class="cell-error" id="cell-E3"' in page and "expected a number, not &#39;mange&#39;" in page
    assert "1 med fejl" in page and "Importér" not in page.split("import-preview")[0].split("Forhåndsvisning")[1]


async def test_not_a_spreadsheet_is_shown_next_to_the_file_field(api: Api) -> None:
    await sign_in(api, "editor_253")
    status, page = await preview(api, b"\x89PNG\r\n\x1a\n\x00\x00")
    assert status == 422
    assert 'id="file-error"' in page and "neither an Excel workbook" in page


async def test_another_persons_upload_cannot_be_imported(api: Api) -> None:
    await sign_in(api, "editor_253")
    _, page = await preview(api, xlsx(GENERIC))
    upload = re.search(r'name="upload" value="([^"]+)"', page)
    assert upload
    await api.client.post("/logout", data={"_csrf_token": await csrf_of(api, "/import")})
    await sign_in(api, "editor_376")
    token = await csrf_of(api, "/import")
    r = await api.client.post(
        "/import/apply", data={"upload": upload.group(1), "kind": "processes", "_csrf_token": token}
    )
    assert r.status_code == 422
    assert (await api.get("/api/processes")).json()["total"] == 0


async def test_readers_are_told_they_cannot_import(api: Api) -> None:
    await api.token("reader", "reader", "253")
    await sign_in(api, "reader")
    r = await api.client.get("/import")
    assert r.status_code == 403 and "Kun redaktører og administratorer" in r.text


async def test_signed_out_people_are_sent_to_sign_in(api: Api) -> None:
    r = await api.client.get("/import", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/import"
