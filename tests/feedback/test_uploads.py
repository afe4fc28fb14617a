"""Uploads a student hands in: what Beacon reads, and what it refuses (clearly, storing nothing)."""

from __future__ import annotations

import io
import zipfile

import pytest

from beacon.errors import InvalidInput
from beacon.feedback.intake import MAX_PDF_PAGES, UnsupportedType, read_upload

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def make_docx(paragraphs: list[str], *, extra: dict | None = None) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", f"<w:document><w:body>{body}</w:body></w:document>")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


def make_pdf(pages: list[str]) -> bytes:
    """A minimal, valid PDF with one line of Helvetica text per page."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        content_id = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
                       f"/Resources << /Font << /F1 {{font}} 0 R >> >> >>")
        kids.append(len(objects))
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    font = len(objects)
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for i, obj in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n{obj.replace('{font}', str(font))}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


async def test_reads_docx_and_pdf():
    assert await read_upload("essay.docx", DOCX, make_docx(["My claim &amp; reasons", "Second paragraph"]), 10_000) == \
        "My claim & reasons\nSecond paragraph"
    text = await read_upload("lab.pdf", "application/pdf", make_pdf(["Hypothesis: light matters", "Data table"]), 10_000)
    assert "Hypothesis: light matters" in text and "Data table" in text


async def test_refuses_a_docx_zip_bomb():
    bomb = make_docx(["tiny"], extra={"word/media/huge.bin": b"\0" * (30 * 1024 * 1024)})
    with pytest.raises(InvalidInput, match="zip bomb"):
        await read_upload("essay.docx", DOCX, bomb, 10_000)


@pytest.mark.parametrize(
    ("name", "content_type", "raw", "error", "message"),
    [
        ("essay.txt", "text/plain", b"\x89PNG\r\n\x1a\n\x00\x00binary", InvalidInput, "binary"),
        ("essay.docx", DOCX, b"%PDF-1.4 not a zip", InvalidInput, "not a Word document"),
        ("essay.pdf", "application/pdf", b"PK\x03\x04 not a pdf", InvalidInput, "not a PDF"),
        ("essay.pdf", "application/pdf", b"%PDF-1.4 garbage", InvalidInput, "not a readable PDF"),
        ("essay.exe", "application/octet-stream", b"MZ", UnsupportedType, "reads .txt, .md, .docx and .pdf"),
        ("essay.pdf", "image/png", b"%PDF-1.4", UnsupportedType, "does not match"),
        ("essay.txt", "text/plain", b"", InvalidInput, "empty"),
    ],
)
async def test_refusals_are_clear(name, content_type, raw, error, message):
    with pytest.raises(error, match=message):
        await read_upload(name, content_type, raw, 10_000)


async def test_page_limit():
    with pytest.raises(InvalidInput, match=f"at most {MAX_PDF_PAGES}"):
        await read_upload("long.pdf", "application/pdf", make_pdf(["page"] * (MAX_PDF_PAGES + 1)), 100_000)
