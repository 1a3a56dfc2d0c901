"""Documents of a process: upload checked by content, download as an attachment, text found by search, and a
municipality's own documents invisible to everyone else (list, download, search, notifications, exports)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tests.conftest import Api, process_body


def make_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica (pypdf reads it back)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_docx(*paragraphs: str) -> bytes:
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr(
            "word/document.xml", f'<?xml version="1.0"?><w:document xmlns:w="{ns}"><w:body>{body}</w:body></w:document>'
        )
    return buffer.getvalue()


async def _process(api: Api, **extra: Any) -> str:
    r = await api.post("/api/processes", process_body(**extra), who="editor_253")
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def upload(api: Api, pid: str, name: str, content: bytes, who: str = "editor_253", **fields: str) -> Any:
    data = {"kind": "process_design", "title": "Procesdesign", "visibility": "network", **fields}
    return await api.client.post(
        f"/api/processes/{pid}/documents",
        files={"file": (name, content, "application/octet-stream")},
        data=data,
        headers=api.auth(who),
    )


async def test_a_pdf_is_stored_downloaded_and_its_text_found(api: Api) -> None:
    pid = await _process(api)
    r = await upload(api, pid, "pdd.pdf", make_pdf("Robotten slaar kvitteringsnummeret op i Fakturaportalen"))
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["content_type"] == "application/pdf" and doc["has_text"] is True and doc["filename"] == "pdd.pdf"
    listed = (await api.get(f"/api/processes/{pid}/documents")).json()
    assert [d["id"] for d in listed] == [doc["id"]]

    r = await api.get(f"/api/documents/{doc['id']}")
    assert r.status_code == 200
    assert r.content.startswith(b"%PDF-")
    assert r.headers["content-disposition"].startswith('attachment; filename="pdd.pdf"')
    assert r.headers["x-content-type-options"] == "nosniff"

    hits = (await api.get("/api/search", params={"q": "kvitteringsnummeret", "type": "document"})).json()["hits"]
    assert [(h["type"], h["url"]) for h in hits] == [("document", f"/api/documents/{doc['id']}")]


async def test_a_docx_is_recognised_by_content_and_searchable(api: Api) -> None:
    pid = await _process(api)
    r = await upload(api, pid, "design.bin", make_docx("Løsningsdesign", "Robotten bruger Serviceplatformen"))
    assert r.status_code == 201, r.text
    assert r.json()["filename"] == "design.docx"
    assert r.json()["content_type"].endswith("wordprocessingml.document")
    hits = (await api.get("/api/search", params={"q": "serviceplatformen", "type": "document"})).json()["hits"]
    assert len(hits) == 1


async def test_content_decides_not_the_name(api: Api) -> None:
    pid = await _process(api)
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256))
    r = await upload(api, pid, "rapport.pdf", exe)
    assert r.status_code == 415
    assert r.json()["field"] == "file"
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("evil.exe", "x")
    assert (await upload(api, pid, "rapport.docx", zipped.getvalue())).status_code == 415
    r = await upload(api, pid, "noter.md", b"# Noter\n\nDriftsvejledning.")
    assert r.status_code == 201
    assert r.json()["content_type"].startswith("text/markdown")
    assert (await upload(api, pid, "tom.txt", b"")).status_code == 422
    assert (await upload(api, pid, "x.txt", b"tekst", kind="poem")).status_code == 422


async def test_larger_than_20_mb_is_413(api: Api) -> None:
    pid = await _process(api)
    r = await upload(api, pid, "stor.txt", b"a" * (20 * 1024 * 1024 + 1))
    assert r.status_code == 413
    assert "20 MB" in r.json()["message"]
    assert (await api.get(f"/api/processes/{pid}/documents")).json() == []


async def test_rights(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "253")
    assert (await upload(api, pid, "a.txt", b"tekst", who="rita")).status_code == 403
    r = await api.client.post(f"/api/processes/{pid}/documents", files={"file": ("a.txt", b"x")})
    assert r.status_code == 401
    doc = (await upload(api, pid, "a.txt", b"tekst")).json()
    assert (await api.delete(f"/api/documents/{doc['id']}", who="editor_376")).status_code == 403
    assert (await api.delete(f"/api/documents/{doc['id']}", who="editor_253")).status_code == 204
    assert (await api.get(f"/api/documents/{doc['id']}")).status_code == 404


async def test_a_municipalitys_own_document_leaks_nowhere(api: Api) -> None:
    pid = await _process(api)
    await api.person("rita", "reader", "376")  # follows the process from another municipality
    await api.person("olga", "reader", "253")
    assert (await api.put(f"/api/follows/process/{pid}", who="rita")).status_code == 200
    assert (await api.put(f"/api/follows/process/{pid}", who="olga")).status_code == 200
    r = await upload(
        api,
        pid,
        "dpia.pdf",
        make_pdf("Fortrolig risikovurdering af borgerdata"),
        kind="dpia",
        title="Greves DPIA",
        visibility="municipality",
    )
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]

    for who in (None, "editor_376", "rita"):
        assert (await api.get(f"/api/processes/{pid}/documents", who=who)).json() == []
        assert (await api.get(f"/api/documents/{doc_id}", who=who)).status_code == 404
        hits = (await api.get("/api/search", params={"q": "risikovurdering"}, who=who)).json()["hits"]
        assert hits == []
    assert (await api.get("/api/notifications", who="rita")).json()["items"] == []
    assert [i["kind"] for i in (await api.get("/api/notifications", who="olga")).json()["items"]] == ["document"]
    for export in ("/api/export/processes.csv", "/api/export/processes.xlsx"):
        assert b"Greves DPIA" not in (await api.get(export, who="editor_376")).content

    # its own municipality and admins see it
    assert len((await api.get(f"/api/processes/{pid}/documents", who="olga")).json()) == 1
    assert (await api.get(f"/api/documents/{doc_id}", who="olga")).status_code == 200
    assert (await api.get(f"/api/documents/{doc_id}", who="admin")).status_code == 200
    hits = (await api.get("/api/search", params={"q": "risikovurdering"}, who="editor_253")).json()["hits"]
    assert [h["id"] for h in hits] == [str(doc_id)]
