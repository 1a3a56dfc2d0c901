"""Documents of a process (process design, solution design, DPIA, business case, operations guide, other), kept
in the database so every instance and every backup has them.

A file is accepted by what it is, not what it is called: its first bytes (and, for Office files, the members of
the zip) decide. The text of PDF (pypdf) and DOCX (word/document.xml, read with the standard library) documents
is extracted and searchable. A document with visibility `municipality` exists only for its municipality (and
admins): in lists, downloads, search and notifications.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from catalogue.models import Process, ProcessDocument
from catalogue.notify import notify
from catalogue.schemas import DocumentRead
from catalogue.services import ProcessService, process_news, visible_rows
from core.actors import Actor
from core.db import utcnow
from core.errors import Forbidden, Invalid, NotFound, TooLarge, UnsupportedMedia
from core.indexing import EntityKind, mark_for_index
from core.reads import read_from

log = logging.getLogger("rpabank.documents")

MAX_BYTES = 20 * 1024 * 1024
MAX_TEXT = 500_000  # characters of extracted text kept for search
MAX_MEMBER = 100 * 1024 * 1024  # an Office file's XML larger than this when unpacked is refused (zip bomb)
DOCUMENT_KINDS = {
    "process_design": "Procesdesigndokument (PDD)",
    "solution_design": "Løsningsdesign (SDD)",
    "dpia": "Konsekvensanalyse (DPIA)",
    "business_case": "Business case",
    "operations_guide": "Driftsvejledning",
    "other": "Andet",
}
VISIBILITIES = ("network", "municipality")
OFFICE = {
    "word/document.xml": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/workbook.xml": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "ppt/presentation.xml": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
}
IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    extension: str


def sniff(content: bytes, filename: str) -> Sniffed:
    """What a file is, by its content; UnsupportedMedia for anything not accepted."""
    if content.startswith(b"%PDF-"):
        return Sniffed("application/pdf", "pdf")
    for magic, content_type, ext in IMAGES:
        if content.startswith(magic):
            return Sniffed(content_type, ext)
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return Sniffed("image/webp", "webp")
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, ValueError):
            names = set()
        if "[Content_Types].xml" in names:
            for member, found in OFFICE.items():
                if member in names:
                    return Sniffed(*found)
        raise UnsupportedMedia(
            "file: a zip file is accepted only as a Word, Excel or PowerPoint document (DOCX, XLSX, PPTX).",
            field="file",
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not _CONTROL.search(text):
        markdown = filename.lower().endswith((".md", ".markdown"))
        return (
            Sniffed("text/markdown; charset=utf-8", "md") if markdown else Sniffed("text/plain; charset=utf-8", "txt")
        )
    raise UnsupportedMedia(
        "file: only PDF, DOCX, XLSX, PPTX, Markdown, plain text (UTF-8) and images (PNG, JPEG, GIF, WebP) are "
        "accepted; this file is none of them.",
        field="file",
    )


def extract_text(content: bytes, sniffed: Sniffed) -> str:
    """The searchable text of a PDF, DOCX, Markdown or text document ("" for the rest, or when unreadable)."""
    try:
        if sniffed.extension == "pdf":
            return _pdf_text(content)[:MAX_TEXT]
        if sniffed.extension == "docx":
            return _docx_text(content)[:MAX_TEXT]
        if sniffed.extension in ("md", "txt"):
            return content.decode("utf-8")[:MAX_TEXT]
    except Exception as exc:  # a damaged file is kept, just not searchable
        log.info("no text from a %s document: %s: %s", sniffed.extension, type(exc).__name__, exc)
    return ""


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    parts: list[str] = []
    size = 0
    for page in reader.pages:
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
        if size > MAX_TEXT:
            break
    return _CONTROL.sub(" ", "\n".join(parts)).strip()


def _docx_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        info = z.getinfo("word/document.xml")
        if info.file_size > MAX_MEMBER:
            return ""
        root = ElementTree.fromstring(z.read(info))
    paragraphs = ["".join(t.text or "" for t in p.iter(f"{_W}t")) for p in root.iter(f"{_W}p")]
    return _CONTROL.sub(" ", "\n".join(p for p in paragraphs if p)).strip()


def visible_documents(actor: Actor) -> ColumnElement[bool]:
    """Network documents, and a municipality's own; admins see all."""
    return visible_rows(actor, ProcessDocument.visibility, ProcessDocument.municipality_code)


def document_read(d: ProcessDocument) -> DocumentRead:
    return read_from(
        DocumentRead,
        d,
        process=d.process_id,
        municipality=d.municipality_code,
        has_text=bool(d.text),
        url=f"/api/documents/{d.id}",
    )


def _safe_filename(name: str, ext: str) -> str:
    base = re.sub(r"[^\w.\- ]+", "_", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip(" ._")[:200]
    base = base.rsplit(".", 1)[0] if "." in base else base
    return f"{base or 'dokument'}.{ext}"


class DocumentService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_process(self, actor: Actor, process_id: str) -> list[DocumentRead]:
        await ProcessService(self.session).get_model(actor, process_id)
        rows = (
            await self.session.scalars(
                select(ProcessDocument)
                .where(ProcessDocument.process_id == process_id, visible_documents(actor))
                .order_by(ProcessDocument.created_at, ProcessDocument.id)
            )
        ).all()
        return [document_read(d) for d in rows]

    async def _get(self, actor: Actor, document_id: int, *, content: bool = False) -> ProcessDocument:
        stmt = select(ProcessDocument).where(ProcessDocument.id == document_id, visible_documents(actor))
        if content:
            stmt = stmt.options(undefer(ProcessDocument.content))
        doc = await self.session.scalar(stmt)
        if doc is None:
            raise NotFound(f"No document {document_id}.", field="id")
        await ProcessService(self.session).get_model(actor, doc.process_id)  # a hidden process hides its documents
        return doc

    async def get(self, actor: Actor, document_id: int) -> DocumentRead:
        return document_read(await self._get(actor, document_id))

    async def download(self, actor: Actor, document_id: int) -> tuple[DocumentRead, bytes]:
        doc = await self._get(actor, document_id, content=True)
        return document_read(doc), doc.content

    async def upload(
        self,
        actor: Actor,
        process_id: str,
        *,
        filename: str,
        content: bytes,
        kind: str,
        title: str,
        visibility: str,
    ) -> DocumentRead:
        """Attach a document (an editor or an admin). Checked by content; at most 20 MB."""
        actor.require_writer()
        process: Process = await ProcessService(self.session).get_model(actor, process_id)
        if kind not in DOCUMENT_KINDS:
            raise Invalid(f"kind must be one of {', '.join(DOCUMENT_KINDS)}.", field="kind")
        if visibility not in VISIBILITIES:
            raise Invalid("visibility must be network or municipality.", field="visibility")
        title = (title or "").strip()
        if not title or len(title) > 200 or _CONTROL.search(title):
            raise Invalid("title: give the document a title of 1–200 characters.", field="title")
        if len(content) > MAX_BYTES:
            raise TooLarge("file: a document may be at most 20 MB.", field="file")
        if not content:
            raise Invalid("file: the file is empty.", field="file")
        sniffed = sniff(content, filename)
        owner = actor.municipality or process.owner_municipality
        if process.visibility != "network" and visibility == "network":
            visibility = "municipality"  # a draft's documents are as private as the draft
            owner = process.owner_municipality
        doc = ProcessDocument(
            process_id=process.id,
            kind=kind,
            title=title,
            filename=_safe_filename(filename, sniffed.extension),
            content_type=sniffed.content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            visibility=visibility,
            municipality_code=owner,
            uploaded_by=actor.name,
            user_id=actor.user_id,
            created_at=utcnow(),
            text=extract_text(content, sniffed),
            content=content,
        )
        self.session.add(doc)
        await self.session.flush()
        mark_for_index(self.session, EntityKind.DOCUMENT, str(doc.id))
        news = process_news(
            process,
            actor,
            kind="document",
            title=f"Nyt dokument på {process.title}: {title}",
            url=f"/processes/{process.id}#dokumenter",
            private_to=owner if visibility == "municipality" else None,  # as private as the document
            webhook=("document.added", {"process": process.id, "document": doc.id, "title": title}),
        )
        await notify(self.session, news)
        return document_read(doc)

    async def delete(self, actor: Actor, document_id: int) -> None:
        """Remove a document: its municipality's editors, or an admin."""
        actor.require_writer()
        doc = await self._get(actor, document_id)
        if not actor.is_admin and doc.municipality_code != actor.municipality:
            raise Forbidden(f"The document belongs to municipality {doc.municipality_code}; ask its editors.")
        await self.session.delete(doc)
        await self.session.flush()
        mark_for_index(self.session, EntityKind.DOCUMENT, str(document_id))
