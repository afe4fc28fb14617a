"""Turning what a student hands in into submission text, or a clear refusal."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from beacon.errors import InvalidInput, NotFound
from beacon.offload import TooSlow, in_process, in_thread, preload
from beacon.text import unstorable

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ""}
preload("pypdf", __name__)  # PDF text is read in a child process: it starts with these loaded


def decode_work(raw: bytes, name: str, max_chars: int) -> str:
    """Text of a work: UTF-8 (BOM tolerated), not binary, not empty, not over the limit."""
    if len(raw) > max_chars * 4:  # UTF-8 is at most 4 bytes a character
        raise InvalidInput(f"{name} is too large: Beacon takes at most {max_chars:,} characters")
    if b"\x00" in raw[:8192]:
        raise InvalidInput(f"{name} looks like a binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name} is not UTF-8 text (binary, or another encoding)") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InvalidInput(f"{name} is empty: there is no work to read")
    if len(text) > max_chars:
        raise InvalidInput(f"{name} is too large: {len(text):,} characters, the limit is {max_chars:,}")
    return text


def read_work(source: str, max_chars: int) -> tuple[str, str]:
    """``source`` is a path or ``-`` for standard input. Returns (name, text)."""
    if source == "-":
        return "standard input", decode_work(sys.stdin.buffer.read(max_chars * 4 + 1), "standard input", max_chars)
    path = Path(source)
    if not path.exists():
        raise NotFound(f"{source}: no such file")
    if not path.is_file():
        raise InvalidInput(f"{source} is not a file")
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise InvalidInput(f"{source}: only plain text (.txt, .md) can be read here, not {path.suffix}")
    with path.open("rb") as handle:
        raw = handle.read(max_chars * 4 + 1)
    return path.name, decode_work(raw, path.name, max_chars)


# --- Uploads from the web: .txt, .md, .docx, .pdf ------------------------------------------------

UPLOAD_TYPES = {
    ".txt": {"text/plain", "application/octet-stream", ""},
    ".md": {"text/markdown", "text/plain", "text/x-markdown", "application/octet-stream", ""},
    ".docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/octet-stream", ""},
    ".pdf": {"application/pdf", "application/octet-stream", ""},
}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PDF_PAGES = 40
_DOCX_MAX_UNPACKED = 20 * 1024 * 1024
_DOCX_MAX_RATIO = 100  # a text document compresses well, but not a thousandfold


_DOCX_TOKENS = re.compile(r"<w:t(?:\s[^<>]{0,500})?>([^<]*)</w:t>|</w:p>")


class UnsupportedType(InvalidInput):
    """The file is not one Beacon reads (answered as 415)."""


def _docx_text(raw: bytes, name: str) -> str:
    import html
    import io
    import zipfile

    if not raw.startswith(b"PK"):
        raise InvalidInput(f"{name} is not a Word document (.docx)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        entries = archive.infolist()
        if len(entries) > 2000 or sum(e.file_size for e in entries) > _DOCX_MAX_UNPACKED or any(
            e.compress_size and e.file_size / e.compress_size > _DOCX_MAX_RATIO for e in entries
        ):
            raise InvalidInput(f"{name} unpacks to far more than a document should (refused as a zip bomb)")
        xml = archive.read("word/document.xml").decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError):
        raise InvalidInput(f"{name} is not a readable Word document (.docx)") from None
    # Text runs and paragraph ends only, in one linear pass (attributes bounded, text stops at
    # the next tag): no XML parser, so no entity or DTD tricks apply.
    paragraphs, runs = [], []
    for m in _DOCX_TOKENS.finditer(xml):
        if m.group(1) is None:  # </w:p>
            paragraphs.append("".join(runs))
            runs = []
        else:
            runs.append(m.group(1))
    if runs:
        paragraphs.append("".join(runs))
    return "\n".join(html.unescape(p) for p in paragraphs)


def _pdf_text(raw: bytes, name: str) -> str:
    import io

    if not raw.startswith(b"%PDF-"):
        raise InvalidInput(f"{name} is not a PDF")
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise InvalidInput(f"{name} is password-protected: save an unprotected copy")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise InvalidInput(f"{name} has {len(reader.pages)} pages; Beacon reads at most {MAX_PDF_PAGES}")
        return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
    except InvalidInput:
        raise
    except Exception:  # pypdf raises many kinds of errors on broken files
        raise InvalidInput(f"{name} is not a readable PDF") from None


MAX_FILENAME_CHARS = 255  # what file systems allow; the column holds 300


PDF_TIMEOUT_S = 10.0  # a real 40-page PDF reads in about a second


async def read_upload(name: str, content_type: str, raw: bytes, max_chars: int) -> str:
    """Text of an uploaded file, or a clear refusal; nothing is stored on refusal. Parsing runs
    off the event loop; a PDF in its own process, stopped at ``PDF_TIMEOUT_S``."""
    from pathlib import PurePath

    if len(name) > MAX_FILENAME_CHARS or unstorable(name):
        raise InvalidInput(f"a file name must be at most {MAX_FILENAME_CHARS} characters, without control characters")
    suffix = PurePath(name).suffix.lower()
    if suffix not in UPLOAD_TYPES:
        raise UnsupportedType(f"{name}: Beacon reads .txt, .md, .docx and .pdf files")
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in UPLOAD_TYPES[suffix]:
        raise UnsupportedType(f"{name} says it is {declared}, which does not match a {suffix} file")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"{name} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    if suffix in (".txt", ".md"):
        return await in_thread(decode_work, raw, name, max_chars)
    if suffix == ".docx":
        text = await in_thread(_docx_text, raw, name)
    else:
        try:
            text = await in_process(_pdf_text, raw, name, timeout_s=PDF_TIMEOUT_S)
        except TooSlow:
            raise InvalidInput(f"{name} takes too long to read: save it as .docx or .txt and hand it in again") from None
    return await in_thread(decode_work, text.encode("utf-8"), name, max_chars)


def upload_status(error: Exception) -> int:
    """The HTTP status for a refused hand-in."""
    if isinstance(error, UnsupportedType):
        return 415
    if "larger than" in str(error) or "too large" in str(error):
        return 413
    return 422
